//go:build slow

package cli_test

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modelrollouts/modelrollouts/internal/cli/clitest"
)

// Every tool, built as a user's `go run` builds it, prints the
// convention's help on stdout for -h and exits 0: a one-line summary, the
// usage, its own flags only (none a dependency registered on the global
// FlagSet, as glog did in render), examples and exit codes; the same
// thing has the same flag name in every tool.
func TestEveryToolFollowsTheConvention(t *testing.T) {
	tools := []string{"rollout", "smoke", "shadow-report", "review", "render"}
	bin := t.TempDir()
	args := []string{"build", "-o", bin + "/"}
	for _, tool := range tools {
		args = append(args, "./cmd/"+tool)
	}
	build := exec.Command("go", args...)
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	helps := map[string][]string{ // help name → command line
		"rollout": {"rollout", "-h"}, "rollout check": {"rollout", "check", "-h"}, "rollout advance": {"rollout", "advance", "-h"},
		"rollout rollback": {"rollout", "rollback", "-h"}, "rollout status": {"rollout", "status", "-h"},
		"smoke": {"smoke", "-h"}, "shadow-report": {"shadow-report", "--help"}, "review": {"review", "-h"}, "render": {"render", "-h"},
	}
	// Old names of things that have one name now.
	retired := []string{"wait-timeout", "confidence"}
	for name, line := range helps {
		cmd := exec.Command(filepath.Join(bin, line[0]), line[1:]...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Errorf("%s: %v, stderr %q", strings.Join(line, " "), err, stderr.String())
		}
		for _, p := range clitest.Problems(name, stdout.String()) {
			t.Errorf("%s: %s", strings.Join(line, " "), p)
		}
		for _, f := range clitest.Flags(stdout.String()) {
			if slices.Contains(retired, f) {
				t.Errorf("%s lists the retired flag -%s", name, f)
			}
		}
	}
}
