package render

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReviewScriptDiffsEachStackAgainstItsBase runs hack/review.sh the way
// a reviewer does: in a clone whose working tree changes a percent, against
// the clone's HEAD.
func TestReviewScriptDiffsEachStackAgainstItsBase(t *testing.T) {
	if testing.Short() {
		t.Skip("renders every stack twice (about half a minute)")
	}
	repo, err := filepath.Abs(projectDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(repo, ".git")); err != nil {
		t.Skip("not a git checkout: " + err.Error())
	}
	clone := filepath.Join(t.TempDir(), "clone")
	run(t, repo, "git", "clone", "-q", "--no-hardlinks", repo, clone)

	dev := filepath.Join(clone, "Pulumi.dev.yaml")
	data, err := os.ReadFile(dev)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(strings.Replace(string(data), "percent: 90", "percent: 80", 1), "percent: 10", "percent: 20", 1)
	if edited == string(data) {
		t.Fatal("Pulumi.dev.yaml no longer has a 90/10 split to edit")
	}
	if err := os.WriteFile(dev, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	out := run(t, clone, "hack/review.sh", "HEAD")
	for _, want := range []string{
		"### stack dev: changes against HEAD",
		"-    percent: 90\n+    percent: 80",
		"-    percent: 10\n+    percent: 20",
		"### stack shadow: no change",
		"### stack cloud: no change",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("review output lacks %q:\n%s", want, out)
		}
	}

	shadow := filepath.Join(clone, "Pulumi.shadow.yaml")
	data, _ = os.ReadFile(shadow)
	os.WriteFile(shadow, []byte(strings.Replace(string(data), "mirrorPercent: 50", "mirrorPercent: 150", 1)), 0o644)
	cmd := exec.Command("hack/review.sh", "HEAD")
	cmd.Dir = clone
	b, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("review passed an invalid stack:\n%s", b)
	}
	if !strings.Contains(string(b), "### stack shadow: INVALID") || !strings.Contains(string(b), "modelrollouts:shadow.mirrorPercent") {
		t.Errorf("review output does not name the invalid key:\n%s", b)
	}
}

func run(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}
