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
// candidate, a candidate exactly at the SLO limit (1% failing) or slower
// by exactly the latency tolerance (+25%) (the promote share must stay
// ≤ 1-power), and equal versions both failing at half the error budget
// (rollback share ≤ alpha), with the requests each needed against the
// fixed-N test at the same error rates.
//
//	go test -run '^$' -bench BenchmarkGateSimulated -benchtime 2000x ./internal/gate/
func BenchmarkGateSimulated(b *testing.B) {
	base := simVersion{median: 20 * time.Millisecond, sigma: 0.3}
	for _, sc := range []struct {
		name string
		cand simVersion
	}{
		{"equal", base},
		// Both versions failing at half the budget: the SLO tests' "good"
		// point, where a rollback is a false alarm too.
		{"equal-both-0.5pct-failing", simVersion{median: 20 * time.Millisecond, sigma: 0.3, errorRate: 0.005}},
		{"2x-slower", simVersion{median: 40 * time.Millisecond, sigma: 0.3}},
		{"3pct-failing", simVersion{median: 20 * time.Millisecond, sigma: 0.3, errorRate: 0.03}},
		{"at-slo-limit-1pct-failing", simVersion{median: 20 * time.Millisecond, sigma: 0.3, errorRate: 0.01}},
		// Slower by exactly the tolerance: the promote share must stay
		// ≤ 1-power here too.
		{"at-latency-limit-25pct-slower", simVersion{median: 25 * time.Millisecond, sigma: 0.3}},
	} {
		b.Run(sc.name, func(b *testing.B) {
			var requests, fixedN, runs float64
			verdicts := map[Verdict]float64{}
			seed := uint64(0)
			for b.Loop() {
				seed++
				b0 := base
				if sc.name == "equal-both-0.5pct-failing" {
					b0 = sc.cand
				}
				r, err := Run(context.Background(), DefaultSettings, "v2", "v1", newSim(seed, sc.cand, b0), nil)
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
