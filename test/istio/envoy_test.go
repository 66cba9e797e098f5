package istio_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcher "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	xdstype "github.com/envoyproxy/go-control-plane/envoy/type/v3"
)

// Istio's simulation package picks the first route of a virtual host whose
// path matches and ignores every header matcher ("TODO this only handles
// path"), :authority included. Our routes differ only by :authority and
// x-model-version, so the route a request takes is picked here, by
// Envoy's rules: routes in order, the first whose path AND every header
// matcher match wins; a header matcher on :authority reads the Host
// header as sent, port included. A matcher we do not implement fails the
// test rather than being skipped.

// request is what Envoy routes on.
type request struct {
	path   string
	header http.Header // Host is the :authority
}

// pickRoute returns the route Envoy takes in vh, or nil.
func pickRoute(t *testing.T, vh *route.VirtualHost, req request) *route.Route {
	t.Helper()
	for _, r := range vh.GetRoutes() {
		if routeMatches(t, r.GetMatch(), req) {
			return r
		}
	}
	return nil
}

func routeMatches(t *testing.T, m *route.RouteMatch, req request) bool {
	t.Helper()
	if len(m.GetQueryParameters()) > 0 || m.GetRuntimeFraction() != nil || m.GetGrpc() != nil || m.GetDynamicMetadata() != nil {
		t.Fatalf("route match %v uses a matcher this test does not implement", m)
	}
	switch p := m.GetPathSpecifier().(type) {
	case *route.RouteMatch_Prefix:
		if !strings.HasPrefix(req.path, p.Prefix) {
			return false
		}
	case *route.RouteMatch_Path:
		if req.path != p.Path {
			return false
		}
	case *route.RouteMatch_PathSeparatedPrefix:
		if req.path != p.PathSeparatedPrefix && !strings.HasPrefix(req.path, p.PathSeparatedPrefix+"/") {
			return false
		}
	case *route.RouteMatch_SafeRegex:
		if !regexp.MustCompile("^(?:" + p.SafeRegex.GetRegex() + ")$").MatchString(req.path) {
			return false
		}
	default:
		t.Fatalf("path matcher %T not implemented", p)
	}
	for _, h := range m.GetHeaders() {
		if !headerMatches(t, h, req.header) {
			return false
		}
	}
	return true
}

func headerMatches(t *testing.T, h *route.HeaderMatcher, header http.Header) bool {
	t.Helper()
	var value string
	var present bool
	if name := strings.ToLower(h.GetName()); name == ":authority" || name == "host" {
		value, present = header.Get("Host"), header.Get("Host") != ""
	} else {
		values := header.Values(h.GetName())
		present = len(values) > 0
		value = strings.Join(values, ",") // Envoy joins repeated headers
	}
	if !present && h.GetTreatMissingHeaderAsEmpty() {
		present = true
	}
	var ok bool
	switch s := h.GetHeaderMatchSpecifier().(type) {
	case *route.HeaderMatcher_PresentMatch:
		ok = present == s.PresentMatch
	case *route.HeaderMatcher_StringMatch:
		ok = present && stringMatches(t, s.StringMatch, value)
	case *route.HeaderMatcher_ExactMatch:
		ok = present && value == s.ExactMatch
	case *route.HeaderMatcher_PrefixMatch:
		ok = present && strings.HasPrefix(value, s.PrefixMatch)
	case *route.HeaderMatcher_SuffixMatch:
		ok = present && strings.HasSuffix(value, s.SuffixMatch)
	case *route.HeaderMatcher_SafeRegexMatch:
		ok = present && regexp.MustCompile("^(?:"+s.SafeRegexMatch.GetRegex()+")$").MatchString(value)
	default:
		t.Fatalf("header matcher %T on %s not implemented", s, h.GetName())
	}
	// Envoy inverts the whole result, presence included.
	return ok != h.GetInvertMatch()
}

func stringMatches(t *testing.T, m *matcher.StringMatcher, value string) bool {
	t.Helper()
	if m.GetIgnoreCase() {
		value = strings.ToLower(value)
	}
	lower := func(s string) string {
		if m.GetIgnoreCase() {
			return strings.ToLower(s)
		}
		return s
	}
	switch p := m.GetMatchPattern().(type) {
	case *matcher.StringMatcher_Exact:
		return value == lower(p.Exact)
	case *matcher.StringMatcher_Prefix:
		return strings.HasPrefix(value, lower(p.Prefix))
	case *matcher.StringMatcher_Suffix:
		return strings.HasSuffix(value, lower(p.Suffix))
	case *matcher.StringMatcher_Contains:
		return strings.Contains(value, lower(p.Contains))
	case *matcher.StringMatcher_SafeRegex:
		return regexp.MustCompile("^(?:" + p.SafeRegex.GetRegex() + ")$").MatchString(value)
	}
	t.Fatalf("string matcher %T not implemented", m.GetMatchPattern())
	return false
}

