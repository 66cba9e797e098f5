package rollout_test

import (
	"context"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/gate"
	"github.com/modelrollouts/modelrollouts/internal/labtest"
	"github.com/modelrollouts/modelrollouts/internal/rollout"
)

// benchScenarios are the candidates the figures in docs/rollout.md are
// measured on: model-echo processes whose LATENCY_MS and ERROR_RATE make
// the candidate equal to the baseline, twice as slow, failing 3% or 0.5%
// of requests against a clean baseline, or both versions 1 s slow (a slow
// platform: both break the p99 SLO). The baseline answers in 20 ms unless
// the scenario says otherwise.
var benchScenarios = []struct {
	name      string
	candidate labtest.ProcessVersion
	baseline  *labtest.ProcessVersion
	want      gate.Verdict
}{
	{"equal", labtest.ProcessVersion{LatencyMS: 20}, nil, gate.Promote},
	{"2x-slower", labtest.ProcessVersion{LatencyMS: 40}, nil, gate.Rollback},
	{"3pct-failing", labtest.ProcessVersion{LatencyMS: 20, ErrorRate: 0.03}, nil, gate.Rollback},
	{"0.5pct-failing-over-clean", labtest.ProcessVersion{LatencyMS: 20, ErrorRate: 0.005}, nil, gate.Rollback},
	{"both-1s-slow", labtest.ProcessVersion{LatencyMS: 1000}, &labtest.ProcessVersion{LatencyMS: 1000}, gate.Inconclusive},
}

// BenchmarkGate runs the whole gate at default settings, one judgement per
// iteration, against real model-echo processes on 127.0.0.1, and reports
// the requests per version it needed, the fixed-N test's size at the same
// error rates, and how often each verdict came out: on "equal" the
// rollback share is the false-alarm rate (want ≤ alpha), on the others the
// rollback share is the power (want ≥ 95%).
//
//	go test -run '^$' -bench BenchmarkGate -benchtime 100x ./internal/rollout/
func BenchmarkGate(b *testing.B) {
	for _, sc := range benchScenarios {
		b.Run(sc.name, func(b *testing.B) {
			cand := sc.candidate
			cand.Name = "v2"
			base := labtest.ProcessVersion{LatencyMS: 20}
			if sc.baseline != nil {
				base = *sc.baseline
			}
			base.Name = "v1"
			lab := labtest.StartProcesses(b, []labtest.ProcessVersion{base, cand},
				map[string]int{"v1": 90, "v2": 10}, "v2", "v1")
			opts := rollout.CheckOptions{
				Outputs: lab.Outputs, Source: "bench", Settings: rollout.SettingsFromOutputs(lab.Outputs),
				Path: "/", Concurrency: 16, RequestTimeout: 10 * time.Second, SplitRequests: -1,
			}
			var requests, fixedN, runs float64
			verdicts := map[gate.Verdict]float64{}
			for b.Loop() {
				rep, err := rollout.Check(context.Background(), opts)
				if err != nil {
					b.Fatal(err)
				}
				runs++
				requests += float64(rep.Result.Requests)
				fixedN = float64(rep.Result.FixedN)
				verdicts[rep.Result.Verdict]++
			}
			mean := requests / runs
			b.ReportMetric(mean, "requests/verdict")
			b.ReportMetric(fixedN, "fixedN")
			b.ReportMetric(mean/fixedN, "share-of-fixedN")
			b.ReportMetric(verdicts[gate.Promote]/runs, "promote-share")
			b.ReportMetric(verdicts[gate.Rollback]/runs, "rollback-share")
			b.ReportMetric(verdicts[gate.Inconclusive]/runs, "inconclusive-share")
		})
	}
}
