//go:build slow

package tools

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// offline returns the environment of a machine with no network and
// nothing installed but the basics and Go: a PATH of only those tools,
// an empty HOME, module cache and GOPATH, a Go module proxy and an HTTP
// proxy that refuse connections (so every download fails as it does with
// no network, here and on CI alike), and extra tools in bin.
func offline(t *testing.T) (env []string, bin string) {
	t.Helper()
	bin = t.TempDir()
	for _, tool := range []string{"bash", "env", "sed", "awk", "grep", "head", "tail", "cut", "tr", "cat",
		"mkdir", "mktemp", "dirname", "basename", "ls", "id", "sort", "rm", "chmod", "curl", "go"} {
		path, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("the pre-check test needs %s on PATH: %v", tool, err)
		}
		if err := os.Symlink(path, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	home, gopath := t.TempDir(), t.TempDir()
	refused := "http://127.0.0.1:9" // the discard port: nothing listens on loopback
	return []string{
		"PATH=" + bin, "HOME=" + home, "GOPATH=" + gopath, "GOMODCACHE=" + filepath.Join(gopath, "mod"),
		"GOPROXY=" + refused, "GOFLAGS=-mod=mod", "GONOSUMDB=*", "GONOSUMCHECK=1", "GOSUMDB=off",
		"ALL_PROXY=" + refused, "HTTPS_PROXY=" + refused, "https_proxy=" + refused, "HTTP_PROXY=" + refused,
		"http_proxy=" + refused, "NO_PROXY=", "no_proxy=", "PREFLIGHT_TIMEOUT=3", "PULUMI_HOME=",
	}, bin
}

// TestUpOfflineSaysEverythingMissingAtOnce: without network `make up`
// installs nothing and says in one message what is missing and how to get
// it (it used to install kind, then die on curl's "Could not resolve host").
func TestUpOfflineSaysEverythingMissingAtOnce(t *testing.T) {
	root := repoRoot(t)
	env, _ := offline(t)
	r := command(t, root, env, filepath.Join(root, "hack/make-rules/lab.sh"), "up", "dev")
	if r.code != 1 {
		t.Fatalf("lab.sh up exited %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	msg := r.stderr
	t.Logf("the message:\n%s", msg)
	for _, want := range []string{
		"ERROR: make up cannot run here; nothing was installed or changed. Missing (",
		"Docker: the docker CLI is not on PATH; install Docker: https://docs.docker.com/get-docker/",
		"Go modules of the program:",
		"kind v0.33.0: not on PATH, and `go install sigs.k8s.io/kind@v0.33.0` cannot fetch it",
		"the Pulumi CLI 3.274.1 (not installed): needs github.com",
		"run hack/ci/install-pulumi.sh elsewhere (it checks the release's sha256)",
		"Pulumi plugins kubernetes v4.32.0 command v1.1.0 docker v4.10.0",
		"Istio charts: needs istio-release.storage.googleapis.com",
		"or set platform.istio.chartsDir",
		"Knative Serving release manifests: needs github.com",
		"container images (kind node image, golang base image, Istio images): needs registry-1.docker.io",
		"Without these, `make render` and `make review` still work",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the message lacks %q", want)
		}
	}
	if strings.Contains(msg, "installing") || strings.Contains(msg, "Could not resolve host") {
		t.Errorf("lab.sh started installing before the check:\n%s", msg)
	}
	gopath := strings.TrimPrefix(env[2], "GOPATH=")
	if _, err := os.Stat(filepath.Join(gopath, "bin", "kind")); err == nil {
		t.Error("kind was installed although the pre-check failed")
	}
	if strings.Count(msg, "ERROR") != 1 {
		t.Errorf("want one message, got:\n%s", msg)
	}
}

// TestPreviewOfflineNeedsNoDockerButTheDownloads: preview of a shadow stack
// needs no Docker, kind or Knative, but still the CLI, plugins and charts.
func TestPreviewOfflineNeedsNoDockerButTheDownloads(t *testing.T) {
	root := repoRoot(t)
	env, _ := offline(t)
	r := command(t, root, env, filepath.Join(root, "hack/make-rules/lab.sh"), "preview", "shadow")
	if r.code != 1 {
		t.Fatalf("lab.sh preview exited %d, want 1\n%s", r.code, r.stderr)
	}
	for _, unwanted := range []string{"Docker", "kind v0.33.0", "Knative", "container images"} {
		if strings.Contains(r.stderr, unwanted) {
			t.Errorf("a shadow preview does not need %s, the message says:\n%s", unwanted, r.stderr)
		}
	}
	for _, want := range []string{"make preview cannot run here", "the Pulumi CLI 3.274.1", "Istio charts"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the message lacks %q:\n%s", want, r.stderr)
		}
	}
}

// TestACLIWithoutTheGoLanguageHostIsRefused: the Pulumi CLI make tools
// builds has no pulumi-language-go (the module proxy does not serve it), so
// it cannot run this Go program; the pre-check says so and what to install.
func TestACLIWithoutTheGoLanguageHostIsRefused(t *testing.T) {
	root := repoRoot(t)
	env, bin := offline(t)
	cli := filepath.Join(bin, "pulumi")
	if err := os.WriteFile(cli, []byte("#!/usr/bin/env bash\necho v3.274.1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := command(t, root, env, filepath.Join(root, "hack/make-rules/lab.sh"), "preview", "dev")
	want := "the Pulumi CLI at " + cli + " has no pulumi-language-go beside it or on PATH"
	if r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Fatalf("exit %d, message lacks %q:\n%s", r.code, want, r.stderr)
	}
	if err := os.WriteFile(filepath.Join(bin, "pulumi-language-go"), []byte("#!/usr/bin/env bash\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r = command(t, root, env, filepath.Join(root, "hack/make-rules/lab.sh"), "preview", "dev")
	if strings.Contains(r.stderr, "pulumi-language-go") {
		t.Errorf("a CLI with its language host beside it is refused:\n%s", r.stderr)
	}
}
