// Package journey is the journey tier (`make test-journeys`): the commands
// the README tells a user to run after `make up`, run as typed against
// stacks the real Pulumi engine deployed on a real kube-apiserver (kwok),
// with the data plane stood in by lab/node, lab/knative and lab/ingress.
// docs/journeys.md says what is real, what is stood in and why.
//
// The journeys themselves carry the `journey` build tag; this file and
// readme.go (the README's tagged command blocks) build everywhere, so the
// unit tier checks that every block the journeys run is in the README.
package journey
