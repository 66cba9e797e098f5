package rollout

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/modelrollouts/modelrollouts/internal/stackedit"
	"github.com/modelrollouts/modelrollouts/stacks"
)

// stackFileAt is Pulumi.dev.yaml with v2 at percent (v1 the rest), as
// `pulumi config set --path` writes it (numbers typed).
func stackFileAt(t *testing.T, percent int) *stacks.Config {
	t.Helper()
	data := []byte(strings.NewReplacer("V1", strconv.Itoa(100-percent), "V2", strconv.Itoa(percent)).Replace(`config:
  modelrollouts:strategy: canary
  modelrollouts:cluster:
    type: kind
  modelrollouts:canary:
    versions:
      - name: v1
        target: model v1
        percent: V1
      - name: v2
        target: model v2
        percent: V2
    rollout:
      candidate: v2
`))
	cfg, err := stackedit.LoadBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func deployedAt(percent int) *stacks.Outputs {
	return &stacks.Outputs{
		Strategy: stacks.StrategyCanary,
		Split:    map[string]int{"v1": 100 - percent, "v2": percent},
		Rollout:  &stacks.RolloutOutput{Candidate: "v2", Baseline: "v1"},
	}
}

func TestADeployedStackAtTheFilesStepIsApplied(t *testing.T) {
	if n := CompareApplied("Pulumi.dev.yaml", stackFileAt(t, 10), deployedAt(10)); n != nil {
		t.Fatalf("the same split is reported as not applied: %v", n)
	}
}

func TestAMergedStepNotYetAppliedNamesEachDifferingVersion(t *testing.T) {
	n := CompareApplied("Pulumi.dev.yaml", stackFileAt(t, 25), deployedAt(10))
	if n == nil {
		t.Fatal("a file at 25% against a cluster at 10% is reported as applied")
	}
	var err error = n
	var target *NotApplied
	if !errors.As(err, &target) {
		t.Fatal("NotApplied is not an error a caller can recognise")
	}
	msg := n.Error()
	for _, want := range []string{
		"the deployed stack is not at the step Pulumi.dev.yaml names",
		"v1 deployed at 90%, the file says 75%",
		"v2 deployed at 10%, the file says 25%",
		"pulumi up", "does not judge now",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the message lacks %q: %s", want, msg)
		}
	}
	if n.Deployed["v2"] != 10 || n.InFile["v2"] != 25 {
		t.Errorf("deployed %v, in file %v", n.Deployed, n.InFile)
	}
}

func TestAVersionAddedOrRemovedOrANewCandidateIsNotApplied(t *testing.T) {
	added := deployedAt(10)
	delete(added.Split, "v2")
	added.Split["v1"] = 100
	removed := deployedAt(10)
	removed.Split["v0"] = 0
	candidate := deployedAt(10)
	candidate.Rollout.Candidate = "v1"
	for name, tc := range map[string]struct {
		deployed *stacks.Outputs
		want     string
	}{
		"a version the file adds":       {added, "v2 is not deployed, the file gives it 10%"},
		"a version the file removed":    {removed, "v0 is deployed at 0% but no longer in the file"},
		"another candidate in the file": {candidate, "the deployed rollout candidate is v1, the file's is v2"},
	} {
		n := CompareApplied("Pulumi.dev.yaml", stackFileAt(t, 10), tc.deployed)
		if n == nil || !strings.Contains(n.Error(), tc.want) {
			t.Errorf("%s: got %v, want a difference %q", name, n, tc.want)
		}
	}
}

func TestAStackFileThatIsNotACanaryHasNoStepToCompare(t *testing.T) {
	cfg := &stacks.Config{Strategy: stacks.StrategyShadow}
	if n := CompareApplied("Pulumi.shadow.yaml", cfg, deployedAt(10)); n != nil {
		t.Fatalf("a shadow stack is reported as not applied: %v", n)
	}
}
