//go:build slow

package gate

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/measure"
)

// The gate's error rates over repeated whole judgements at the default
// settings (α 0.02, power 0.95), on simulated versions: log-normal latency
// and Bernoulli failures, a fresh seed per run. A rate fails the test only
// when the runs show it beyond its bound with p < 0.001 (a one-sided exact
// binomial test), so the test is not flaky and still catches a gate whose
// false alarms or misses are inflated. docs/rollout.md's figures come from the
// benchmarks (more runs); this keeps them true on every `make test`.
func TestGateErrorRatesOverRepeatedRuns(t *testing.T) {
	s := DefaultSettings
	base := simVersion{median: 20 * time.Millisecond, sigma: 0.3}
	with := func(mutate func(*simVersion)) simVersion {
		v := base
		mutate(&v)
		return v
	}
	halfBudget := with(func(v *simVersion) { v.errorRate = 0.005 })
	for _, sc := range []struct {
		name       string
		cand, base simVersion
		runs       int
		// bad is the verdict that is an error here, at most bound of runs.
		bad   Verdict
		bound float64
	}{
		// False alarms: a candidate as good as its baseline rolled back.
		// Runs that go to the budget (both failing 0.5%, the errors
		// limit: ~9,000 requests per version) are few, to keep the slow
		// tier in its time; docs/rollout.md has the benchmarks' counts.
		{"equal versions", base, base, 60, Rollback, s.Alpha},
		{"equal versions both failing 0.5% (the SLO's good point)", halfBudget, halfBudget, 8, Rollback, s.Alpha},
		// Misses: a bad candidate promoted (power: rolled back, or at
		// worst not promoted).
		{"2x slower", with(func(v *simVersion) { v.median *= 2 }), base, 200, Promote, 1 - s.Power},
		{"3% failing", with(func(v *simVersion) { v.errorRate = 0.03 }), base, 100, Promote, 1 - s.Power},
		{"failing at the SLO's limit (1%)", with(func(v *simVersion) { v.errorRate = 0.01 }), base, 30, Promote, 1 - s.Power},
		{"slower by the tolerance (+25%)", with(func(v *simVersion) { v.median = v.median * 5 / 4 }), base, 60, Promote, 1 - s.Power},
		{"failing 0.2 points over a clean baseline (the errors limit)", with(func(v *simVersion) { v.errorRate = 0.002 }), base, 12, Promote, 1 - s.Power},
		{"failing 0.5% over a clean baseline", with(func(v *simVersion) { v.errorRate = 0.005 }), base, 20, Promote, 1 - s.Power},
	} {
		t.Run(sc.name, func(t *testing.T) {
			counts := map[Verdict]int{}
			requests := 0
			for seed := range sc.runs {
				r, err := Run(context.Background(), s, "v2", "v1", newSim(uint64(1000+seed), sc.cand, sc.base), nil)
				if err != nil {
					t.Fatal(err)
				}
				counts[r.Verdict]++
				requests += r.Requests
			}
			bad := counts[sc.bad]
			// P(at least bad errors in runs | the rate is at its bound).
			p := 1 - measure.BinomCDF(bad-1, sc.runs, sc.bound)
			summary := fmt.Sprintf("%d runs: %d promote, %d rollback, %d inconclusive; %.0f requests per version on average",
				sc.runs, counts[Promote], counts[Rollback], counts[Inconclusive], float64(requests)/float64(sc.runs))
			t.Log(summary)
			if p < 0.001 {
				t.Errorf("%s: %d %s verdicts, more than a rate of %.3g allows (p = %.2g)", summary, bad, sc.bad, sc.bound, p)
			}
		})
	}
}
