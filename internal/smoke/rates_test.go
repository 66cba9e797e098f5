//go:build slow

package smoke_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/labtest"
	"github.com/modelrollouts/modelrollouts/internal/measure"
	"github.com/modelrollouts/modelrollouts/internal/smoke"
)

// TestFalseAlarmAndMissRatesOverRepeatedRuns runs the whole checker, at
// its default statistics, many times against real model-echo servers:
// correct deployments (every failure is a false alarm, wanted <= alpha)
// and broken ones (every pass is a miss, wanted <= 1 - power). Each
// scenario's count must stay under the 99.9% quantile of the binomial
// count those rates allow. SMOKE_RATE_RUNS sets the runs per scenario
// (default 10); docs/smoke.md's figures come from a run with more.
func TestFalseAlarmAndMissRatesOverRepeatedRuns(t *testing.T) {
	runs := 10
	if v, err := strconv.Atoi(os.Getenv("SMOKE_RATE_RUNS")); err == nil && v > 0 {
		runs = v
	}
	canary := func(split map[string]int, served map[string]float64, errorRate float64) func(t *testing.T, seed uint64) *labtest.Lab {
		return func(t *testing.T, seed uint64) *labtest.Lab {
			vs := versions("v1", "v2")
			vs[1].ErrorRate = errorRate
			lab := labtest.NewCanary(t, vs, split, seed)
			if served != nil {
				lab.Proxy.SetWeights(served)
			}
			return lab
		}
	}
	for _, sc := range []struct {
		name   string
		broken bool
		lab    func(t *testing.T, seed uint64) *labtest.Lab
	}{
		{"correct 90/10 canary", false, canary(map[string]int{"v1": 90, "v2": 10}, nil, 0)},
		{"90/10 canary served as 85/15", true, canary(map[string]int{"v1": 90, "v2": 10}, map[string]float64{"v1": 85, "v2": 15}, 0)},
		{"1% leak to a 0% version (100/0 served as 99/1)", true, canary(map[string]int{"v1": 100, "v2": 0}, map[string]float64{"v1": 99, "v2": 1}, 0)},
		{"10% canary failing 5% of its requests", true, canary(map[string]int{"v1": 90, "v2": 10}, nil, 0.05)},
		{"10% canary failing 5%, its user-host failures answered by the ingress (no version)", true, func(t *testing.T, seed uint64) *labtest.Lab {
			lab := canary(map[string]int{"v1": 90, "v2": 10}, nil, 0.05)(t, seed)
			lab.Proxy.AnswerFailuresAtTheIngress(true)
			return lab
		}},
		{"correct 50% shadow, 2 pods per version, counted through the ingress", false, func(t *testing.T, seed uint64) *labtest.Lab {
			return labtest.NewShadow(t, labtest.Version{Name: "v1", Target: "primary", Replicas: 2},
				labtest.Version{Name: "v2", Target: "shadow", Bias: 0.5, Replicas: 2}, 50, seed)
		}},
	} {
		t.Run(sc.name, func(t *testing.T) {
			wrong := 0
			var first []string
			start := time.Now()
			for i := range runs {
				t.Run(strconv.Itoa(i), func(t *testing.T) {
					lab := sc.lab(t, uint64(1000*i+7))
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					defer cancel()
					r, err := smoke.Run(ctx, lab.Outputs, fast(), nil)
					if err != nil {
						t.Fatal(err)
					}
					if r.Pass == sc.broken {
						wrong++
						if first == nil {
							first = r.Failures()
						}
					}
				})
			}
			rate, what := smoke.DefaultParams.Alpha, "false alarms"
			if sc.broken {
				rate, what = 1-smoke.DefaultParams.Power, "misses"
			}
			// Each run is seeded (the proxy's draws and the servers'
			// request ids, so which requests fail), so the counts are the
			// same on every CI run: no chance failure.
			limit := measure.ErrorLimit(runs, rate, 0.001)
			t.Logf("%s: %s %d of %d runs (%.1f%%; allowed rate %.2g, at most %d here) in %s",
				sc.name, what, wrong, runs, 100*float64(wrong)/float64(runs), rate, limit, time.Since(start).Round(time.Second))
			if wrong > limit {
				t.Errorf("%s: %s %d of %d, more than %d; first: %v", sc.name, what, wrong, runs, limit, first)
			}
			fmt.Fprintf(os.Stderr, "RATE\t%s\t%s\t%d/%d\n", sc.name, what, wrong, runs)
		})
	}
}
