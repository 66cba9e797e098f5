package render

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

const projectDir = "../.."

func renderStack(t *testing.T, stack string) []map[string]any {
	t.Helper()
	dir, err := filepath.Abs(projectDir)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := Stack(filepath.Join(dir, "Pulumi."+stack+".yaml"), dir)
	if err != nil {
		t.Fatal(err)
	}
	out, err := YAML(rec.Resources(), dir)
	if err != nil {
		t.Fatal(err)
	}
	var docs []map[string]any
	for _, part := range bytes.Split(out, []byte("---\n")) {
		if len(bytes.TrimSpace(part)) == 0 {
			continue
		}
		var doc map[string]any
		if err := yaml.Unmarshal(part, &doc); err != nil {
			t.Fatalf("document is not YAML: %v\n%s", err, part)
		}
		docs = append(docs, doc)
	}
	return docs
}

func find(docs []map[string]any, kind, name string) map[string]any {
	for _, d := range docs {
		meta, _ := d["metadata"].(map[string]any)
		if d["kind"] == kind && meta["name"] == name {
			return d
		}
	}
	return nil
}

func TestRenderPrintsKubernetesObjectsAsTheProviderSendsThem(t *testing.T) {
	docs := renderStack(t, "dev")
	for _, d := range docs {
		for _, field := range []string{"apiVersion", "kind", "metadata"} {
			if _, ok := d[field]; !ok {
				t.Errorf("document without %s: %v", field, d)
			}
		}
	}
	route := find(docs, "Route", "model")
	if route == nil {
		t.Fatal("no Route model")
	}
	traffic := route["spec"].(map[string]any)["traffic"].([]any)
	if len(traffic) != 2 || traffic[0].(map[string]any)["percent"] != float64(90) {
		t.Errorf("route traffic %v", traffic)
	}
	if find(docs, "Configuration", "model-v2") == nil {
		t.Error("no Configuration model-v2")
	}
	// Helm releases and remote manifests appear as themselves.
	for _, name := range []string{"istio-base", "istio-istiod", "istio-gateway", "knative-core", "modelrollouts-dev"} {
		if find(docs, "PulumiResource", name) == nil {
			t.Errorf("no PulumiResource %s", name)
		}
	}
	// Providers hold a secret kubeconfig and are not printed.
	for _, d := range docs {
		spec, _ := d["spec"].(map[string]any)
		if typ, _ := spec["type"].(string); d["kind"] == "PulumiResource" && strings.HasPrefix(typ, "pulumi:providers:") {
			t.Errorf("a provider was rendered: %v", d)
		}
	}
}

func TestRenderPrintsPathsRelativeToTheProject(t *testing.T) {
	image := find(renderStack(t, "dev"), "PulumiResource", "model-echo")
	build := image["spec"].(map[string]any)["inputs"].(map[string]any)["build"].(map[string]any)
	if build["context"] != "." || build["dockerfile"] != "model-echo/Dockerfile" {
		t.Errorf("build context %v, dockerfile %v: want them relative to the project", build["context"], build["dockerfile"])
	}
}

func TestRenderIsStable(t *testing.T) {
	a, _ := yaml.Marshal(renderStack(t, "shadow"))
	b, _ := yaml.Marshal(renderStack(t, "shadow"))
	if !bytes.Equal(a, b) {
		t.Error("two renders of one stack differ: a reviewer's diff would be noise")
	}
}

func TestRenderRefusesAnInvalidStack(t *testing.T) {
	dir := t.TempDir()
	bad := []byte("config:\n  modelrollouts:strategy: canary\n  modelrollouts:canary:\n    versions:\n      - name: v1\n        target: a\n        percent: 120\n")
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.bad.yaml"), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	rec, err := Stack(filepath.Join(dir, "Pulumi.bad.yaml"), projectDir)
	if err == nil {
		t.Fatal("an invalid stack rendered")
	}
	if !strings.Contains(err.Error(), "modelrollouts:canary.versions[0].percent") {
		t.Errorf("error %q does not name the key", err)
	}
	if rec != nil {
		t.Error("an invalid stack registered resources")
	}
}
