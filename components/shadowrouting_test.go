package components_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/modelrollouts/modelrollouts/components"
	"github.com/modelrollouts/modelrollouts/internal/mocks"
)

func routingFor(viaGateway, inMesh, headers bool) components.Routing {
	args := shadowArgs(50)
	args.ViaGateway, args.InMesh, args.HeaderRouting = viaGateway, inMesh, headers
	return components.ShadowRouting(args)
}

func TestShadowRoutingBindsToTheGatewayAndTheMeshByHost(t *testing.T) {
	for _, tc := range []struct {
		name            string
		viaGateway      bool
		inMesh          bool
		wantGateways    []string
		wantHosts       []string
		wantGatewayHost []string
	}{
		{"both", true, true, []string{"model-gateway", "mesh"},
			[]string{"model.example.com", "v1.model.example.com", "v2.model.example.com", "model"},
			[]string{"model.example.com", "v1.model.example.com", "v2.model.example.com"}},
		{"gateway", true, false, []string{"model-gateway"},
			[]string{"model.example.com", "v1.model.example.com", "v2.model.example.com"},
			[]string{"model.example.com", "v1.model.example.com", "v2.model.example.com"}},
		// Sidecars reach the Service by its own name; the version hosts
		// still pick a version by Host header.
		{"mesh", false, true, []string{"mesh"},
			[]string{"model", "v1.model.example.com", "v2.model.example.com"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := routingFor(tc.viaGateway, tc.inMesh, false)
			if !reflect.DeepEqual(r.VirtualService.Gateways, tc.wantGateways) {
				t.Errorf("gateways %v, want %v", r.VirtualService.Gateways, tc.wantGateways)
			}
			if !reflect.DeepEqual(r.VirtualService.Hosts, tc.wantHosts) {
				t.Errorf("hosts %v, want %v", r.VirtualService.Hosts, tc.wantHosts)
			}
			if tc.wantGatewayHost == nil {
				if r.Gateway != nil {
					t.Errorf("a mesh-only stack has a Gateway %v", r.Gateway)
				}
				return
			}
			if got := r.Gateway.Servers[0].Hosts; !reflect.DeepEqual(got, tc.wantGatewayHost) {
				t.Errorf("gateway hosts %v, want %v", got, tc.wantGatewayHost)
			}
		})
	}
}

func TestShadowModelBoundToTheMeshOnlyRegistersNoGateway(t *testing.T) {
	args := shadowArgs(50)
	args.ViaGateway = false
	rec, _ := runShadow(t, args)
	if _, ok := rec.Find(istioGateway, "model-gateway"); ok {
		t.Error("a Gateway is registered for a mesh-only shadow")
	}
	mustFind(t, rec, virtualService, "model")
}

func TestShadowModelBoundToNothingIsAnError(t *testing.T) {
	args := shadowArgs(50)
	args.ViaGateway, args.InMesh = false, false
	_, err := mocks.Run(func(ctx *pulumi.Context) error {
		_, err := components.NewShadowModel(ctx, "model", args)
		return err
	}, nil)
	if err == nil || !strings.Contains(err.Error(), "neither") {
		t.Errorf("want an error naming the missing binding, got %v", err)
	}
}

func TestShadowVersionRoutesMatchTheirHostWithOrWithoutAPort(t *testing.T) {
	r := routingFor(true, true, false)
	for _, route := range r.VirtualService.Http[:2] {
		version := strings.TrimPrefix(route.Name, "direct-")
		host := version + ".model.example.com"
		if len(route.Match) != 2 {
			t.Fatalf("%s: %d matches, want the host and the host with a port", route.Name, len(route.Match))
		}
		if got := route.Match[0].Authority.GetExact(); got != host {
			t.Errorf("%s: exact authority %q, want %q", route.Name, got, host)
		}
		if got := route.Match[1].Authority.GetPrefix(); got != host+":" {
			t.Errorf("%s: authority prefix %q, want %q", route.Name, got, host+":")
		}
		if d := route.Route[0].Destination; d.Subset != version || route.Mirror != nil {
			t.Errorf("%s: goes to %q (mirror %v), want %q unmirrored", route.Name, d.Subset, route.Mirror, version)
		}
	}
}

func TestShadowHeaderRoutingPicksAVersionBeforeTheMirroredUsersRoute(t *testing.T) {
	if got := len(routingFor(true, true, false).VirtualService.Http); got != 3 {
		t.Fatalf("without header routing: %d routes, want direct-v1, direct-v2, users", got)
	}
	routes := routingFor(true, true, true).VirtualService.Http
	var names []string
	for _, r := range routes {
		names = append(names, r.Name)
	}
	if want := []string{"direct-v1", "direct-v2", "header-v1", "header-v2", "users"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("routes %v, want %v (first match wins)", names, want)
	}
	for _, r := range routes[2:4] {
		version := strings.TrimPrefix(r.Name, "header-")
		m := r.Match[0].Headers["x-model-version"]
		if m.GetExact() != version {
			t.Errorf("%s matches x-model-version %v, want exactly %q", r.Name, m, version)
		}
		if r.Route[0].Destination.Subset != version || r.Mirror != nil || r.MirrorPercentage != nil {
			t.Errorf("%s: to %q, mirror %v, want %q unmirrored", r.Name, r.Route[0].Destination.Subset, r.Mirror, version)
		}
	}
	if users := routes[4]; users.Mirror.GetSubset() != "v2" || users.MirrorPercentage.GetValue() != 50 {
		t.Errorf("users route mirror %v at %v, want v2 at 50", users.Mirror, users.MirrorPercentage)
	}
}
