//go:build slow

// End-to-end runs of the smoke checker against real model-echo servers
// behind weighted and mirroring proxies (internal/labtest): seconds
// each, so they run in the slow tier (make test-slow).

package smoke_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/labtest"
	"github.com/modelrollouts/modelrollouts/internal/smoke"
)

// fast keeps the power calculation but trims the waits that only a real
// cluster needs.
func fast() smoke.Params {
	p := smoke.DefaultParams
	p.WaitTimeout = 5 * time.Second
	p.RequestTimeout = 5 * time.Second
	p.Backoff = smoke.Backoff{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond, Factor: 2}
	p.Settle = 3 * time.Second
	p.Concurrency = 16
	return p
}

func run(t *testing.T, lab *labtest.Lab, p smoke.Params) *smoke.Report {
	t.Helper()
	return runWithin(t, lab, p, 30*time.Second)
}

// runWithin is run with a deadline of its own, for slow versions.
func runWithin(t *testing.T, lab *labtest.Lab, p smoke.Params, timeout time.Duration) *smoke.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r, err := smoke.Run(ctx, lab.Outputs, p, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var buf bytes.Buffer
	r.WriteText(&buf)
	t.Log("\n" + buf.String())
	return r
}

func versions(names ...string) []labtest.Version {
	var vs []labtest.Version
	for i, n := range names {
		vs = append(vs, labtest.Version{Name: n, Target: "hello from " + n, Bias: float64(i)})
	}
	return vs
}

func rowFor(r *smoke.Report, version, of string) smoke.VersionRow {
	for _, v := range r.Versions {
		if v.Version == version && v.Of == of {
			return v
		}
	}
	return smoke.VersionRow{}
}

func failedCheck(r *smoke.Report, prefix string) bool {
	for _, c := range r.Checks {
		if strings.HasPrefix(c.Name, prefix) && !c.OK {
			return true
		}
	}
	return false
}

func TestCanaryCorrectSplitsPass(t *testing.T) {
	cases := []struct {
		name  string
		split map[string]int
	}{
		{"90/10", map[string]int{"v1": 90, "v2": 10}},
		{"50/50", map[string]int{"v1": 50, "v2": 50}},
		{"three-way 60/30/10", map[string]int{"v1": 60, "v2": 30, "v3": 10}},
		{"0% version", map[string]int{"v1": 100, "v2": 0}},
		{"single version 100%", map[string]int{"v1": 100}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var names []string
			for n := range tc.split {
				names = append(names, n)
			}
			lab := labtest.NewCanary(t, versions(sortStrings(names)...), tc.split, uint64(100+i))
			r := run(t, lab, fast())
			if !r.Pass {
				t.Fatalf("correct split %s failed: %v", tc.name, r.Failures())
			}
			if !r.Planned || r.Sent != r.N {
				t.Errorf("sent %d of N=%d (planned %v)", r.Sent, r.N, r.Planned)
			}
		})
	}
}

func TestCanaryWrongSplitsFail(t *testing.T) {
	cases := []struct {
		name      string
		split     map[string]int
		real      map[string]float64
		wantRow   string // a version whose row must fail
		wantCheck string
	}{
		{"90/10 served as 80/20", map[string]int{"v1": 90, "v2": 10}, map[string]float64{"v1": 80, "v2": 20}, "v2", ""},
		{"0% version gets 3%", map[string]int{"v1": 100, "v2": 0}, map[string]float64{"v1": 97, "v2": 3}, "v2", ""},
		{"100% sent where 0% expected", map[string]int{"v1": 0, "v2": 100}, map[string]float64{"v1": 100, "v2": 0}, "v1", ""},
		{"three-way off by 5 on one", map[string]int{"v1": 60, "v2": 30, "v3": 10}, map[string]float64{"v1": 55, "v2": 30, "v3": 15}, "v3", ""},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var names []string
			for n := range tc.split {
				names = append(names, n)
			}
			lab := labtest.NewCanary(t, versions(sortStrings(names)...), tc.split, uint64(200+i))
			lab.Proxy.SetWeights(tc.real)
			r := run(t, lab, fast())
			if r.Pass {
				t.Fatalf("wrong split %s passed", tc.name)
			}
			if row := rowFor(r, tc.wantRow, "user answers"); row.OK {
				t.Errorf("row %s passed: %+v", tc.wantRow, row)
			}
		})
	}
}

func TestCanaryTagHostWrongTargetFails(t *testing.T) {
	lab := labtest.NewCanary(t, versions("v1", "v2"), map[string]int{"v1": 50, "v2": 50}, 7)
	vo := lab.Outputs.Versions["v2"]
	vo.Target = "something else" // the stack says one thing, the server answers another
	lab.Outputs.Versions["v2"] = vo
	r := run(t, lab, fast())
	if r.Pass || !failedCheck(r, "own host of v2") || !failedCheck(r, "answers match") {
		t.Fatalf("a version answering the wrong target passed: %v", r.Failures())
	}
}

