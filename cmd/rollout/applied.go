package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/modelrollouts/modelrollouts/internal/rollout"
	"github.com/modelrollouts/modelrollouts/stacks"
	"github.com/modelrollouts/modelrollouts/stacks/stackoutputs"
)

// refuseUnapplied is check's first step when the stack is named (--stack):
// the deployed outputs must be at the step Pulumi.<stack>.yaml names, or
// the gate says why it does not judge and exits inconclusive (3), so the
// rollout workflow opens no PR on top of a step that is not applied yet.
// With only --outputs there is no file to compare with.
func refuseUnapplied(src stackoutputs.Source, o *stacks.Outputs, stdout io.Writer, asJSON bool) (refused bool, err error) {
	if src.Stack == "" {
		return false, nil
	}
	dir := src.Cwd
	if dir == "" {
		if dir, err = stacks.FindProjectDir("."); err != nil {
			return false, err
		}
	}
	path := filepath.Join(dir, "Pulumi."+src.Stack+".yaml")
	cfg, err := stacks.LoadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("--stack %s: no %s to compare the deployed step with", src.Stack, path)
	}
	if err != nil {
		return false, err
	}
	n := rollout.CompareApplied(filepath.Base(path), cfg, o)
	if n == nil {
		return false, nil
	}
	if asJSON {
		return true, writeJSON(stdout, map[string]any{"verdict": "not-applied", "reason": n.Error(), "notApplied": n})
	}
	_, err = fmt.Fprintf(stdout, "verdict: NOT APPLIED (exit %d): %s\n", rollout.ExitInconclusive, n.Error())
	return true, err
}
