package modelapi

import (
	"net/http"
	"net/url"
	"strings"
)

// routeLabels matches a path to the pattern of Routes it belongs to; it
// serves nothing.
var routeLabels = func() *http.ServeMux {
	mux := http.NewServeMux()
	for _, p := range Routes {
		mux.Handle(p, http.NotFoundHandler())
	}
	return mux
}()

// RouteLabel is the route label of a request for path: the pattern of
// Routes it matches (without the trailing {$}), or RouteUnmatched. Servers
// label their metrics and debug records with it, never with the raw path
// (a label per path would be unbounded), and clients use it to find the
// series their own requests were counted in.
func RouteLabel(path string) string {
	if path == "/" {
		return RouteRoot
	}
	r := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: path}}
	_, pattern := routeLabels.Handler(r)
	if pattern == "" {
		return RouteUnmatched
	}
	return strings.TrimSuffix(pattern, "{$}")
}

// IsInfraRoute reports the routes that are counted but kept out of the
// /debug/requests ring: probes, metrics and the ring itself. A client that
// sends such a request cannot find it in the records.
func IsInfraRoute(label string) bool {
	switch label {
	case PathLive, PathReady, PathMetrics, PathDebugRequests,
		"/v2/models/{name}/ready", "/v2/models/{name}/versions/{version}/ready":
		return true
	}
	return false
}