func TestWaitReportsColdStart(t *testing.T) {
	lab := labtest.NewCanary(t, versions("v1"), map[string]int{"v1": 100}, 8)
	lab.Proxy.ColdFor(300 * time.Millisecond)
	r := run(t, lab, fast())
	if !r.Pass {
		t.Fatalf("failed after a cold start: %v", r.Failures())
	}
	// The wait started at most when the proxy first turned it away, so
	// it saw at least the rest of the cold period from then: an exact
	// bound (300 ms from ColdFor failed whenever the run started over
	// ~45 ms after ColdFor, as the backoff's attempts fell). The upper
	// bound needs a 2.6 s stall to be missed.
	w := r.Wait[0]
	first, till := lab.Proxy.ColdWindow()
	if w.Attempts < 2 || first.IsZero() || w.ColdStart() < till.Sub(first) || w.ColdStart() > 3*time.Second {
		t.Errorf("cold start not seen: %+v (turned away from %s to %s)", w, first.Format(time.StampMicro), till.Format(time.StampMicro))
	}
}

func TestWaitGivesUp(t *testing.T) {
	lab := labtest.NewCanary(t, versions("v1"), map[string]int{"v1": 100}, 9)
	lab.Proxy.ColdFor(time.Hour)
	p := fast()
	p.WaitTimeout = 500 * time.Millisecond
	start := time.Now()
	r := run(t, lab, p)
	if r.Pass || !failedCheck(r, "ready") {
		t.Fatalf("a lab that never answered passed")
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("waiting took %s, want about the wait timeout", el)
	}
	if r.Sent != 0 {
		t.Errorf("sent %d requests to a lab that is not ready", r.Sent)
	}
}

func TestShadowMirrorRates(t *testing.T) {
	for i, tc := range []struct {
		name       string
		configured float64
		real       float64
		leak       float64
		pass       bool
		failRow    string
	}{
		{"mirror 0%", 0, 0, 0, true, ""},
		{"mirror 50%", 50, 0.5, 0, true, ""},
		{"mirror 100%", 100, 1, 0, true, ""},
		{"mirror 50% configured, 40% real", 50, 0.4, 0, false, "mirrored copies"},
		{"mirror 0% configured, 5% real", 0, 0.05, 0, false, "mirrored copies"},
		{"mirror 100% configured, 95% real", 100, 0.95, 0, false, "mirrored copies"},
		{"shadow leaks 5% of answers", 50, 0.5, 0.05, false, "user answers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prim := labtest.Version{Name: "v1", Target: "primary", Bias: 0}
			shad := labtest.Version{Name: "v2", Target: "shadow", Bias: 0.5, Latency: time.Millisecond}
			lab := labtest.NewShadow(t, prim, shad, tc.configured, uint64(300+i))
			lab.Proxy.SetMirror(tc.real)
			lab.Proxy.SetLeak(tc.leak)
			r := run(t, lab, fast())
			if r.Pass != tc.pass {
				t.Fatalf("pass=%v, want %v: %v", r.Pass, tc.pass, r.Failures())
			}
			if tc.pass {
				c := r.Shadow
				want := int(tc.configured / 100 * float64(r.N))
				if c == nil || c.Joined == 0 && want > 0 {
					t.Fatalf("no joined records: %+v", c)
				}
				if tc.configured == 100 && c.Joined != r.N {
					t.Errorf("mirror 100%%: joined %d of %d", c.Joined, r.N)
				}
				if c.Joined > 0 && c.Agreed != 0 {
					t.Errorf("versions with different bias agreed on %d answers", c.Agreed)
				}
				if c.Joined > 0 && c.ShadowP50 < 1 {
					t.Errorf("shadow with 1ms injected latency has p50 %.3f ms", c.ShadowP50)
				}
				return
			}
			failed := false
			for _, v := range r.Versions {
				if v.Of == tc.failRow && !v.OK {
					failed = true
				}
			}
			if !failed {
				t.Errorf("no failing %q row: %+v", tc.failRow, r.Versions)
			}
		})
	}
}

func TestShadowAgreementWithEqualBias(t *testing.T) {
	prim := labtest.Version{Name: "v1", Target: "primary", Bias: 1}
	shad := labtest.Version{Name: "v2", Target: "shadow", Bias: 1}
	lab := labtest.NewShadow(t, prim, shad, 100, 11)
	p := fast()
	p.N = 200
	r := run(t, lab, p)
	if !r.Pass {
		t.Fatalf("failed: %v", r.Failures())
	}
	if r.Planned || r.N != 200 {
		t.Errorf("--n override ignored: N=%d planned=%v", r.N, r.Planned)
	}
	if c := r.Shadow; c.Joined != 200 || c.Agreed != 200 {
		t.Errorf("equal bias: joined %d agreed %d, want 200/200", c.Joined, c.Agreed)
	}
}

func TestReportJSON(t *testing.T) {
	lab := labtest.NewCanary(t, versions("v1", "v2"), map[string]int{"v1": 90, "v2": 10}, 12)
	r := run(t, lab, fast())
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("report JSON does not decode: %v\n%s", err, buf.String())
	}
	for _, k := range []string{"pass", "n", "versions", "checks", "wait", "method"} {
		if _, ok := got[k]; !ok {
			t.Errorf("JSON report has no %q", k)
		}
	}
}

func sortStrings(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}
