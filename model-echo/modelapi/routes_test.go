package modelapi_test

import (
	"testing"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

func TestRouteLabelNamesThePatternNeverThePath(t *testing.T) {
	for path, want := range map[string]string{
		"/":                                 modelapi.RouteRoot,
		"/v2":                               modelapi.PathServerMetadata,
		"/v2/health/ready":                  modelapi.PathReady,
		"/v2/models/iris/infer":             modelapi.RouteInfer,
		"/v2/models/iris/versions/3/infer":  modelapi.RouteVersionInfer,
		"/v2/models/iris/ready":             "/v2/models/{name}/ready",
		"/healthz":                          modelapi.RouteUnmatched,
		"/v2/models/iris/infer/extra":       modelapi.RouteUnmatched,
		"/predict?model=iris":               modelapi.RouteUnmatched,
		modelapi.PathMetrics:                modelapi.PathMetrics,
		modelapi.PathDebugRequests + "/x/y": modelapi.RouteUnmatched,
	} {
		if got := modelapi.RouteLabel(path); got != want {
			t.Errorf("RouteLabel(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestInfraRoutesAreTheProbesMetricsAndRing(t *testing.T) {
	infra := map[string]bool{}
	for _, p := range modelapi.Routes {
		l := modelapi.RouteLabel(trimPattern(p))
		if modelapi.IsInfraRoute(l) {
			infra[l] = true
		}
	}
	for _, want := range []string{modelapi.PathLive, modelapi.PathReady, modelapi.PathMetrics, modelapi.PathDebugRequests} {
		if !infra[want] {
			t.Errorf("%s is not an infra route", want)
		}
	}
	for _, l := range []string{modelapi.RouteInfer, modelapi.RouteVersionInfer, modelapi.RouteRoot, modelapi.PathServerMetadata, modelapi.RouteUnmatched} {
		if modelapi.IsInfraRoute(l) {
			t.Errorf("%s is an infra route: requests to it would leave no debug record", l)
		}
	}
}

// trimPattern turns a route pattern into a path it matches.
func trimPattern(p string) string {
	r := []rune{}
	skip := false
	for _, c := range p {
		switch {
		case c == '{':
			skip = true
			r = append(r, 'x')
		case c == '}':
			skip = false
		case !skip:
			r = append(r, c)
		}
	}
	if s := string(r); s != "/x" {
		return s
	}
	return "/"
}
