//go:build e2e

package e2e

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/modelrollouts/modelrollouts/stacks"
)

// TestLabConfig checks the harness's own plumbing offline, without Docker
// or a cluster: the project copy, the generated stack files, the stack
// creation in the private backend and the `config set --path` edit of the
// canary flow. It needs an installed Pulumi CLI (it never downloads one).
//
//	go test -count=1 -tags e2e -v -run TestLabConfig ./test/e2e/
func TestLabConfig(t *testing.T) {
	// Leave ~/.pulumi alone (logs, workspace files).
	t.Setenv("PULUMI_HOME", filepath.Join(t.TempDir(), "pulumi-home"))
	cli, tried := localPulumi()
	if cli == nil {
		t.Skipf("no Pulumi CLI >= %s installed (tried: PATH, ~/.pulumi, $PULUMI_ROOT; %s)", pulumiVersion, strings.Join(tried, "; "))
	}
	ctx := t.Context()
	l := newLab(t, cli, "")
	l.env["PULUMI_HOME"] = os.Getenv("PULUMI_HOME")
	for _, skip := range []string{".git", ".pulumi-state"} {
		if _, err := os.Stat(filepath.Join(l.projectDir, skip)); err == nil {
			t.Errorf("the project copy has %s", skip)
		}
	}
	for _, keep := range []string{"Pulumi.yaml", "go.mod", "go.sum", "cmd/modelrollouts/main.go", "model-echo/Dockerfile"} {
		if _, err := os.Stat(filepath.Join(l.projectDir, keep)); err != nil {
			t.Errorf("the project copy lacks %s: %v", keep, err)
		}
	}

	shadow := l.writeStackFile(t, "Pulumi.shadow.yaml", "e2e-shadow-0", "mr-e2e-shadow-0", 40001)
	if shadow.Strategy != stacks.StrategyShadow || shadow.Cluster.Name != "mr-e2e-shadow-0" || shadow.Cluster.IngressHostPort != 40001 {
		t.Errorf("shadow stack file: strategy %q, cluster %q, port %d", shadow.Strategy, shadow.Cluster.Name, shadow.Cluster.IngressHostPort)
	}

	stack := "e2e-canary-0"
	cfg := l.writeStackFile(t, "Pulumi.dev.yaml", stack, "mr-"+stack, 40000)
	if cfg.Cluster.Name != "mr-"+stack || cfg.Cluster.IngressHostPort != 40000 {
		t.Errorf("canary stack file: cluster %q, port %d", cfg.Cluster.Name, cfg.Cluster.IngressHostPort)
	}
	if got, want := canarySplit(cfg), map[string]int{"v1": 90, "v2": 10}; !maps.Equal(got, want) {
		t.Errorf("canary split %v, want %v (Pulumi.dev.yaml changed?)", got, want)
	}
	st, err := auto.UpsertStackLocalSource(ctx, stack, l.projectDir, auto.Pulumi(l.pulumi), auto.EnvVars(l.env))
	if err != nil {
		t.Fatalf("create stack: %v", err)
	}
	defer func() {
		if err := st.Workspace().RemoveStack(ctx, stack); err != nil {
			t.Errorf("stack rm: %v", err)
		}
	}()
	if again, err := stacks.LoadFile(l.stackFile(stack)); err != nil || !maps.Equal(canarySplit(again), canarySplit(cfg)) {
		t.Fatalf("stack init changed the stack file's config: %v", err)
	}
	err = st.SetAllConfigWithOptions(ctx, auto.ConfigMap{
		"modelrollouts:canary.versions[0].percent": {Value: "50"},
		"modelrollouts:canary.versions[1].percent": {Value: "50"},
	}, &auto.ConfigOptions{Path: true})
	if err != nil {
		t.Fatalf("config set --path: %v", err)
	}
	edited, err := stacks.LoadFile(l.stackFile(stack))
	if err != nil {
		t.Fatalf("stack file after config set --path: %v", err)
	}
	if got, want := canarySplit(edited), map[string]int{"v1": 50, "v2": 50}; !maps.Equal(got, want) {
		t.Errorf("split after config set --path is %v, want %v", got, want)
	}
	data, _ := os.ReadFile(l.stackFile(stack))
	if !strings.Contains(string(data), "encryptionsalt:") {
		t.Errorf("the stack file has no encryption salt of its own:\n%s", data)
	}
	t.Logf("%s after the edit:\n%s", filepath.Base(l.stackFile(stack)), data)

	o, err := parseOutputs(auto.OutputMap{
		"strategy":   {Value: "canary"},
		"ingressUrl": {Value: "http://127.0.0.1:40000"},
		"host":       {Value: "model.models.example.com"},
		"versions":   {Value: map[string]any{"v1": map[string]any{"target": "model v1"}}},
		"split":      {Value: map[string]any{"v1": 100.0}},
		"kubeconfig": {Value: "apiVersion: v1", Secret: true},
	})
	if err != nil || o.Split["v1"] != 100 || o.Kubeconfig == "" {
		t.Errorf("parseOutputs: %+v, %v", o, err)
	}
}
