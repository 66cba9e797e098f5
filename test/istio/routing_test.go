// Package istio_test proves the shadow's routing with Istio's own code:
// every shadow stack file, and variants of it, is rendered exactly as
// `pulumi up` would register it (internal/render), and the Service,
// Deployments, DestinationRule, Gateway and VirtualService are fed to
// istiod's translation (pilot/test/xds.FakeDiscoveryServer, with fake Pods
// and EndpointSlices so every subset has endpoints). pilot/pkg/simulation
// then plays requests against the listeners and routes istiod would send
// to the ingress gateway and to sidecars in two namespaces, and the tests
// assert the route, the cluster, the mirror cluster and its fraction.
//
// Istio version: istio.io/istio v0.0.0-20260827124520-eed52ebb66ad, a
// commit of the release-1.31 branch (VERSION 1.31, istio.io/api
// 1.31.0-rc). The charts deploy 1.31.4; the Go module proxy serves
// istio.io/istio only as pseudo-versions and not that tag's commit, so
// this is the newest 1.31 commit it serves.
package istio_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"

	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/pkg/simulation"
	"istio.io/istio/pilot/test/xdstest"

	"github.com/modelrollouts/modelrollouts/stacks"
)

const repoRoot = "../.."

// variant edits a stack file's shadow block.
type variant struct {
	name string
	set  map[string]any
}

var variants = []variant{
	{"as committed", nil},
	{"mirror 0", map[string]any{"mirrorPercent": 0}},
	{"mirror 0.5", map[string]any{"mirrorPercent": 0.5}},
	{"mirror 100", map[string]any{"mirrorPercent": 100}},
	{"header routing", map[string]any{"headerRouting": true}},
	{"gateway only", map[string]any{"bindTo": stacks.BindGateway}},
	{"mesh only with header routing", map[string]any{"bindTo": stacks.BindMesh, "headerRouting": true, "mirrorPercent": 25}},
}

// shadowStackFiles are the committed stack files of the shadow strategy.
func shadowStackFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "Pulumi.*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		if filepath.Base(f) == "Pulumi.yaml" {
			continue
		}
		cfg, err := stacks.LoadFile(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if cfg.Strategy == stacks.StrategyShadow {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		t.Fatal("no shadow stack file: nothing to prove")
	}
	return out
}

// writeVariant writes a copy of a stack file with the variant's shadow
// keys set, typed as `pulumi config set --path` stores them.
func writeVariant(t *testing.T, file string, v variant) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	shadow := doc["config"].(map[string]any)[stacks.Namespace+":shadow"].(map[string]any)
	for k, val := range v.set {
		shadow[k] = val
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), filepath.Base(file))
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestShadowRoutingAsIstioTranslatesIt(t *testing.T) {
	for _, file := range shadowStackFiles(t) {
		for _, v := range variants {
			t.Run(filepath.Base(file)+"/"+v.name, func(t *testing.T) {
				variantFile := writeVariant(t, file, v)
				cfg, err := stacks.LoadFile(variantFile)
				if err != nil {
					t.Fatal(err)
				}
				lab := newMeshLab(t, variantFile, cfg)
				for _, p := range lab.proxies {
					t.Run(p.name, func(t *testing.T) {
						sim := simulation.NewSimulation(t, lab.server, lab.server.SetupProxy(p.proxy))
						for _, c := range expectedCalls(cfg, p) {
							t.Run(c.name, func(t *testing.T) {
								got, why := lab.route(t, sim, p, c)
								assertDestination(t, c, got, why)
								if p.gateway {
									lab.assertStandInRoutesAsIstio(t, c, got)
								}
							})
						}
					})
				}
				lab.assertSubsetEndpoints(t)
			})
		}
	}
}

// call is one request and where it must go; want nil means it must not
// reach the model at all.
type call struct {
	name    string
	host    string
	version string // x-model-version, if sent
	want    *destination
}