// destination is where a route sends a request and what it mirrors.
type destination struct {
	route    string
	cluster  string
	mirror   string
	fraction float64 // of requests mirrored, 0 to 1
}

func destinationOf(t *testing.T, r *route.Route) destination {
	t.Helper()
	a := r.GetRoute()
	if a == nil {
		return destination{route: r.GetName()}
	}
	d := destination{route: r.GetName(), cluster: a.GetCluster()}
	if wc := a.GetWeightedClusters(); wc != nil {
		if len(wc.GetClusters()) != 1 {
			t.Fatalf("route %s splits across %d clusters; want one destination", r.GetName(), len(wc.GetClusters()))
		}
		d.cluster = wc.GetClusters()[0].GetName()
	}
	mirrors := a.GetRequestMirrorPolicies()
	if len(mirrors) > 1 {
		t.Fatalf("route %s mirrors to %d clusters", r.GetName(), len(mirrors))
	}
	if len(mirrors) == 1 {
		d.mirror = mirrors[0].GetCluster()
		d.fraction = fraction(mirrors[0].GetRuntimeFraction())
	}
	return d
}

// fraction is the share of requests a runtime fraction lets through; a
// policy without one mirrors everything.
func fraction(f *core.RuntimeFractionalPercent) float64 {
	if f == nil || f.GetDefaultValue() == nil {
		return 1
	}
	v := f.GetDefaultValue()
	denominator := map[xdstype.FractionalPercent_DenominatorType]float64{
		xdstype.FractionalPercent_HUNDRED:      100,
		xdstype.FractionalPercent_TEN_THOUSAND: 10_000,
		xdstype.FractionalPercent_MILLION:      1_000_000,
	}[v.GetDenominator()]
	return float64(v.GetNumerator()) / denominator
}

func TestOurEnvoyRouteRulesFollowEnvoy(t *testing.T) {
	exact := func(name, v string) *route.HeaderMatcher {
		return &route.HeaderMatcher{Name: name, HeaderMatchSpecifier: &route.HeaderMatcher_StringMatch{
			StringMatch: &matcher.StringMatcher{MatchPattern: &matcher.StringMatcher_Exact{Exact: v}}}}
	}
	prefix := func(name, v string) *route.HeaderMatcher {
		return &route.HeaderMatcher{Name: name, HeaderMatchSpecifier: &route.HeaderMatcher_StringMatch{
			StringMatch: &matcher.StringMatcher{MatchPattern: &matcher.StringMatcher_Prefix{Prefix: v}}}}
	}
	root := &route.RouteMatch{PathSpecifier: &route.RouteMatch_Prefix{Prefix: "/"}}
	with := func(hs ...*route.HeaderMatcher) *route.RouteMatch {
		return &route.RouteMatch{PathSpecifier: root.PathSpecifier, Headers: hs}
	}
	vh := &route.VirtualHost{Routes: []*route.Route{
		{Name: "a-exact", Match: with(exact(":authority", "a.test"))},
		{Name: "a-port", Match: with(prefix(":authority", "a.test:"))},
		{Name: "v2", Match: with(exact("x-model-version", "v2"))},
		{Name: "not-v3", Match: with(&route.HeaderMatcher{Name: "x-model-version", InvertMatch: true,
			HeaderMatchSpecifier: &route.HeaderMatcher_PresentMatch{PresentMatch: true}})},
		{Name: "rest", Match: root},
	}}
	for _, tc := range []struct {
		host, version, want string
	}{
		{"a.test", "", "a-exact"},
		{"a.test:8081", "", "a-port"},
		{"a.testing", "", "not-v3"}, // the prefix needs the colon
		{"b.test", "v2", "v2"},
		{"b.test", "V2", "rest"}, // exact is case-sensitive
		{"a.test", "v2", "a-exact"},
		{"b.test", "", "not-v3"},
	} {
		h := http.Header{"Host": {tc.host}}
		if tc.version != "" {
			h.Set("x-model-version", tc.version)
		}
		if got := pickRoute(t, vh, request{path: "/", header: h}); got.GetName() != tc.want {
			t.Errorf("Host %s, x-model-version %q: route %q, want %q", tc.host, tc.version, got.GetName(), tc.want)
		}
	}
}
