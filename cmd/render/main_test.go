package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelrollouts/modelrollouts/internal/cli/clitest"
	"github.com/modelrollouts/modelrollouts/internal/render"
)

func TestRunRefusesAnInvalidStackBeforeRendering(t *testing.T) {
	dir := t.TempDir()
	pulumiYAML, err := os.ReadFile("../../Pulumi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), pulumiYAML, 0o644)
	bad := "config:\n  modelrollouts:strategy: canary\n  modelrollouts:canary:\n    versions:\n      - {name: v1, target: a, percent: 60}\n"
	os.WriteFile(filepath.Join(dir, "Pulumi.bad.yaml"), []byte(bad), 0o644)
	err = renderTo(io.Discard, "bad", dir)
	if err == nil || !strings.Contains(err.Error(), "percents sum to 60, want 100") {
		t.Fatalf("run = %v, want the validation error", err)
	}
}

func TestRunNamesAMissingStackFile(t *testing.T) {
	err := renderTo(io.Discard, "nope", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "Pulumi.nope.yaml") {
		t.Fatalf("run = %v, want an error naming Pulumi.nope.yaml", err)
	}
}

func renderStackDocs(t *testing.T, stack string) []map[string]any {
	t.Helper()
	out, err := renderStack(stack, "../..")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := render.Documents(out)
	if err != nil {
		t.Fatal(err)
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

func TestRenderPrintsTheDevStacksObjects(t *testing.T) {
	docs := renderStackDocs(t, "dev")
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
	image := find(docs, "PulumiResource", "model-echo")
	build := image["spec"].(map[string]any)["inputs"].(map[string]any)["build"].(map[string]any)
	if build["context"] != "." || build["dockerfile"] != "model-echo/Dockerfile" {
		t.Errorf("build context %v, dockerfile %v: want them relative to the project", build["context"], build["dockerfile"])
	}
}

func TestRenderIsStable(t *testing.T) {
	a, err := renderStack("shadow", "../..")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := renderStack("shadow", "../..")
	if !bytes.Equal(a, b) {
		t.Error("two renders of one stack differ: a reviewer's diff would be noise")
	}
}

// `go run ./cmd/render --help` listed glog's flags (-alsologtostderr,
// -log_dir, -v, ...), which the Pulumi SDK registers on the global
// FlagSet; render now parses its own, and -h follows the convention.
func TestHelpListsOnlyRendersOwnFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-h"}, &stdout, &stderr); code != 0 || stderr.Len() > 0 {
		t.Fatalf("-h: exit %d, stderr %q", code, stderr.String())
	}
	if p := clitest.Problems("render", stdout.String()); len(p) > 0 {
		t.Errorf("-h breaks the convention: %q\n%s", p, stdout.String())
	}
	if got := strings.Join(clitest.Flags(stdout.String()), " "); got != "dir stack" {
		t.Errorf("-h lists flags %q, want only dir and stack", got)
	}
	if code := run([]string{"-v"}, &stdout, &stderr); code != 2 {
		t.Errorf("glog's -v: exit %d, want 2 (not a flag of render)", code)
	}
}
