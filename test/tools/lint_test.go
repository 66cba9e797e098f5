package tools

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestLintSaysHowToGetAMissingLinter: make lint with neither linter fails
// and names how to get each (shellcheck: the Debian package; actionlint:
// make tools builds it from github.com/rhysd/actionlint).
func TestLintSaysHowToGetAMissingLinter(t *testing.T) {
	root := repoRoot(t)
	r := command(t, root, []string{"SHELLCHECK=/nonexistent/shellcheck", "ACTIONLINT=/nonexistent/actionlint",
		"MODELROLLOUTS_TOOLS_DIR=" + t.TempDir()}, filepath.Join(root, "hack/make-rules/verify/lint.sh"))
	if r.code != 1 {
		t.Fatalf("lint exited %d, want 1:\n%s", r.code, r.stderr)
	}
	for _, want := range []string{
		"shellcheck: not on PATH; install the Debian package: apt-get install shellcheck",
		"actionlint: not built; run make tools (builds github.com/rhysd/actionlint@",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("lint's message lacks %q:\n%s", want, r.stderr)
		}
	}
}
