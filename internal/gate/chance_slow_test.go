//go:build slow

package gate

import (
	"math"
	"testing"
)

// The real-process tests of cmd/rollout (slow tier) expect verdicts on
// candidates whose failures model-echo draws at random (ERROR_RATE), at
// α 1e-5 (their noAlarm). Their chance of a wrong verdict from those
// draws is computed here exactly, by dynamic programming over the
// candidate's failure count at the gate's looks (baseline clean), so the
// figures their comments cite stay true when the gate changes.
func TestTheRealProcessVerdictsFailByChanceRarely(t *testing.T) {
	s := DefaultSettings
	s.Alpha = 1e-5
	budget := NewJudge(s, "c", "b").FixedN()
	for _, sc := range []struct {
		name string
		fail func(i int) float64 // chance request i fails
	}{
		{"3% failing (TestCheckRollsBackACandidateFailing3Percent)", func(int) float64 { return 0.03 }},
		{"5% failing (TestTheDevStackClimbsItsLadderOnePRPerStep's rollback)", func(int) float64 { return 0.05 }},
		{"one pod of two failing 10% (TestSeveralPodsPerVersion)", func(i int) float64 { return 0.1 * float64(i%2) }},
	} {
		miss := failureMissChance(s, sc.fail, budget)
		t.Logf("%s: not rolled back on failures (success SLO or errors vs baseline) with chance %.2g", sc.name, miss)
		if miss > 1e-6 {
			t.Errorf("%s: missed with chance %.2g, want ≤ 1e-6", sc.name, miss)
		}
	}
	// TestCheckRollsBackACandidateFailingHalfAPercentOverACleanBaseline:
	// 0.5% failing against none, rolled back within the budget.
	if p := 1 - rollbackChance(s, 0.005, budget); p > 1e-4 {
		t.Errorf("0.5%% failing over a clean baseline: not rolled back within %d requests with chance %.2g, want ≤ 1e-4", budget, p)
	} else {
		t.Logf("0.5%% failing over a clean baseline: not rolled back within %d requests with chance %.2g", budget, p)
	}
	// TestCheckOutOfBudgetIsInconclusiveAndSaysHowManyMore: 0.4% failing,
	// 150 requests, must not be rolled back.
	if p := rollbackChance(s, 0.004, 150); p > 1e-6 {
		t.Errorf("0.4%% failing rolled back within 150 requests with chance %.2g, want ≤ 1e-6", p)
	} else {
		t.Logf("0.4%% failing: rolled back within 150 requests with chance %.2g", p)
	}
}

// stepLooks propagates the distribution of the failure count k from n
// requests to the gate's next look and returns the new n.
func stepLooks(s Settings, mass []float64, n, budget int, fail func(int) float64) ([]float64, int) {
	step := min(LookEvery(s, n), budget-n)
	for i := range step {
		p := fail(n + i)
		next := make([]float64, len(mass)+1)
		for k, m := range mass {
			next[k] += m * (1 - p)
			next[k+1] += m * p
		}
		mass = next
	}
	return mass, n + step
}

// failureMissChance is the chance that the run does not stop with the
// success SLO or the errors criterion broken, counting as a miss
// (conservatively) any path that reaches the SLO's promote boundary first,
// or the budget.
func failureMissChance(s Settings, fail func(int) float64, budget int) float64 {
	a := s.criterionAlpha()
	t := sprt{p0: sloGoodShare * s.failureBudget(), p1: s.failureBudget()}
	up, down := math.Log(1/a), math.Log(s.beta())
	mass, n, miss := []float64{1}, 0, 0.0
	for n < budget {
		mass, n = stepLooks(s, mass, n, budget, fail)
		if n < s.MinRequests {
			continue
		}
		for k, m := range mass {
			if m == 0 {
				continue
			}
			llr := t.logLR(k, n)
			switch {
			case llr >= up, failureCounts{k, n, 0, n}.logWealthBelow(0) >= up:
				mass[k] = 0
			case llr <= down:
				miss += m
				mass[k] = 0
			}
		}
	}
	for _, m := range mass {
		miss += m
	}
	return miss
}

// rollbackChance is the chance that a candidate failing p is rolled back
// by the success SLO or the errors criterion within budget requests.
func rollbackChance(s Settings, p float64, budget int) float64 {
	a := s.criterionAlpha()
	t := sprt{p0: sloGoodShare * s.failureBudget(), p1: s.failureBudget()}
	up := math.Log(1 / a)
	mass, n, alarm := []float64{1}, 0, 0.0
	for n < budget {
		mass, n = stepLooks(s, mass, n, budget, func(int) float64 { return p })
		if n < s.MinRequests {
			continue
		}
		for k, m := range mass {
			if m != 0 && (t.logLR(k, n) >= up || failureCounts{k, n, 0, n}.logWealthBelow(0) >= up) {
				alarm += m
				mass[k] = 0
			}
		}
	}
	return alarm
}
