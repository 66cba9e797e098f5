package components_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/modelrollouts/modelrollouts/components"
	"github.com/modelrollouts/modelrollouts/internal/mocks"
)

func TestIstioMeshInstallsBaseIstiodAndGatewayInOrder(t *testing.T) {
	rec := withProvider(t, func(ctx *pulumi.Context, k8s pulumi.ResourceOption) error {
		_, err := components.NewIstioMesh(ctx, "istio", &components.IstioMeshArgs{
			Version: "1.31.4", ChartRepo: "https://istio-release.storage.googleapis.com/charts",
			GatewayServiceType: "NodePort", GatewayNodePort: 31080,
		}, k8s)
		return err
	})
	assertChildrenOf(t, rec, "modelrollouts:index:IstioMesh")
	const release = "kubernetes:helm.sh/v3:Release"
	base := mustFind(t, rec, release, "istio-base")
	istiod := mustFind(t, rec, release, "istio-istiod")
	gateway := mustFind(t, rec, release, "istio-gateway")
	for chart, r := range map[string]struct{ name, release string }{
		"base": {"istio-base", "istio-base"}, "istiod": {"istio-istiod", "istiod"}, "gateway": {"istio-gateway", "istio-ingressgateway"},
	} {
		res := mustFind(t, rec, release, r.name)
		if got := str(t, res.Inputs, "chart"); got != chart {
			t.Errorf("%s chart %q, want %q", r.name, got, chart)
		}
		if got := str(t, res.Inputs, "version"); got != "1.31.4" {
			t.Errorf("%s version %q, want the pinned 1.31.4", r.name, got)
		}
		if got := str(t, res.Inputs, "repositoryOpts", "repo"); got != "https://istio-release.storage.googleapis.com/charts" {
			t.Errorf("%s repo %q", r.name, got)
		}
		if got := str(t, res.Inputs, "namespace"); got != "istio-system" {
			t.Errorf("%s namespace %q", r.name, got)
		}
		if got := str(t, res.Inputs, "name"); got != r.release {
			t.Errorf("%s release name %q, want %q", r.name, got, r.release)
		}
	}
	if !dependsOn(istiod, base) || !dependsOn(gateway, istiod) {
		t.Error("want base, then istiod, then the gateway")
	}
	if got := str(t, gateway.Inputs, "values", "service", "type"); got != "NodePort" {
		t.Errorf("gateway service type %q", got)
	}
	ports := get(t, gateway.Inputs, "values", "service", "ports").ArrayValue()
	found := false
	for _, p := range ports {
		o := p.ObjectValue()
		if o["name"].StringValue() == "http2" {
			found = true
			if o["nodePort"].NumberValue() != 31080 || o["port"].NumberValue() != 80 {
				t.Errorf("http2 port %v, want port 80 on NodePort 31080", o)
			}
		}
	}
	if !found {
		t.Error("the gateway has no http2 port")
	}
	if got := str(t, gateway.Inputs, "values", "labels", "istio"); got != "ingressgateway" {
		t.Errorf("gateway label istio=%q, want ingressgateway (Knative and our Gateways select it)", got)
	}
	// Every release waits for its workloads: a NodePort Service is ready
	// without a load balancer.
	for _, r := range []string{"istio-base", "istio-istiod", "istio-gateway"} {
		if v := get(t, mustFind(t, rec, release, r).Inputs, "skipAwait"); !v.IsBool() || v.BoolValue() {
			t.Errorf("%s skipAwait %v, want false", r, v)
		}
	}
}

