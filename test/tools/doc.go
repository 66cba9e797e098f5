// Package tools tests the project's own tools as a user runs them: the
// Makefile, hack/ scripts and the commands they call.
//
// Without a build tag the tests are quick (pins agree, `make help` tells
// the truth, the network pre-check's message, the diagnostics collector)
// and belong to the unit tier. With the slow tag they run the tools end to
// end: `make review` in a clone, `make render` into a file, `make stack`;
// each builds the Pulumi program, so they take minutes (`make test-slow`).
package tools
