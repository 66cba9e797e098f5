package gate

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"
)

var simBase = simVersion{median: 20 * time.Millisecond, sigma: 0.1}

func runSim(t *testing.T, s Settings, cand, base simVersion, seed uint64) *Result {
	t.Helper()
	r, err := Run(context.Background(), s, "v2", "v1", newSim(seed, cand, base), nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func criterion(r *Result, name string) CriterionResult {
	for _, c := range r.Criteria {
		if c.Name == name {
			return c
		}
	}
	return CriterionResult{}
}

func TestAnEqualCandidateIsPromotedWithFewerRequestsThanAFixedTest(t *testing.T) {
	t.Parallel()
	r := runSim(t, DefaultSettings, simBase, simBase, 1)
	if r.Verdict != Promote {
		t.Fatalf("verdict %s (%s), want promote", r.Verdict, r.Reason)
	}
	if r.Requests > r.FixedN*6/10 {
		t.Errorf("used %d requests per version, want at most 60%% of the fixed N %d", r.Requests, r.FixedN)
	}
	for _, c := range r.Criteria {
		if c.State != Promote || c.DecidedAt == 0 {
			t.Errorf("%s: %s at %d, want met", c.Name, c.State, c.DecidedAt)
		}
	}
	if cand := r.Versions[1]; cand.Verdict != Promote || cand.LatencyDiff == nil || cand.ErrorDiff == nil {
		t.Errorf("candidate row %+v, want promote with both differences", cand)
	}
	// The table's success bound is at the level the SLO was met with: it
	// does not dip under the SLO the verdict says is met.
	if lo := r.Versions[1].SuccessRate.Lo; lo < DefaultSettings.MinSuccessRate {
		t.Errorf("success-rate lower bound %.4f under the met SLO %.2f", lo, DefaultSettings.MinSuccessRate)
	}
}

func TestATwiceAsSlowCandidateIsRolledBackOnLatency(t *testing.T) {
	t.Parallel()
	slow := simBase
	slow.median *= 2
	r := runSim(t, DefaultSettings, slow, simBase, 2)
	if r.Verdict != Rollback || criterion(r, CritLatency).State != Rollback {
		t.Fatalf("verdict %s (%s), want rollback on latency", r.Verdict, r.Reason)
	}
	if d := r.Versions[1].LatencyDiff; d.Estimate < 0.8 || d.Lo < 0.25 {
		t.Errorf("latency difference %+v, want about +100%% with its bound above +25%%", *d)
	}
	if r.Requests != DefaultSettings.MinRequests {
		t.Errorf("used %d requests, want the minimum %d: the evidence is overwhelming", r.Requests, DefaultSettings.MinRequests)
	}
}

func TestACandidateFailing3PercentIsRolledBack(t *testing.T) {
	t.Parallel()
	failing := simBase
	failing.errorRate = 0.03
	r := runSim(t, DefaultSettings, failing, simBase, 3)
	if r.Verdict != Rollback {
		t.Fatalf("verdict %s (%s), want rollback", r.Verdict, r.Reason)
	}
	if c := criterion(r, CritSuccess); c.State != Rollback {
		t.Errorf("success SLO %s (%s), want broken", c.State, c.Detail)
	}
}

func TestAKayentaRollbackNeedsTheShiftAboveTheTolerance(t *testing.T) {
	t.Parallel()
	// 10% slower is significant, but within the 25% tolerance: promote.
	slower := simBase
	slower.median = 22 * time.Millisecond
	r := runSim(t, DefaultSettings, slower, simBase, 4)
	if c := criterion(r, CritLatency); c.State != Promote {
		t.Fatalf("latency %s (%s), want met: 10%% slower is inside the tolerance", c.State, c.Detail)
	}
}

func TestNoVerdictBeforeMinRequests(t *testing.T) {
	t.Parallel()
	j := NewJudge(DefaultSettings, "v2", "v1")
	sim := newSim(5, simVersion{median: 80 * time.Millisecond, sigma: 0.1, errorRate: 0.5}, simBase)
	c, b, _ := sim.Sample(context.Background(), DefaultSettings.MinRequests-1)
	j.Add(c, b)
	if r := j.Judge(false); r.Verdict != Undecided {
		t.Fatalf("verdict %s after %d requests, want none before %d", r.Verdict, r.Requests, DefaultSettings.MinRequests)
	}
}

func TestAnInconclusiveRunSaysHowManyMoreRequestsWouldDecide(t *testing.T) {
	t.Parallel()
	s := DefaultSettings
	s.MaxRequests = 200
	// 0.2% failures: within the SLO, but 200 requests cannot show it.
	cand := simBase
	cand.errorRate = 0.002
	r := runSim(t, s, cand, simBase, 6)
	if r.Verdict != Inconclusive {
		t.Fatalf("verdict %s (%s), want inconclusive at 200 requests", r.Verdict, r.Reason)
	}
	if r.NeedMore <= 0 || !strings.Contains(r.Reason, "more requests per version would decide") {
		t.Fatalf("need more %d, reason %q: want a number", r.NeedMore, r.Reason)
	}
	// Going on for that many more decides (the projection is an estimate;
	// allow it to be short by half).
	s.MaxRequests = 200 + r.NeedMore*3/2
	if r2 := runSim(t, s, cand, simBase, 6); r2.Verdict == Inconclusive {
		t.Fatalf("with %d more requests still inconclusive: %s", r.NeedMore*3/2, r2.Reason)
	}
}

func TestTheBudgetDefaultsToTheFixedN(t *testing.T) {
	t.Parallel()
	j := NewJudge(DefaultSettings, "v2", "v1")
	if r := j.Judge(false); r.MaxRequests != r.FixedN || r.FixedN < 1000 {
		t.Fatalf("budget %d, fixed N %d: want the budget to be the fixed N", r.MaxRequests, r.FixedN)
	}
}

func TestSettingsCheckNamesTheSetting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mutate func(*Settings)
		want   string
	}{
		{func(s *Settings) { s.Alpha = 0 }, "alpha"},
		{func(s *Settings) { s.Power = 1 }, "power"},
		{func(s *Settings) { s.MinSuccessRate = 1 }, "minSuccessRate"},
		{func(s *Settings) { s.MaxLatencyIncrease = 0 }, "maxLatencyIncrease"},
		{func(s *Settings) { s.MinRequests = 5 }, "minRequests"},
		{func(s *Settings) { s.MaxP99 = 0 }, "maxP99"},
		{func(s *Settings) { s.MaxRequests = 20 }, "maxRequests"},
	} {
		s := DefaultSettings
		tc.mutate(&s)
		if err := s.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Check() = %v, want an error naming %s", err, tc.want)
		}
	}
	if err := DefaultSettings.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestHistogramArmPlacesAnswersInTheirBuckets(t *testing.T) {
	t.Parallel()
	// 90 answers ≤ 0.1 s, 8 in (0.1, 0.5], 2 above 0.5 s.
	a := HistogramArm("v1", 100, 1, []Bucket{{0.1, 90}, {0.5, 98}, {1, 100}, {math.Inf(1), 100}}, 500*time.Millisecond)
	if a.Slow != 2 {
		t.Errorf("slow %d, want the 2 answers above 0.5 s", a.Slow)
	}
	s := newSample(a.latency)
	if s.total() != 100 {
		t.Fatalf("latency weight %v, want 100", s.total())
	}
	if p50 := a.quantile(s, 0.5); p50 > 100*time.Millisecond {
		t.Errorf("p50 %s, want within the first bucket", p50)
	}
}
