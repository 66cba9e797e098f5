package rollout

import (
	"strings"
	"testing"

	"github.com/modelrollouts/modelrollouts/internal/gate"
)

// Failures no version claims may be the missing answers of a version
// short of its share, but cannot excuse a version with too many.
func TestSplitFitsWithUnclaimedFailures(t *testing.T) {
	shares := []float64{0.9, 0.1}
	for _, tc := range []struct {
		name   string
		counts []int
		extra  int
		fits   bool
	}{
		{"the candidate's missing answers failed in the mesh", []int{900, 40}, 60, true},
		{"too few failures to make up the shortfall", []int{900, 40}, 5, false},
		{"a version with too many answers is not excused", []int{700, 300}, 50, false},
		{"no failures, a right split", []int{900, 100}, 0, true},
	} {
		if got := splitFitsWith(tc.counts, shares, tc.extra, 0.02); got != tc.fits {
			t.Errorf("%s: splitFitsWith(%v, +%d) = %v, want %v", tc.name, tc.counts, tc.extra, got, tc.fits)
		}
	}
}

// A PR whose evidence came from a saved outputs file says how to make
// that file, so a reviewer can run the same check.
func TestThePRSaysHowToReproduceTheOutputsFile(t *testing.T) {
	s := &Step{Action: ActionAdvance, Candidate: "v2", Baseline: "v1", Steps: []int{5, 10},
		Before: map[string]int{"v1": 95, "v2": 5}, After: map[string]int{"v1": 90, "v2": 10}, Order: []string{"v1", "v2"}}
	rep := &Report{Candidate: "v2", Baseline: "v1", CandidatePercent: 5, Command: "go run ./cmd/rollout check --outputs outputs.json --json",
		Result: &gate.Result{Verdict: gate.Promote}}
	body := NewPR("dev", s, rep).Body
	for _, want := range []string{
		"pulumi stack output --json --stack dev > outputs.json",
		"go run ./cmd/rollout check --outputs outputs.json --json   # the gate's verdict",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the PR body lacks %q:\n%s", want, body)
		}
	}
	rep.Command = "go run ./cmd/rollout check --stack dev"
	if body := NewPR("dev", s, rep).Body; strings.Contains(body, "pulumi stack output") {
		t.Errorf("a check of the stack itself needs no outputs file:\n%s", body)
	}
}
