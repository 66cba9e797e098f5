package infra_test

import (
	"sort"
	"strings"
	"testing"

	"github.com/modelrollouts/modelrollouts/internal/mocks"
)

// dependencies names a resource's explicit dependencies "type name",
// sorted.
func dependencies(t *testing.T, rec *mocks.Recorder, typ, name string) []string {
	t.Helper()
	res, ok := rec.Find(typ, name)
	if !ok {
		t.Fatalf("no %s %s", typ, name)
	}
	byURN := map[string]mocks.Resource{}
	for _, r := range rec.Resources() {
		byURN[r.URN] = r
	}
	var out []string
	for _, urn := range res.DependsOn {
		d, ok := byURN[urn]
		if !ok {
			t.Fatalf("%s %s depends on %s, which was not registered", typ, name, urn)
		}
		out = append(out, d.Type+" "+d.Name)
	}
	sort.Strings(out)
	return out
}

func assertDependencies(t *testing.T, rec *mocks.Recorder, typ, name string, want []string) {
	t.Helper()
	want = append([]string(nil), want...)
	sort.Strings(want)
	if got := dependencies(t, rec, typ, name); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s %s depends on\n  %s\nwant\n  %s", typ, name, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// Depending on a component waits for each of its resources.
var (
	istioResources = []string{
		"kubernetes:helm.sh/v3:Release istio-base",
		"kubernetes:helm.sh/v3:Release istio-istiod",
		"kubernetes:helm.sh/v3:Release istio-gateway",
	}
	knativeResources = []string{
		"kubernetes:yaml/v2:ConfigGroup knative-crds",
		"kubernetes:yaml/v2:ConfigGroup knative-core",
		"kubernetes:yaml/v2:ConfigGroup knative-net-istio",
		"kubernetes:core/v1:ConfigMapPatch knative-config-domain",
		"kubernetes:core/v1:ConfigMapPatch knative-config-autoscaler",
		"kubernetes:core/v1:ConfigMapPatch knative-config-deployment",
		"kubernetes:core/v1:ConfigMapPatch knative-config-features",
	}
)

func TestWorkloadsWaitForThePlatformComponentsWhole(t *testing.T) {
	rec, _ := deployed(t, stackConfig(t, "dev"))
	assertDependencies(t, rec, "modelrollouts:index:KnativeServing", "knative", istioResources)
	platform := append(append([]string(nil), istioResources...), knativeResources...)
	assertDependencies(t, rec, "kubernetes:core/v1:Namespace", "models", platform)
	assertDependencies(t, rec, "modelrollouts:index:CanaryModel", "model",
		append(platform, "kubernetes:core/v1:Namespace models"))

	rec, _ = deployed(t, stackConfig(t, "shadow"))
	assertDependencies(t, rec, "kubernetes:core/v1:Namespace", "models", istioResources)
	assertDependencies(t, rec, "modelrollouts:index:ShadowModel", "model",
		append(append([]string(nil), istioResources...), "kubernetes:core/v1:Namespace models"))
}
