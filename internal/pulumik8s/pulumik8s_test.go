package pulumik8s

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/modelrollouts/modelrollouts/internal/mocks"
)

// The wire form is what the provider receives: the SDK's input names, the
// repository as an object, and Compat as the SDK sets it.
func TestAReleaseSendsTheSDKsInputsAndReadsItsStatus(t *testing.T) {
	var namespace, name string
	rec, err := mocks.Run(func(ctx *pulumi.Context) error {
		r, err := NewRelease(ctx, "istio-base", &ReleaseArgs{
			Chart:           pulumi.String("base"),
			Version:         pulumi.String("1.31.4"),
			RepositoryOpts:  &RepositoryOpts{Repo: "https://charts.example"},
			Name:            pulumi.String("istio-base"),
			Namespace:       pulumi.String("istio-system"),
			CreateNamespace: pulumi.Bool(true),
			Values:          pulumi.Map{"labels": pulumi.StringMap{"istio": pulumi.String("ingressgateway")}},
			SkipAwait:       pulumi.Bool(true),
			Timeout:         pulumi.Int(600),
		})
		if err != nil {
			return err
		}
		pulumi.All(r.Status.Namespace().Elem(), r.Status.Name().Elem()).ApplyT(func(v []any) error {
			namespace, name = v[0].(string), v[1].(string)
			return nil
		})
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := rec.Find(ReleaseType, "istio-base")
	if !ok || !r.Custom {
		t.Fatalf("no custom resource %s istio-base in %v", ReleaseType, rec.Resources())
	}
	want := resource.NewPropertyMapFromMap(map[string]any{
		"chart": "base", "version": "1.31.4", "repositoryOpts": map[string]any{"repo": "https://charts.example"},
		"name": "istio-base", "namespace": "istio-system", "createNamespace": true,
		"values":    map[string]any{"labels": map[string]any{"istio": "ingressgateway"}},
		"skipAwait": true, "timeout": 600, "compat": "true",
	})
	if !r.Inputs.DeepEquals(want) {
		t.Errorf("inputs\n got %v\nwant %v", r.Inputs, want)
	}
	if namespace != "istio-system" || name != "istio-base" {
		t.Errorf("status namespace/name %q/%q, want istio-system/istio-base", namespace, name)
	}
}

func TestAReleaseWithoutAChartIsRefusedByName(t *testing.T) {
	_, err := mocks.Run(func(ctx *pulumi.Context) error {
		_, err := NewRelease(ctx, "istio-base", &ReleaseArgs{})
		return err
	}, nil)
	if err == nil || !strings.Contains(err.Error(), "helm release istio-base: chart is required") {
		t.Errorf("err = %v, want the release named and its chart required", err)
	}
}

func TestAConfigGroupIsTheProvidersComponentWithItsFiles(t *testing.T) {
	rec, err := mocks.Run(func(ctx *pulumi.Context) error {
		_, err := NewConfigGroup(ctx, "knative-crds", &ConfigGroupArgs{Files: pulumi.ToStringArray([]string{"a.yaml", "b.yaml"})})
		return err
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	g, ok := rec.Find(ConfigGroupType, "knative-crds")
	if !ok || g.Custom {
		t.Fatalf("no component %s knative-crds in %v", ConfigGroupType, rec.Resources())
	}
	want := resource.NewPropertyMapFromMap(map[string]any{"files": []any{"a.yaml", "b.yaml"}})
	if !g.Inputs.DeepEquals(want) {
		t.Errorf("inputs %v, want %v", g.Inputs, want)
	}
}
