package gate

import (
	"context"
	"testing"
	"time"
)

// BenchmarkGateSimulated judges simulated versions (log-normal latency,
// Bernoulli failures) many times, for error rates tighter than real
// processes allow in minutes: false alarms on equal versions (rollback
// share, want ≤ alpha), power on a twice-as-slow and a 3%-failing
// candidate, a candidate exactly at a criterion's limit (1% failing, the
// SLO; +25% latency; failing 0.2 points more than a clean baseline, the
// errors margin: the promote share must stay ≤ 1-power), a candidate
// failing 0.5% or 0.9% against a clean baseline (never promoted, rolled
// back once the sample shows it), equal versions both failing at half the
// error budget (rollback share ≤ alpha) and both too slow for the p99 SLO
// (inconclusive: a platform problem), with the requests each needed
// against the fixed-N test at the same error rates.
//
//	go test -run '^$' -bench BenchmarkGateSimulated -benchtime 2000x ./internal/gate/
func BenchmarkGateSimulated(b *testing.B) {
	base := simVersion{median: 20 * time.Millisecond, sigma: 0.3}
	with := func(mutate func(*simVersion)) simVersion {
		v := base
		mutate(&v)
		return v
	}
	halfBudget := with(func(v *simVersion) { v.errorRate = 0.005 })
	slow := with(func(v *simVersion) { v.median = time.Second })
	for _, sc := range []struct {
		name       string
		cand, base simVersion
	}{
		{"equal", base, base},
		// Both versions failing at half the budget: the SLO tests' "good"
		// point, where a rollback is a false alarm too.
		{"equal-both-0.5pct-failing", halfBudget, halfBudget},
		{"2x-slower", with(func(v *simVersion) { v.median *= 2 }), base},
		{"3pct-failing", with(func(v *simVersion) { v.errorRate = 0.03 }), base},
		{"at-slo-limit-1pct-failing", with(func(v *simVersion) { v.errorRate = 0.01 }), base},
		// Slower by exactly the tolerance: the promote share must stay
		// ≤ 1-power here too.
		{"at-latency-limit-25pct-slower", with(func(v *simVersion) { v.median = v.median * 5 / 4 }), base},
		// Failing 0.2 points more than a clean baseline: the errors
		// criterion's limit (maxErrorIncrease).
		{"at-error-limit-0.2pct-failing-over-clean", with(func(v *simVersion) { v.errorRate = 0.002 }), base},
		{"0.5pct-failing-over-clean", with(func(v *simVersion) { v.errorRate = 0.005 }), base},
		{"0.9pct-failing-over-clean", with(func(v *simVersion) { v.errorRate = 0.009 }), base},
		{"both-1s-slow", slow, slow},
	} {
		b.Run(sc.name, func(b *testing.B) {
			var requests, fixedN, runs float64
			verdicts := map[Verdict]float64{}
			seed := uint64(0)
			for b.Loop() {
				seed++
				r, err := Run(context.Background(), DefaultSettings, "v2", "v1", newSim(seed, sc.cand, sc.base), nil)
				if err != nil {
					b.Fatal(err)
				}
				runs++
				requests += float64(r.Requests)
				fixedN = float64(r.FixedN)
				verdicts[r.Verdict]++
			}
			b.ReportMetric(requests/runs, "requests/verdict")
			b.ReportMetric(fixedN, "fixedN")
			b.ReportMetric(requests/runs/fixedN, "share-of-fixedN")
			b.ReportMetric(verdicts[Promote]/runs, "promote-share")
			b.ReportMetric(verdicts[Rollback]/runs, "rollback-share")
			b.ReportMetric(verdicts[Inconclusive]/runs, "inconclusive-share")
		})
	}
}
