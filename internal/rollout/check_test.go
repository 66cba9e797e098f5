package rollout

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/modelrollouts/modelrollouts/internal/gate"
	"github.com/modelrollouts/modelrollouts/internal/measure"
	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
	"github.com/modelrollouts/modelrollouts/stacks"
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

// The split check's false-alarm rate is SplitAlpha, computed exactly from
// the binomial at the planned size, and it sees a share SplitMargin off
// with the stated power; it says so in the report.
func TestSplitCheckKeepsItsAlphaAndPower(t *testing.T) {
	const power = 0.95
	for _, shares := range [][]float64{{0.9, 0.1}, {0.75, 0.25}, {0.5, 0.5}, {0.5, 0.3, 0.2}, {1, 0}} {
		pl := planSplit(shares, power)
		falseAlarm := 0.0
		for _, p := range shares {
			if p > 0 && p < 1 {
				falseAlarm += measure.RejectProb(pl.requests, p, p, pl.testAlpha)
			}
		}
		if len(shares) == 2 && shares[1] > 0 {
			falseAlarm /= 2 // complementary shares reject together: one test
		}
		if falseAlarm > SplitAlpha {
			t.Errorf("%v: false-alarm rate %.5f at %d requests, above α %g", shares, falseAlarm, pl.requests, SplitAlpha)
		}
		for _, p := range shares {
			if p <= 0 || p >= 1 {
				if caught := 1 - math.Pow(1-splitLeak, float64(pl.requests)); caught < power {
					t.Errorf("%v: a %g leak is caught with %.3f, want %g", shares, splitLeak, caught, power)
				}
				continue
			}
			for _, off := range []float64{-SplitMargin, SplitMargin} {
				if q := p + off; q > 0 && q < 1 {
					if got := measure.RejectProb(pl.requests, p, q, pl.testAlpha); got < power {
						t.Errorf("%v: share %g read as %g is refused with %.3f, want %g", shares, p, q, got, power)
					}
				}
			}
		}
		if m := pl.method(pl.requests); !strings.Contains(m, "exact two-sided binomial") || !strings.Contains(m, "α 0.001") || !strings.Contains(m, "95% power") {
			t.Errorf("method %q does not say the test, α and power", m)
		}
	}
}

// A PR whose evidence came from a saved outputs file says how to make
// that file, so a reviewer can run the same check.
func TestThePRSaysHowToReproduceTheOutputsFile(t *testing.T) {
	s := &Step{Action: ActionAdvance, Candidate: "v2", Baseline: "v1", Steps: []int{5, 10},
		Before: map[string]int{"v1": 95, "v2": 5}, After: map[string]int{"v1": 90, "v2": 10}, Order: []string{"v1", "v2"}}
	rep := &Report{Candidate: "v2", Baseline: "v1", CandidatePercent: 5, Command: "bin/rollout check --outputs outputs.json --json",
		Result: &gate.Result{Verdict: gate.Promote}}
	body := NewPR("dev", s, rep).Body
	for _, want := range []string{
		"pulumi stack output --json --stack dev > outputs.json",
		"bin/rollout check --outputs outputs.json --json   # the gate's verdict",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the PR body lacks %q:\n%s", want, body)
		}
	}
	rep.Command = "bin/rollout check --stack dev"
	if body := NewPR("dev", s, rep).Body; strings.Contains(body, "pulumi stack output") {
		t.Errorf("a check of the stack itself needs no outputs file:\n%s", body)
	}
}

// probeOutputs are a canary's outputs whose ingress is handler.
func probeOutputs(t *testing.T, handler http.HandlerFunc) *stacks.Outputs {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	ten, ninety := 10, 90
	return &stacks.Outputs{
		Strategy: stacks.StrategyCanary, IngressURL: srv.URL, Host: "model.example.com",
		Versions: map[string]stacks.VersionOutput{"v1": {Host: "v1-model.example.com", Percent: &ninety}, "v2": {Host: "v2-model.example.com", Percent: &ten}},
		Split:    map[string]int{"v1": 90, "v2": 10},
		Rollout:  &stacks.RolloutOutput{Candidate: "v2", Baseline: "v1"},
	}
}

