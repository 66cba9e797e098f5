package infra_test

import (
	"testing"

	"github.com/modelrollouts/modelrollouts/stacks"
)

func TestDevStackExportsItsRollout(t *testing.T) {
	_, out := deployed(t, stackConfig(t, "dev"))
	r := out.Rollout
	if r == nil {
		t.Fatal("no rollout output")
	}
	if r.Candidate != "v2" || r.Baseline != "v1" || len(r.Steps) != 5 || r.Percent != 10 || r.Step != 1 || r.Next != 25 {
		t.Errorf("rollout output %+v, want v2 against v1 at 10%% (step 1), next 25%%", *r)
	}
	if g := r.Gate; g.Alpha == nil || *g.Alpha != stacks.DefaultGateAlpha || g.MaxP99Ms == nil || *g.MaxP99Ms != stacks.DefaultMaxP99Ms {
		t.Errorf("gate output %+v, want the defaults filled in", g)
	}
}