func TestIstioMeshFromLocalChartsOmitsRepoAndVersion(t *testing.T) {
	rec := withProvider(t, func(ctx *pulumi.Context, k8s pulumi.ResourceOption) error {
		_, err := components.NewIstioMesh(ctx, "istio", &components.IstioMeshArgs{
			Version: "1.31.4", ChartRepo: "https://example.invalid", ChartsDir: "/src/istio/manifests/charts",
			GatewayServiceType: "LoadBalancer",
		}, k8s)
		return err
	})
	istiod := mustFind(t, rec, "kubernetes:helm.sh/v3:Release", "istio-istiod")
	if got := str(t, istiod.Inputs, "chart"); got != filepath.Join("/src/istio/manifests/charts", "istio-control/istio-discovery") {
		t.Errorf("istiod chart %q", got)
	}
	if v := get(t, istiod.Inputs, "version"); !v.IsNull() {
		t.Errorf("a local chart must not pin a version, got %v", v)
	}
	if v := get(t, istiod.Inputs, "repositoryOpts"); !v.IsNull() {
		t.Errorf("a local chart must not name a repository, got %v", v)
	}
	gateway := mustFind(t, rec, "kubernetes:helm.sh/v3:Release", "istio-gateway")
	for _, p := range get(t, gateway.Inputs, "values", "service", "ports").ArrayValue() {
		if _, ok := p.ObjectValue()["nodePort"]; ok {
			t.Errorf("a LoadBalancer gateway pins a NodePort: %v", p)
		}
	}
	// Helm would wait for the load balancer's address and fail the release
	// where none comes; the program waits for it itself, bounded.
	if v := get(t, gateway.Inputs, "skipAwait"); !v.IsBool() || !v.BoolValue() {
		t.Errorf("LoadBalancer gateway skipAwait %v, want true", v)
	}
	if v := get(t, istiod.Inputs, "skipAwait"); !v.IsBool() || v.BoolValue() {
		t.Errorf("istiod skipAwait %v, want false", v)
	}
}

func TestIstioMeshReportsItsGatewayService(t *testing.T) {
	var gatewayService string
	withProvider(t, func(ctx *pulumi.Context, k8s pulumi.ResourceOption) error {
		mesh, err := components.NewIstioMesh(ctx, "istio", &components.IstioMeshArgs{
			Version: "1.31.4", ChartRepo: "https://example.invalid", GatewayServiceType: "LoadBalancer",
		}, k8s)
		if err != nil {
			return err
		}
		mesh.GatewayService.ApplyT(func(s string) string { gatewayService = s; return s })
		return nil
	})
	// The mock release reports the name and namespace it was given.
	if gatewayService != "istio-system/istio-ingressgateway" {
		t.Errorf("gateway Service %q, want istio-system/istio-ingressgateway", gatewayService)
	}
}

func TestKnativeServingAppliesManifestsInOrderAndConfiguresTheLab(t *testing.T) {
	rec := withProvider(t, func(ctx *pulumi.Context, k8s pulumi.ResourceOption) error {
		_, err := components.NewKnativeServing(ctx, "knative", &components.KnativeServingArgs{
			CRDManifests:      []string{"crds.yaml"},
			CoreManifests:     []string{"core/*.yaml"},
			NetIstioManifests: []string{"net-istio.yaml"},
			Domain:            "example.com",
			ScaleToZero:       false,
			SkipTagResolution: []string{"kind.local", "dev.local"},
		}, k8s)
		return err
	})
	assertChildrenOf(t, rec, "modelrollouts:index:KnativeServing")
	const group = "kubernetes:yaml/v2:ConfigGroup"
	crds := mustFind(t, rec, group, "knative-crds")
	core := mustFind(t, rec, group, "knative-core")
	netIstio := mustFind(t, rec, group, "knative-net-istio")
	if got := get(t, core.Inputs, "files").ArrayValue()[0].StringValue(); got != "core/*.yaml" {
		t.Errorf("core files %q", got)
	}
	if !dependsOn(core, crds) || !dependsOn(netIstio, core) {
		t.Error("want CRDs, then core, then net-istio")
	}
	want := map[string]map[string]string{
		"config-domain":     {"example.com": ""},
		"config-autoscaler": {"enable-scale-to-zero": "false"},
		"config-deployment": {"registries-skipping-tag-resolving": "kind.local,dev.local"},
		"config-features":   {"tag-header-based-routing": "Disabled"},
	}
	for cm, data := range want {
		patch := mustFind(t, rec, "kubernetes:core/v1:ConfigMapPatch", "knative-"+cm)
		if ns := str(t, patch.Inputs, "metadata", "namespace"); ns != "knative-serving" {
			t.Errorf("%s in namespace %q", cm, ns)
		}
		for k, v := range data {
			if got := str(t, patch.Inputs, "data", k); got != v {
				t.Errorf("%s[%s] = %q, want %q", cm, k, got, v)
			}
		}
		if !dependsOn(patch, core) {
			t.Errorf("%s is patched before core creates it", cm)
		}
	}
	for _, g := range []string{"knative-crds", "knative-core", "knative-net-istio"} {
		if v := get(t, mustFind(t, rec, group, g).Inputs, "skipAwait"); !v.IsNull() {
			t.Errorf("%s skipAwait %v, want unset (the provider waits)", g, v)
		}
	}
}