// The probe path in-process (the slow tier runs it against real
// model-echo processes): each version on its own host, its answers
// attributed by X-Model-Version, the budget ending inconclusive.
func TestChecksProbesEachVersionOnItsOwnHost(t *testing.T) {
	answeredBy := map[string]string{"v1-model.example.com": "v1", "v2-model.example.com": "v2"}
	var mu sync.Mutex
	check := func(o *stacks.Outputs) (*Report, error) {
		s := gate.DefaultSettings
		s.MinRequests, s.MaxRequests = 10, 20
		// Latency is real (µs-scale) timing of one handler for both
		// versions: at α 0.02 its criterion rolls back by chance up to
		// 0.5% of runs; at 1e-5, ≤ 2.5e-6. Promote needs 595 answers, so
		// 20 always end inconclusive.
		s.Alpha = 1e-5
		return Check(context.Background(), CheckOptions{Outputs: o, Settings: s, Path: "/", Concurrency: 4, SplitRequests: -1})
	}
	o := probeOutputs(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		v := answeredBy[r.Host]
		mu.Unlock()
		w.Header().Set(modelapi.HeaderModelVersion, v)
		fmt.Fprintln(w, "model", v)
	})
	rep, err := check(o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Result.Verdict != gate.Inconclusive || rep.Result.Requests != 20 || !strings.Contains(strings.Join(rep.Notes, " "), "each host was woken") {
		t.Fatalf("verdict %s after %d requests, notes %q: want inconclusive at the budget of 20, the hosts woken", rep.Result.Verdict, rep.Result.Requests, rep.Notes)
	}
	mu.Lock()
	answeredBy["v2-model.example.com"] = "v1"
	mu.Unlock()
	if _, err := check(o); err == nil || !strings.Contains(err.Error(), `v2's own host v2-model.example.com was answered by version "v1"`) {
		t.Fatalf("a misrouted tag host: %v, want an error naming it", err)
	}
}

// Each version gets the warm-up before anything is measured, uncounted:
// the stack's warmupRequests, the default when it sets none, and an
// explicit count (--warmup) over both, 0 meaning none.
func TestEachVersionIsWarmedBeforeItIsMeasured(t *testing.T) {
	var mu sync.Mutex
	got := map[string]int{}
	o := probeOutputs(t, func(w http.ResponseWriter, r *http.Request) {
		v := strings.TrimSuffix(r.Host, "-model.example.com")
		mu.Lock()
		got[v]++
		mu.Unlock()
		w.Header().Set(modelapi.HeaderModelVersion, v)
		fmt.Fprintln(w, "model", v)
	})
	stackSays := 40
	for _, tc := range []struct {
		name  string
		stack *int
		flag  *int
		want  int
	}{
		{"default", nil, nil, stacks.DefaultWarmupRequests},
		{"the stack's", &stackSays, nil, 40},
		{"the flag over the stack's", &stackSays, ptrTo(7), 7},
		{"none", &stackSays, ptrTo(0), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			clear(got)
			mu.Unlock()
			o.Rollout.Gate.WarmupRequests = tc.stack
			s := gate.DefaultSettings
			s.MinRequests, s.MaxRequests, s.Alpha = 10, 10, 1e-5
			rep, err := Check(context.Background(), CheckOptions{Outputs: o, Settings: s, Path: "/", Concurrency: 4, SplitRequests: -1, WarmupRequests: tc.flag})
			if err != nil {
				t.Fatal(err)
			}
			// One wake-up request each, the warm-up, then the 10 measured.
			want := map[string]int{"v1": 1 + tc.want + 10, "v2": 1 + tc.want + 10}
			mu.Lock()
			defer mu.Unlock()
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("requests per version %v, want %v (warm-up %d)", got, want, tc.want)
			}
			if notes := strings.Join(rep.Notes, " "); !strings.Contains(notes, fmt.Sprint(tc.want)+" uncounted") && !(tc.want == 0 && strings.Contains(notes, "no warm-up")) {
				t.Errorf("notes %q do not say the warm-up of %d", notes, tc.want)
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }
