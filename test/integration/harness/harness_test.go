package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadToolsMissingIsErrToolsMissing(t *testing.T) {
	t.Setenv("MODELROLLOUTS_TOOLS_DIR", t.TempDir())
	for _, k := range []string{"PULUMI", "KUBECTL", "KWOKCTL", "KUBE_APISERVER"} {
		t.Setenv(k, "")
	}
	_, err := LoadTools()
	if !errors.Is(err, ErrToolsMissing) {
		t.Fatalf("want ErrToolsMissing, got %v", err)
	}
	if !strings.Contains(err.Error(), "make tools") || !strings.Contains(err.Error(), "KWOKCTL") {
		t.Fatalf("error should name what is missing and the fix: %v", err)
	}
}

func TestReadEnvFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "env.sh")
	os.WriteFile(p, []byte("# c\nexport PULUMI='/a b/pulumi'\nexport X=\"y\"\nZ=z\n"), 0o644)
	got, err := readEnvFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if got["PULUMI"] != "/a b/pulumi" || got["X"] != "y" || got["Z"] != "z" {
		t.Fatalf("got %v", got)
	}
}

func TestPulumiEnv(t *testing.T) {
	tools := Tools{Pulumi: "/t/pulumi/bin/pulumi", ProviderKubernetesDir: "/t/k8s"}
	env := tools.PulumiEnv("/h")
	if env["PULUMI_HOME"] != "/h/pulumi-home" || env["PULUMI_BACKEND_URL"] != "file:///h/backend" {
		t.Fatalf("got %v", env)
	}
	if !strings.HasPrefix(env["PATH"], "/t/k8s:/t/pulumi/bin:") {
		t.Fatalf("PATH = %q", env["PATH"])
	}
	if env["PULUMI_SKIP_UPDATE_CHECK"] != "true" || env["PULUMI_CONFIG_PASSPHRASE"] == "" {
		t.Fatalf("got %v", env)
	}
}

func TestClearStaleLocks(t *testing.T) {
	backend := t.TempDir()
	dir := filepath.Join(backend, ".pulumi", "locks", "organization", "proj", "dev")
	os.MkdirAll(dir, 0o755)
	host, _ := os.Hostname()
	// A lock whose pid is dead (or not pulumi) is stale.
	stale := filepath.Join(dir, "a.json")
	os.WriteFile(stale, []byte(fmt.Sprintf(`{"pid":%d,"hostname":%q,"timestamp":%q}`,
		os.Getpid(), host, time.Now().Format(time.RFC3339))), 0o644)
	os.WriteFile(stale+".attrs", []byte("{}"), 0o644)
	other := filepath.Join(backend, ".pulumi", "locks", "x.txt") // not a lock
	os.WriteFile(other, nil, 0o644)

	removed, err := ClearStaleLocks("file://" + backend)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0] != stale {
		t.Fatalf("removed %v", removed)
	}
	if _, err := os.Stat(other); err != nil {
		t.Fatalf("non-lock file touched: %v", err)
	}
	if _, err := os.Stat(stale + ".attrs"); !os.IsNotExist(err) {
		t.Fatalf("the stale lock's attributes file is left behind: %v", err)
	}
	if removed, err := ClearStaleLocks(t.TempDir()); err != nil || len(removed) != 0 {
		t.Fatalf("empty backend: %v %v", removed, err)
	}
}

func TestRequireLoopbackOnlyNetnsAgreesWithProc(t *testing.T) {
	raw, err := os.ReadFile("/proc/self/net/dev")
	if err != nil {
		t.Skip("no /proc/self/net/dev")
	}
	n := len(strings.Split(strings.TrimSpace(string(raw)), "\n")) - 2
	err = RequireLoopbackOnlyNetns()
	if n > 1 && err == nil {
		t.Fatalf("%d interfaces but RequireLoopbackOnlyNetns passed", n)
	}
	t.Logf("interfaces=%d err=%v", n, err)
}

// TestClusterSmoke is the tier's self-check: skipped unless the tools are
// built and we are inside hack/integration/in-netns.sh.
func TestClusterSmoke(t *testing.T) {
	if _, err := LoadTools(); err != nil {
		t.Skip(err)
	}
	if err := RequireLoopbackOnlyNetns(); err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := StartCluster(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	out, err := c.RunKubectl(ctx, "get", "nodes", "-o", "name")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "node/kwok-node-0") {
		t.Fatalf("nodes: %s", out)
	}
}
