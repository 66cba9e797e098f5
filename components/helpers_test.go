package components_test

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/modelrollouts/modelrollouts/internal/mocks"
)

// withProvider runs build under mocks with an explicit Kubernetes provider
// passed to the component, the way infra passes the cluster's.
func withProvider(t *testing.T, build func(ctx *pulumi.Context, k8s pulumi.ResourceOption) error) *mocks.Recorder {
	t.Helper()
	rec, err := mocks.Run(func(ctx *pulumi.Context) error {
		p, err := kubernetes.NewProvider(ctx, "test-cluster", &kubernetes.ProviderArgs{})
		if err != nil {
			return err
		}
		return build(ctx, pulumi.Providers(p))
	}, nil)
	if err != nil {
		t.Fatalf("program failed: %v", err)
	}
	return rec
}

// assertChildrenOf checks every resource other than the component itself
// and the test provider descends from the component, and every Kubernetes
// resource uses the provider the component was given.
func assertChildrenOf(t *testing.T, rec *mocks.Recorder, componentType string) {
	t.Helper()
	comps := rec.ByType(componentType)
	if len(comps) != 1 {
		t.Fatalf("want 1 %s, got %d", componentType, len(comps))
	}
	comp := comps[0]
	for _, res := range rec.Resources() {
		if res.URN == comp.URN || res.Name == "test-cluster" {
			continue
		}
		if !descendsFrom(rec, res, comp.URN) {
			t.Errorf("%s %s is not parented to the %s", res.Type, res.Name, componentType)
		}
		if res.Custom && strings.HasPrefix(res.Type, "kubernetes:") && !strings.Contains(res.Provider, "::test-cluster::") {
			t.Errorf("%s %s uses provider %q, want the test-cluster provider passed down", res.Type, res.Name, res.Provider)
		}
	}
}

func descendsFrom(rec *mocks.Recorder, res mocks.Resource, urn string) bool {
	for res.Parent != "" {
		if res.Parent == urn {
			return true
		}
		parent, ok := rec.Parent(res)
		if !ok {
			return false
		}
		res = parent
	}
	return false
}

// get walks nested object inputs: get(inputs, "spec", "template").
func get(t *testing.T, m resource.PropertyMap, path ...string) resource.PropertyValue {
	t.Helper()
	v := resource.NewObjectProperty(m)
	for _, k := range path {
		if v.IsSecret() {
			v = v.SecretValue().Element
		}
		if !v.IsObject() {
			t.Fatalf("at %q of %v: not an object: %v", k, path, v)
		}
		v = v.ObjectValue()[resource.PropertyKey(k)]
	}
	return v
}

func str(t *testing.T, m resource.PropertyMap, path ...string) string {
	t.Helper()
	v := get(t, m, path...)
	if !v.IsString() {
		t.Fatalf("%v: want a string, got %v", path, v)
	}
	return v.StringValue()
}

func dependsOn(res mocks.Resource, other mocks.Resource) bool {
	for _, d := range res.DependsOn {
		if d == other.URN {
			return true
		}
	}
	return false
}

func mustFind(t *testing.T, rec *mocks.Recorder, typ, name string) mocks.Resource {
	t.Helper()
	res, ok := rec.Find(typ, name)
	if !ok {
		var have []string
		for _, r := range rec.Resources() {
			have = append(have, r.Type+" "+r.Name)
		}
		t.Fatalf("no %s %q; registered:\n  %s", typ, name, strings.Join(have, "\n  "))
	}
	return res
}

// envOf returns a container's env as a map.
func envOf(t *testing.T, container resource.PropertyValue) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, e := range container.ObjectValue()["env"].ArrayValue() {
		env[e.ObjectValue()["name"].StringValue()] = e.ObjectValue()["value"].StringValue()
	}
	return env
}
