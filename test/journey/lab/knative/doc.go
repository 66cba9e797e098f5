// Package knative stands in for Knative Serving's controllers in the
// journey tier: what its revision, configuration, route and autoscaler
// reconcilers write, from the Configurations and Routes the program put in
// the API server.
//
// Knative Serving's own controller cannot run here: knative.dev/serving
// v0.51.0 needs knative.dev/networking, knative.dev/caching, knative.dev/pkg
// and knative.dev/hack at versions the Go module proxy refuses (403), so it
// cannot be built offline. This package does, for each Configuration
// generation, what Knative does: a Revision named CONFIG-0000N, a
// Deployment CONFIG-0000N-deployment running the template's container with
// PORT set to its container port (as Knative injects it), scaled by the
// revision's autoscaling annotations (min-scale, initial-scale) and by
// traffic (to zero after an idle time when scale to zero is on, back to
// one on a request, which Activate records as the activator would); the
// Configuration's latest created/ready revision and Ready condition; and
// the Route's status: its URL, every traffic entry resolved to a revision
// with its tag URL, Ready. The ingress stand-in routes by that status.
package knative