func TestComponentsRefuseNilArgs(t *testing.T) {
	for name, build := range map[string]func(*pulumi.Context) error{
		"KindCluster":    func(ctx *pulumi.Context) error { _, err := components.NewKindCluster(ctx, "x", nil); return err },
		"IstioMesh":      func(ctx *pulumi.Context) error { _, err := components.NewIstioMesh(ctx, "x", nil); return err },
		"KnativeServing": func(ctx *pulumi.Context) error { _, err := components.NewKnativeServing(ctx, "x", nil); return err },
		"ModelImage":     func(ctx *pulumi.Context) error { _, err := components.NewModelImage(ctx, "x", nil); return err },
		"CanaryModel":    func(ctx *pulumi.Context) error { _, err := components.NewCanaryModel(ctx, "x", nil); return err },
		"ShadowModel":    func(ctx *pulumi.Context) error { _, err := components.NewShadowModel(ctx, "x", nil); return err },
	} {
		rec, err := mocks.Run(build, nil)
		if err == nil || !strings.Contains(err.Error(), "x: args are required") {
			t.Errorf("New%s with nil args: %v, want an error saying args are required", name, err)
		}
		if n := len(rec.Resources()); n != 0 {
			t.Errorf("New%s with nil args registered %d resources", name, n)
		}
	}
}

// TestDependingOnAPlatformComponentWaitsForEveryChild registers a
// dependent right after each constructor returns, the moment a plain
// DependsOn on a component can miss children still attaching, many times.
func TestDependingOnAPlatformComponentWaitsForEveryChild(t *testing.T) {
	for i := 0; i < 20; i++ {
		rec := withProvider(t, func(ctx *pulumi.Context, k8s pulumi.ResourceOption) error {
			mesh, err := components.NewIstioMesh(ctx, "istio", &components.IstioMeshArgs{
				Version: "1.31.4", ChartRepo: "https://example.invalid", GatewayServiceType: "NodePort",
			}, k8s)
			if err != nil {
				return err
			}
			serving, err := components.NewKnativeServing(ctx, "knative", &components.KnativeServingArgs{
				CRDManifests: []string{"crds.yaml"}, CoreManifests: []string{"core.yaml"}, NetIstioManifests: []string{"net-istio.yaml"},
				Domain: "example.com", SkipTagResolution: []string{"kind.local"},
			}, k8s, components.DependsOn(mesh))
			if err != nil {
				return err
			}
			_, err = corev1.NewNamespace(ctx, "models", &corev1.NamespaceArgs{}, k8s, components.DependsOn(mesh, serving))
			return err
		})
		istio := []string{"istio-base", "istio-istiod", "istio-gateway"}
		knative := []string{"knative-crds", "knative-core", "knative-net-istio",
			"knative-config-domain", "knative-config-autoscaler", "knative-config-deployment", "knative-config-features"}
		assertDependsOnExactly(t, rec, mustFind(t, rec, "modelrollouts:index:KnativeServing", "knative"), istio)
		assertDependsOnExactly(t, rec, mustFind(t, rec, "kubernetes:core/v1:Namespace", "models"), append(istio, knative...))
		if t.Failed() {
			t.Fatalf("run %d", i)
		}
	}
}

func assertDependsOnExactly(t *testing.T, rec *mocks.Recorder, res mocks.Resource, names []string) {
	t.Helper()
	var got []string
	for _, urn := range res.DependsOn {
		for _, r := range rec.Resources() {
			if r.URN == urn {
				got = append(got, r.Name)
			}
		}
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(names))
	if !slices.Equal(got, want) {
		t.Errorf("%s depends on %v, want exactly %v", res.Name, got, want)
	}
}

func TestKnativeTagHeaderRoutingTurnsOnTheFeatureFlag(t *testing.T) {
	rec := withProvider(t, func(ctx *pulumi.Context, k8s pulumi.ResourceOption) error {
		_, err := components.NewKnativeServing(ctx, "knative", &components.KnativeServingArgs{
			CRDManifests: []string{"crds.yaml"}, CoreManifests: []string{"core.yaml"}, NetIstioManifests: []string{"net-istio.yaml"},
			Domain: "example.com", TagHeaderRouting: true,
		}, k8s)
		return err
	})
	patch := mustFind(t, rec, "kubernetes:core/v1:ConfigMapPatch", "knative-config-features")
	if got := str(t, patch.Inputs, "data", "tag-header-based-routing"); got != "Enabled" {
		t.Errorf("tag-header-based-routing = %q, want Enabled (Knative's spelling)", got)
	}
}
