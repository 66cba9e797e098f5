package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelrollouts/modelrollouts/internal/rollout"
)

// `rollout advance --stack dev` with no --evidence moved the candidate a
// step, exited 0 and said nothing on stderr: three runs took v2 from 10%
// to 100%. Without a gate report both edits now refuse, leave the file
// alone and say how to get one.
func TestAdvanceAndRollbackRefuseToWriteWithoutEvidence(t *testing.T) {
	t.Parallel()
	for _, action := range []string{"advance", "rollback"} {
		dir, path := copyDevStack(t)
		before, _ := os.ReadFile(path)
		code, out, errOut := rollout2(t, action, "--stack", "dev", "--cwd", dir)
		if code != rollout.ExitError || out != "" {
			t.Errorf("%s without evidence: exit %d, stdout %q; want 2 and nothing", action, code, out)
		}
		for _, want := range []string{"--evidence", "rollout check --stack NAME --json > verdict.json", "--no-evidence"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("%s: stderr %q lacks %q", action, errOut, want)
			}
		}
		if after, _ := os.ReadFile(path); string(after) != string(before) {
			t.Errorf("%s without evidence edited the stack file", action)
		}
		if code, _, _ := rollout2(t, action, "--stack", "dev", "--cwd", dir, "--no-evidence", "--evidence", "v.json"); code != rollout.ExitError {
			t.Errorf("%s with --evidence and --no-evidence: exit %d, want 2", action, code)
		}
	}
}

// Every file a step writes is named on stderr; a dry run says the stack
// file was left as it was.
func TestAStepSaysOnStderrWhichFilesItWrote(t *testing.T) {
	t.Parallel()
	dir, path := copyDevStack(t)
	title := filepath.Join(t.TempDir(), "title.txt")
	code, out, errOut := rollout2(t, "advance", "--stack", "dev", "--cwd", dir, "--no-evidence", "--dry-run", "--title-file", title)
	if code != 0 || !strings.Contains(out, "v2 10% → 25%") {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "dry run: "+path+" left unchanged (would set v2 10% → 25%)") || !strings.Contains(errOut, "wrote "+title) {
		t.Errorf("dry run stderr:\n%s", errOut)
	}
	code, _, errOut = rollout2(t, "advance", "--stack", "dev", "--cwd", dir, "--no-evidence")
	if code != 0 || !strings.Contains(errOut, "rollout advance: wrote "+path+" (v2 10% → 25%; commit it in a PR") {
		t.Errorf("advance: exit %d, stderr:\n%s", code, errOut)
	}
}
