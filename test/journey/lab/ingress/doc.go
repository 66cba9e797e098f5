// Package ingress is the journey tier's ingress gateway stand-in: an HTTP
// proxy on 127.0.0.1 that routes by the objects in the API server, as the
// lab's Istio ingress gateway (Envoy, configured by istiod and, for
// Knative, by net-istio) would.
//
// Knative: a Route's status (written by the knative stand-in) gives its
// host, each tag's host and every entry's revision and percent; the
// request's Host (port ignored, as the gateway's virtual hosts match any
// port) picks the Route or the tag, the split is drawn by percent from a
// seeded source, and with tag-header-based-routing enabled in
// config-features a Knative-Serving-Tag header naming a tag reaches it. A
// revision with no ready pod is activated (scaled from zero) and the
// request waits for it, as Knative's activator holds it.
//
// Istio: a VirtualService bound to a Gateway that selects the ingress
// gateway (istio=ingressgateway), for a host the Gateway serves; its http
// routes are tried in order (header and uri matches), a route's weighted
// destinations are resolved to the Service's ready pods restricted by the
// DestinationRule subset's labels, and a mirror gets a copy of
// mirrorPercentage of the requests with "-shadow" appended to the Host
// (before any port), fire and forget, as Envoy does. Every request gets an
// x-request-id when it has none, as Envoy's gateway does.
//
// Everything is read from the API server every 250 ms (as istiod pushes
// config); nothing is configured by the tests.
package ingress
