//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/modelrollouts/modelrollouts/stacks"
)

// Pinned tools, the same as hack/lib/versions.sh (make up).
const (
	kindVersion   = stacks.KindVersion
	kindModule    = "sigs.k8s.io/kind"
	pulumiVersion = "3.274.1"
)

// internetProbeURL is fetched (HEAD) to decide whether the internet is
// reachable: the first thing `pulumi up` downloads is the Istio charts.
const internetProbeURL = "https://istio-release.storage.googleapis.com/charts/index.yaml"

// requireDocker skips unless a Docker engine answers. It runs before
// anything that touches the network, so a machine without Docker never
// attempts an outbound connection.
func requireDocker(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skipf("kind e2e: the docker CLI is not on PATH (%v); kind and the image build need Docker: https://docs.docker.com/get-docker/", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput()
	if err != nil {
		t.Skipf("kind e2e: no running Docker engine: `docker info` failed: %v: %s", err, oneLine(out))
	}
	t.Logf("docker engine %s", strings.TrimSpace(string(out)))
}

// requireInternet skips unless the Istio chart repository answers: the lab
// downloads charts, Knative manifests, provider plugins, Go modules and
// container images.
func requireInternet(t *testing.T, ctx context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, internetProbeURL, nil)
	if err != nil {
		t.Fatalf("probe request: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Skipf("kind e2e: no internet: HEAD %s failed: %v (the lab downloads Istio charts, Knative manifests, Pulumi plugins and images)", internetProbeURL, err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		t.Skipf("kind e2e: no internet: HEAD %s answered %s", internetProbeURL, resp.Status)
	}
}

// kindBinary returns a kind of the pinned version: the one on PATH if it is
// that version, else one built with `go install` into a temporary GOBIN
// (the module proxy or the module cache serves it). The directory of the
// returned binary goes first on the Pulumi program's PATH, since the
// cluster component runs `kind` by name.
func kindBinary(t *testing.T, ctx context.Context) string {
	t.Helper()
	if path, err := exec.LookPath("kind"); err == nil {
		out, err := exec.CommandContext(ctx, path, "version").Output()
		if f := strings.Fields(string(out)); err == nil && len(f) > 1 && f[1] == kindVersion {
			return path
		}
		t.Logf("kind on PATH (%s) is not %s (%q): installing %s", path, kindVersion, oneLine(out), kindVersion)
	}
	gobin := t.TempDir()
	cmd := exec.CommandContext(ctx, "go", "install", kindModule+"@"+kindVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+gobin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("kind e2e: kind %s is not on PATH and `go install %s@%s` failed: %v: %s (install it yourself: go install %s@%s)",
			kindVersion, kindModule, kindVersion, err, oneLine(out), kindModule, kindVersion)
	}
	return filepath.Join(gobin, "kind")
}

// pulumiCLI returns a Pulumi CLI of at least the pinned version: one
// already installed (see localPulumi), or one the Automation API installs
// into ~/.pulumi/versions/<version> with the official installer.
func pulumiCLI(t *testing.T, ctx context.Context) auto.PulumiCommand {
	t.Helper()
	cmd, tried := localPulumi()
	if cmd != nil {
		return cmd
	}
	cmd, err := auto.InstallPulumiCommand(ctx, &auto.PulumiCommandOptions{Version: semver.MustParse(pulumiVersion)})
	if err != nil {
		t.Fatalf("install the Pulumi CLI %s: %v (also tried: %s)", pulumiVersion, err, strings.Join(tried, "; "))
	}
	return cmd
}

// localPulumi finds an installed Pulumi CLI of at least the pinned version,
// without any download: on PATH, in ~/.pulumi (the official installer's
// home, see make up), or in $PULUMI_ROOT (make tools). It returns
// nil and why each candidate was refused if there is none.
func localPulumi() (auto.PulumiCommand, []string) {
	want := semver.MustParse(pulumiVersion)
	var tried []string
	if _, err := exec.LookPath("pulumi"); err == nil {
		cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Version: want})
		if err == nil {
			return cmd, nil
		}
		tried = append(tried, "PATH: "+err.Error())
	}
	var roots []string
	if home, err := os.UserHomeDir(); err == nil {
		roots = append(roots, filepath.Join(home, ".pulumi"))
	}
	if root := os.Getenv("PULUMI_ROOT"); root != "" {
		roots = append(roots, root)
	}
	for _, root := range roots {
		if _, err := os.Stat(filepath.Join(root, "bin", "pulumi")); err != nil {
			continue
		}
		cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Version: want, Root: root})
		if err == nil {
			return cmd, nil
		}
		tried = append(tried, root+": "+err.Error())
	}
	return nil, tried
}

// oneLine squeezes command output into a skip or log message.
func oneLine(b []byte) string {
	s := strings.Join(strings.Fields(string(bytes.TrimSpace(b))), " ")
	if len(s) > 600 {
		s = s[:600] + "..."
	}
	if s == "" {
		return "(no output)"
	}
	return s
}

// run runs a command and returns its combined output, or an error that
// carries it.
func run(ctx context.Context, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, oneLine(out))
	}
	return string(out), nil
}
