// Package tools tests the project's own tools as a user runs them: the
// Makefile, hack/ scripts and the commands they call.
//
// Without a build tag the tests are quick (the pins agree, `make help` tells
// the truth) and belong to the unit tier. With the slow tag they run the
// tools end to end: `make review` in a clone, `make render` into a file,
// `make stack` on a fresh checkout, the network pre-check offline, the
// diagnostics collector; several build the Pulumi program, so they take
// minutes (`make test-slow`).
package tools
