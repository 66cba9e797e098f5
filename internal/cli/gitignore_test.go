package cli_test

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// What the tools write in the checkout when run as the README and make
// run them (make diagnose, shadow-report --out report/, rollout check
// --json > verdict.json, rollout advance --title-file title.txt
// --body-file body.md, shadow-report's default folder) is never offered
// for a commit.
func TestWhatTheToolsWriteInTheCheckoutIsIgnored(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("git", "-C", root, "rev-parse", "--show-toplevel").Output(); err != nil || len(out) == 0 {
		t.Skipf("not a git checkout (%v): .gitignore cannot be asked", err)
	}
	for _, path := range []string{
		"diagnostics/dev/pods.txt", "report/summary.json", "verdict.json", "title.txt", "body.md",
		"shadow-report/report.md", ".pulumi-state/stacks/dev.json",
	} {
		if err := exec.Command("git", "-C", root, "check-ignore", "-q", "--no-index", path).Run(); err != nil {
			t.Errorf("%s is not ignored by .gitignore", path)
		}
	}
}
