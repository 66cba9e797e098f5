// Package incluster runs the smoke checks from inside the cluster, as the
// lab proves its shadow from a helper pod: a Job runs the smoke client
// image (cmd/smoke, built and loaded beside the model's image) against the
// stack's outputs as a caller inside the cluster sees them
// (stacks.Outputs.InClusterView), and its report comes back through the
// Kubernetes API: the pod's log is the report, the container's exit code
// the verdict. The checks themselves are internal/smoke's, unchanged: this
// package only carries them there and back.
package incluster
