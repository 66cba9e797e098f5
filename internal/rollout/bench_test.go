package rollout_test

import (
	"context"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/gate"
	"github.com/modelrollouts/modelrollouts/internal/labtest"
	"github.com/modelrollouts/modelrollouts/internal/rollout"
)

// benchScenarios are the candidates the README's figures are measured on:
// model-echo processes whose LATENCY_MS and ERROR_RATE make the candidate
// equal to the baseline, twice as slow, or failing 3% of requests.
var benchScenarios = []struct {
	name      string
	candidate labtest.ProcessVersion
	want      gate.Verdict
}{
	{"equal", labtest.ProcessVersion{LatencyMS: 20}, gate.Promote},
	{"2x-slower", labtest.ProcessVersion{LatencyMS: 40}, gate.Rollback},
	{"3pct-failing", labtest.ProcessVersion{LatencyMS: 20, ErrorRate: 0.03}, gate.Rollback},
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
			lab := labtest.StartProcesses(b, []labtest.ProcessVersion{{Name: "v1", LatencyMS: 20}, cand},
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
