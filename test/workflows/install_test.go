package workflows

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// pinnedCLI is hack/lib/versions.sh's PULUMI_CLI_VERSION.
func pinnedCLI(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "hack", "lib", "versions.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "PULUMI_CLI_VERSION="); ok {
			return v
		}
	}
	t.Fatal("versions.sh pins no PULUMI_CLI_VERSION")
	return ""
}

// release writes a fake Pulumi release (the archive, laid out as pulumi's
// is, and pulumi-<version>-checksums.txt) and returns its folder and the
// archive's name. sum, when set, replaces the archive's real checksum.
func release(t *testing.T, version, sum string) (dir, archive string) {
	t.Helper()
	dir = t.TempDir()
	arch := map[string]string{"amd64": "x64", "arm64": "arm64"}[runtime.GOARCH]
	archive = fmt.Sprintf("pulumi-v%s-%s-%s.tar.gz", version, runtime.GOOS, arch)
	f, err := os.Create(filepath.Join(dir, archive))
	if err != nil {
		t.Fatal(err)
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	for name, body := range map[string]string{
		"pulumi/pulumi":             "#!/bin/sh\necho v" + version + "\n",
		"pulumi/pulumi-language-go": "#!/bin/sh\n",
	} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []interface{ Close() error }{tw, gz, f} {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, archive))
	if err != nil {
		t.Fatal(err)
	}
	if sum == "" {
		sum = fmt.Sprintf("%x", sha256.Sum256(data))
	}
	sums := fmt.Sprintf("%x  pulumi-v%s-windows-x64.zip\n%s  %s\n", sha256.Sum256([]byte("other")), version, sum, archive)
	if sum == "none" {
		sums = fmt.Sprintf("%x  pulumi-v%s-windows-x64.zip\n", sha256.Sum256([]byte("other")), version)
	}
	if err := os.WriteFile(filepath.Join(dir, "pulumi-"+version+"-checksums.txt"), []byte(sums), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, archive
}

func install(t *testing.T, releaseDir, installDir string, env ...string) ciRun {
	t.Helper()
	e := map[string]string{"FAKE_RELEASE_DIR": releaseDir, "MODELROLLOUTS_PULUMI_DIR": installDir,
		// Another CLI is first on PATH (the fake pulumi says v0.0.0).
		"FAKE_PULUMI_VERSION": "v3.1.0"}
	for i := 0; i+1 < len(env); i += 2 {
		e[env[i]] = env[i+1]
	}
	return runScript(t, "install-pulumi.sh", nil, e)
}

// The pinned CLI is installed, whatever version the runner already has,
// once its archive matches the release's sha256.
func TestThePinnedPulumiCLIIsInstalledAfterItsChecksumMatches(t *testing.T) {
	t.Parallel()
	version := pinnedCLI(t)
	rel, archive := release(t, version, "")
	dest := t.TempDir()
	r := install(t, rel, dest)
	bin := filepath.Join(dest, version, "bin")
	if r.code != 0 || strings.TrimSpace(r.stdout) != bin {
		t.Fatalf("want the CLI in %s:\n%v", bin, r)
	}
	for _, f := range []string{"pulumi", "pulumi-language-go"} {
		if _, err := os.Stat(filepath.Join(bin, f)); err != nil {
			t.Errorf("%s was not installed: %v", f, err)
		}
	}
	if !r.called("curl -fsSL --proto =https --retry 3 -o") || !strings.Contains(strings.Join(r.calls, "\n"), "/v"+version+"/"+archive) {
		t.Errorf("the archive was not fetched from the release of v%s:\n%v", version, r)
	}
	// A second run finds it installed and downloads nothing.
	again := install(t, rel, dest)
	if again.code != 0 || again.called("curl") {
		t.Errorf("an installed CLI was downloaded again:\n%v", again)
	}
}

func TestAPulumiCLIWhoseChecksumDiffersIsNotInstalled(t *testing.T) {
	t.Parallel()
	version := pinnedCLI(t)
	wrong := strings.Repeat("0", 64)
	for name, tc := range map[string]struct {
		sum  string
		env  []string
		want string
	}{
		"the release's checksum differs":     {wrong, nil, "the release says " + wrong + ": nothing installed"},
		"the release has no checksum for it": {"none", nil, "has no sha256 for"},
		"a pinned PULUMI_CLI_SHA256 differs": {"", []string{"PULUMI_CLI_SHA256", wrong}, "the release says " + wrong},
		"the release has no archive for it":  {"", []string{"FAKE_RELEASE_DIR", t.TempDir()}, "could not download the Pulumi CLI"},
	} {
		rel, _ := release(t, version, tc.sum)
		dest := t.TempDir()
		r := install(t, rel, dest, tc.env...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: want a refusal %q:\n%v", name, tc.want, r)
		}
		if _, err := os.Stat(filepath.Join(dest, version, "bin", "pulumi")); err == nil {
			t.Errorf("%s: the CLI was installed", name)
		}
	}
}