// expectedCalls is the routing table docs/routing.md promises, for one caller.
func expectedCalls(cfg *stacks.Config, p meshProxy) []call {
	sh := cfg.Shadow
	ns := cfg.Namespace
	fqdn := fmt.Sprintf("%s.%s.svc.cluster.local", sh.Service, ns)
	subset := func(v string) string { return fmt.Sprintf("outbound|80|%s|%s", v, fqdn) }
	var primary, shadow string
	var names []string
	for _, v := range sh.Versions {
		names = append(names, v.Name)
		if v.Role == stacks.RolePrimary {
			primary = v.Name
		} else {
			shadow = v.Name
		}
	}
	users := &destination{route: "users", cluster: subset(primary)}
	if *sh.MirrorPercent > 0 {
		users.mirror, users.fraction = subset(shadow), *sh.MirrorPercent/100
	}
	direct := func(v string) *destination { return &destination{route: "direct-" + v, cluster: subset(v)} }
	byHeader := func(v string) *destination { return &destination{route: "header-" + v, cluster: subset(v)} }

	routed := (p.gateway && sh.ViaGateway()) || (!p.gateway && sh.InMesh())
	// notRouted is where a request goes that this VirtualService does not
	// route: the gateway has no route for it (Envoy answers 404); a sidecar
	// passes an unknown host through to the address dialled (Istio's
	// default outboundTrafficPolicy ALLOW_ANY), not to a model subset.
	var notRouted *destination
	if !p.gateway {
		notRouted = &destination{route: "allow_any", cluster: "PassthroughCluster"}
	}
	var userHosts []string
	switch {
	case p.gateway:
		// kind maps host port 8080 or 8081 to the gateway; curl keeps it.
		userHosts = []string{sh.Host, sh.Host + ":8081", sh.Host + ":80"}
	case p.namespace == ns:
		userHosts = []string{fqdn, fqdn + ":80", sh.Service + "." + ns, sh.Service + "." + ns + ":80", sh.Service, sh.Service + ":80"}
	default:
		// The short name is another namespace's Service there.
		userHosts = []string{fqdn, fqdn + ":80", sh.Service + "." + ns, sh.Service + "." + ns + ":80"}
	}
	// userRoute is where a request on a user host goes when no version
	// host or header route takes it.
	userRoute := users
	if !routed {
		userRoute = nil
		if !p.gateway {
			// A VirtualService bound only to the gateway does not reach
			// sidecars: they balance over every pod, unmirrored.
			userRoute = &destination{route: "default", cluster: fmt.Sprintf("outbound|80||%s", fqdn)}
		}
	}
	var calls []call
	for _, h := range userHosts {
		calls = append(calls, call{name: "users at " + h, host: h, want: userRoute})
	}
	for _, v := range names {
		host := v + "." + sh.Host
		for _, h := range []string{host, host + ":8081"} {
			want := notRouted
			if routed {
				want = direct(v)
			}
			calls = append(calls, call{name: "own host " + h, host: h, want: want})
		}
	}
	for _, v := range names {
		want := userRoute // without header routing the header is ignored
		if routed && sh.HeaderRouting {
			want = byHeader(v)
		}
		calls = append(calls, call{name: "x-model-version " + v, host: userHosts[0], version: v, want: want})
	}
	calls = append(calls, call{name: "x-model-version unknown", host: userHosts[0], version: "nope", want: userRoute})
	if routed {
		// The own host is matched first: it wins over the header.
		calls = append(calls, call{name: "own host beats the header", host: names[0] + "." + sh.Host, version: names[1], want: direct(names[0])})
	}
	if !p.gateway && p.namespace != ns {
		// Istio gives a Service's short name only to callers in its own
		// namespace (DNS would not resolve it elsewhere either).
		calls = append(calls, call{name: "short name from another namespace", host: sh.Service, want: notRouted})
	}
	calls = append(calls, call{name: "unknown host", host: "unknown.example.org", want: notRouted})
	return calls
}

func assertDestination(t *testing.T, c call, got *destination, why string) {
	t.Helper()
	switch {
	case c.want == nil && got == nil:
		return
	case c.want == nil:
		t.Errorf("Host %s, x-model-version %q: %+v, want no route", c.host, c.version, *got)
	case got == nil:
		t.Errorf("Host %s, x-model-version %q: no route (%s), want %+v", c.host, c.version, why, *c.want)
	case c.want.route == "default":
		// Istio names a Service's default route after its host.
		if got.cluster != c.want.cluster || got.mirror != "" {
			t.Errorf("Host %s, x-model-version %q: %+v, want the Service's default route to %s, unmirrored", c.host, c.version, *got, c.want.cluster)
		}
	case *got != *c.want:
		t.Errorf("Host %s, x-model-version %q:\n got %+v\nwant %+v", c.host, c.version, *got, *c.want)
	}
}

// route plays one request: Istio's simulation finds the listener, route
// configuration and virtual host; pickRoute then picks the route by
// Envoy's rules, headers included.
func (l *meshLab) route(t *testing.T, sim *simulation.Simulation, p meshProxy, c call) (*destination, string) {
	t.Helper()
	header := http.Header{}
	if c.version != "" {
		header.Set("x-model-version", c.version)
	}
	in := simulation.Call{Port: 80, Protocol: simulation.HTTP, HostHeader: c.host, Headers: header, CallMode: simulation.CallModeGateway}
	if !p.gateway {
		in.CallMode, in.Address = simulation.CallModeOutbound, l.serviceIP
	}
	res := sim.Run(in)
	if res.Error != nil {
		return nil, res.Error.Error()
	}
	rc := xdstest.ExtractRouteConfigurations(sim.Routes)[res.RouteConfigMatched]
	i := slices.IndexFunc(rc.GetVirtualHosts(), func(vh *routeVirtualHost) bool { return vh.GetName() == res.VirtualHostMatched })
	if i < 0 {
		t.Fatalf("virtual host %q not in route configuration %q", res.VirtualHostMatched, res.RouteConfigMatched)
	}
	in = in.FillDefaults()
	r := pickRoute(t, rc.GetVirtualHosts()[i], request{path: in.Path, header: in.Headers})
	if r == nil {
		return nil, "no route of virtual host " + res.VirtualHostMatched + " matches"
	}
	d := destinationOf(t, r)
	return &d, ""
}

// meshProxy is one Envoy whose configuration is asked for.
type meshProxy struct {
	name      string
	gateway   bool
	namespace string
	proxy     *model.Proxy
}
