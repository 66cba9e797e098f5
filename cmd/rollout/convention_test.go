package main

import (
	"strings"
	"testing"

	"github.com/modelrollouts/modelrollouts/internal/cli/clitest"
	"github.com/modelrollouts/modelrollouts/internal/rollout"
)

// `rollout -h` and each command's -h print the convention's help on
// stdout and exit 0.
func TestEveryCommandsHelpFollowsTheConvention(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-h"}, {"--help"}, {"check", "-h"}, {"advance", "-h"}, {"rollback", "--help"}, {"status", "-h"}} {
		code, out, errOut := rollout2(t, args...)
		if code != 0 || errOut != "" {
			t.Errorf("%q: exit %d, stderr %q", args, code, errOut)
		}
		name := "rollout"
		if args[0] != "-h" && args[0] != "--help" {
			name += " " + args[0]
		}
		if p := clitest.Problems(name, out); len(p) > 0 {
			t.Errorf("%q breaks the convention: %q\n%s", args, p, out)
		}
	}
	_, out, _ := rollout2(t, "check", "-h")
	for _, want := range []string{"-wake-timeout", "-warmup", "-alpha", "-json", "-stack NAME", "  3  inconclusive"} {
		if !strings.Contains(out, want) {
			t.Errorf("check -h lacks %q", want)
		}
	}
}

// A bad flag is named on stderr with the way to the help, exit 2.
func TestABadFlagPointsAtTheHelp(t *testing.T) {
	t.Parallel()
	code, out, errOut := rollout2(t, "check", "--bogus")
	if code != rollout.ExitError || out != "" || !strings.Contains(errOut, "rollout check: flag provided but not defined: -bogus") ||
		!strings.Contains(errOut, "run `rollout check -h`") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// A warm-up out of range is refused by name, before any stack is read.
func TestAWarmupOutOfRangeIsRefusedByName(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"-5", "100001"} {
		code, out, errOut := rollout2(t, "check", "--stack", "dev", "--warmup", v)
		if code != rollout.ExitError || out != "" || !strings.Contains(errOut, "--warmup "+v+": want 0 (no warm-up) to 100000 requests per version") {
			t.Errorf("--warmup %s: exit %d, stdout %q, stderr %q", v, code, out, errOut)
		}
	}
}
