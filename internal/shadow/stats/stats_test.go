package stats

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/shadow/join"
)

func TestWilsonKnownValues(t *testing.T) {
	// Reference values (Wilson 1927; e.g. statsmodels proportion_confint method="wilson").
	for _, c := range []struct {
		k, n    int64
		lo, hi  float64
		explain string
	}{
		{81, 263, 0.2553, 0.3662, "Newcombe (1998) example"},
		{0, 10, 0, 0.2775, "none: the upper bound stays informative"},
		{10, 10, 0.7225, 1, "all"},
	} {
		got := Wilson(c.k, c.n, 0.95)
		if math.Abs(got.Low-c.lo) > 5e-4 || math.Abs(got.High-c.hi) > 5e-4 {
			t.Errorf("Wilson(%d, %d) = [%.4f, %.4f], want [%.4f, %.4f] (%s)", c.k, c.n, got.Low, got.High, c.lo, c.hi, c.explain)
		}
	}
	if w := Wilson(0, 0, 0.95); !math.IsNaN(w.Estimate) || w.Low != 0 || w.High != 1 {
		t.Errorf("no trials: %+v", w)
	}
}

func TestCompareUnderTolerance(t *testing.T) {
	p := []byte(`{"model_name":"m","model_version":"v1","outputs":[{"name":"output-0","shape":[2],"datatype":"FP64","data":[1,2]},{"name":"output-1","shape":[1,1],"datatype":"FP64","data":[[3]]}]}`)
	s := []byte(`{"model_name":"m","model_version":"v2","outputs":[{"name":"output-0","shape":[2],"datatype":"FP64","data":[1.5,1.75]},{"name":"output-1","shape":[1],"datatype":"FP64","data":[3]}]}`)
	c := Compare(200, p, 200, s, 0.5)
	if !c.Comparable || !c.Agree || c.MaxAbsDiff != 0.5 || len(c.Outputs) != 2 || c.Outputs[0].Sum != 0.75 || c.Outputs[1].Max != 0 {
		t.Fatalf("within tolerance: %+v", c)
	}
	if c := Compare(200, p, 200, s, 0.49); c.Agree || !c.Comparable {
		t.Fatalf("beyond tolerance: %+v", c)
	}
	if c := Compare(200, p, 500, []byte(`{"error":"x"}`), 1); c.Agree || c.Comparable {
		t.Fatalf("a failure against an answer: %+v", c)
	}
	if c := Compare(500, []byte(`{"error":"a"}`), 500, []byte(`{"error":"b"}`), 0); !c.Agree {
		t.Fatalf("the same failure on both sides agrees: %+v", c)
	}
	other := []byte(`{"outputs":[{"name":"output-9","data":[1,2]},{"name":"output-1","data":[3]}]}`)
	if c := Compare(200, p, 200, other, 1); c.Agree || c.Comparable {
		t.Fatalf("different outputs: %+v", c)
	}
	if c := Compare(200, []byte("text"), 200, []byte("text\n"), 0); !c.Agree || c.Comparable {
		t.Fatalf("non-OIP identical bodies: %+v", c)
	}
}

// The summary counts every pair once and derives its numbers from them.
func TestAccumulatorSummary(t *testing.T) {
	a := NewAccumulator(Options{Primary: "v1", Shadow: "v2", MirrorPercent: ptr(50.0), Tolerance: 0.1, MinAgreement: ptr(0.5)})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ok := []byte(`{"outputs":[{"name":"output-0","data":[1]}]}`)
	off := []byte(`{"outputs":[{"name":"output-0","data":[1.5]}]}`)
	for i := 0; i < 100; i++ {
		p := &join.Pair{ID: "x", Time: t0.Add(time.Duration(i) * time.Second),
			Primary: join.Side{Requested: true, Answered: true, Status: 200, Output: ok, Latency: time.Millisecond}}
		if i%2 == 0 {
			out := ok
			if i%10 == 0 {
				out = off
			}
			p.Shadow = join.Side{Requested: true, Answered: true, Status: 200, Output: out, Latency: 3 * time.Millisecond}
		}
		if i == 99 {
			p.Primary.Answered = false
		}
		a.Add(p, Judge(p, 0.1))
	}
	s, series := a.Summary()
	if s.Requests.Seen != 100 || s.Requests.Paired != 50 || s.Requests.PrimaryOnly != 50 || s.Requests.PrimaryWithoutResponse != 1 {
		t.Fatalf("requests %+v", s.Requests)
	}
	if s.Mirror.Copies != 50 || s.Mirror.Observed.Estimate != 0.5 || !*s.Mirror.Consistent || *s.Mirror.MissingCopies != 0 {
		t.Fatalf("mirror %+v", s.Mirror)
	}
	if s.Agreement.Compared != 50 || s.Agreement.Agreeing != 40 || !*s.Agreement.GatePassed {
		t.Fatalf("agreement %+v", s.Agreement)
	}
	if len(s.Outputs) != 1 || s.Outputs[0].Max != 0.5 || math.Abs(s.Outputs[0].Mean-0.1) > 1e-12 {
		t.Fatalf("outputs %+v", s.Outputs)
	}
	if s.Latency.Primary.N != 99 || s.Latency.Shadow.N != 50 || s.Latency.Difference.P50.Estimate != 2 {
		t.Fatalf("latency %+v", s.Latency)
	}
	if len(series.AbsDiffs) != 50 || len(s.AgreementOverTime) != 30 {
		t.Fatalf("series: %d diffs, %d bins", len(series.AbsDiffs), len(s.AgreementOverTime))
	}
	var binned int64
	for _, b := range s.AgreementOverTime {
		binned += b.Compared
	}
	if binned != 50 {
		t.Fatalf("bins hold %d compared pairs, want 50", binned)
	}
}

func ptr[T any](v T) *T { return &v }

// The gate is on the Wilson interval's lower bound, never the estimate:
// with 960 of 1000 pairs agreeing (estimate 0.96, lower bound about
// 0.9460) a minimum a hair under the bound passes, one a hair over it
// fails although the estimate clears it by far, and the bound itself
// passes (at or above).
func TestGateIsTheLowerBoundOnBothSidesOfIt(t *testing.T) {
	const n, k = 1000, 960
	low := Wilson(k, n, 0.95).Low
	if math.Abs(low-0.9460) > 5e-4 {
		t.Fatalf("Wilson(960, 1000).Low = %.5f, want about 0.9460 (Wilson by hand)", low)
	}
	summary := func(min float64) Agreement {
		a := NewAccumulator(Options{Primary: "v1", Shadow: "v2", Tolerance: 0, MinAgreement: &min})
		ok := []byte(`{"outputs":[{"name":"o","data":[1]}]}`)
		off := []byte(`{"outputs":[{"name":"o","data":[2]}]}`)
		for i := 0; i < n; i++ {
			out := ok
			if i >= k {
				out = off
			}
			p := &join.Pair{ID: "x",
				Primary: join.Side{Requested: true, Answered: true, Status: 200, Output: ok},
				Shadow:  join.Side{Requested: true, Answered: true, Status: 200, Output: out}}
			a.Add(p, Judge(p, 0))
		}
		s, _ := a.Summary()
		return s.Agreement
	}
	for _, c := range []struct {
		min  float64
		pass bool
	}{
		{low - 1e-9, true},
		{low, true},
		{low + 1e-9, false},
		{0.95, false}, // under the estimate 0.96, over the bound
		{0.90, true},
	} {
		a := summary(c.min)
		if a.Rate.Estimate != 0.96 || a.Rate.Low != low || *a.GatePassed != c.pass {
			t.Errorf("gate %.10f (estimate %g, lower bound %.10f): passed %v, want %v", c.min, a.Rate.Estimate, a.Rate.Low, *a.GatePassed, c.pass)
		}
	}
}

// Every interval holds its estimate, also at 0 of n and n of n, where the
// Wilson bounds used to come out a rounding error off (about 1e-19 above
// 0, 0.9999999999999999 below 1).
func TestWilsonHoldsItsEstimateAtZeroAndN(t *testing.T) {
	for _, conf := range []float64{0.9, 0.95, 0.975, 0.99} {
		for n := int64(1); n <= 3000; n++ {
			for _, k := range []int64{0, n, n / 2, 1, n - 1} {
				w := Wilson(k, n, conf)
				if !(w.Low <= w.Estimate && w.Estimate <= w.High) || w.Low < 0 || w.High > 1 {
					t.Fatalf("Wilson(%d, %d, %g) = %v: excludes its estimate or leaves [0, 1]", k, n, conf, w)
				}
			}
			if w := Wilson(0, n, conf); w.Low != 0 {
				t.Fatalf("Wilson(0, %d, %g).Low = %g, want 0", n, conf, w.Low)
			}
			if w := Wilson(n, n, conf); w.High != 1 {
				t.Fatalf("Wilson(%d, %d, %g).High = %g, want 1", n, n, conf, w.High)
			}
		}
	}
}

// The quantile interval holds its estimate too, ties and all.
func TestQuantileIntervalHoldsItsEstimate(t *testing.T) {
	for n := 1; n <= 400; n++ {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = float64(i / 3) // ties
		}
		for _, q := range []float64{0, 0.01, 0.5, 0.95, 0.99, 1} {
			if ci := QuantileCI(xs, q, 0.975); !ci.Contains(ci.Estimate) {
				t.Fatalf("n=%d q=%g: %v excludes its estimate", n, q, ci)
			}
		}
	}
}

// A p-value far in the tail keeps its digits: 1 - Φ(z) cancels to 0 past
// z of about 8, so 0 copies of 200 requests against a 50% share read
// p = 0 although it is 2.09e-45 (2·Q(14.142); the want below is from the
// series of the Mills ratio); beyond what float64 holds the logarithm
// still has it.
func TestTailProbabilitiesDoNotCancel(t *testing.T) {
	p := ScoreTest(0, 200, 0.5) // z = sqrt(200)
	wantLog := (math.Ln2 - 100 - math.Log(math.Sqrt(200)) - 0.5*math.Log(2*math.Pi) + math.Log(1-1.0/200+3.0/40000-15.0/8e6)) / math.Ln10
	if p <= 0 || math.Abs(math.Log10(p)-wantLog) > 1e-6 {
		t.Fatalf("ScoreTest(0, 200, 0.5) = %g, want 10^%.4f", p, wantLog)
	}
	if l := Log10ScoreTest(0, 200, 0.5); math.Abs(l-wantLog) > 1e-6 {
		t.Errorf("Log10ScoreTest(0, 200, 0.5) = %.6f, want %.6f", l, wantLog)
	}
	// z = sqrt(10000) = 100: the p-value is about 10^-2174, 0 in float64.
	wantLog = (math.Ln2 - 5000 - math.Log(100) - 0.5*math.Log(2*math.Pi) + math.Log(1-1e-4+3e-8-15e-12)) / math.Ln10
	if l := Log10ScoreTest(0, 10000, 0.5); math.Abs(l-wantLog) > 1e-6 {
		t.Errorf("Log10ScoreTest(0, 10000, 0.5) = %.4f, want %.4f", l, wantLog)
	}
	// Across the switch from erfc to the series the logarithm is smooth.
	for x := 30.0; x < 45; x += 0.01 {
		if d := logNormalTail(x+0.01) - logNormalTail(x); d >= 0 || d < -0.5 {
			t.Fatalf("ln Q jumps by %g between %g and %g", d, x, x+0.01)
		}
	}
	if p := ScoreTest(50, 100, 0.5); p != 1 {
		t.Errorf("ScoreTest at the configured share = %g, want 1", p)
	}
}

// pairOf is a request answered ok by the primary and, when mirrored, by
// the shadow with the same answer.
func pairOf(i int, mirrored bool) *join.Pair {
	ok := []byte(`{"outputs":[{"name":"o","data":[1]}]}`)
	p := &join.Pair{ID: fmt.Sprint(i), Time: time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC),
		Primary: join.Side{Requested: true, Answered: true, Status: 200, Output: ok}}
	if mirrored {
		p.Shadow = join.Side{Requested: true, Answered: true, Status: 200, Output: ok}
	}
	return p
}

// A primary pod's log missing: its requests are gone from the primary's
// side and their copies have no primary record. That is reported as
// copies without a primary record and left out of the share, which stays
// at the configured 50% instead of reading as over-mirroring (2/3, "NOT
// consistent", before).
func TestCopiesWithoutAPrimaryRecordAreNotOverMirroring(t *testing.T) {
	a := NewAccumulator(Options{Primary: "v1", Shadow: "v2", MirrorPercent: ptr(50.0)})
	for i := 0; i < 200; i++ {
		p := pairOf(i, i%2 == 0)
		if i%4 < 2 { // pod B, whose log is missing: only its copies remain
			if !(i%2 == 0) {
				continue
			}
			p.Primary = join.Side{}
		}
		a.Add(p, Judge(p, 0))
	}
	s, _ := a.Summary()
	m := s.Mirror
	if s.Requests.ShadowOnly != 50 || m.CopiesWithoutPrimary != 50 || m.Requests != 100 || m.Copies != 50 || m.Observed.Estimate != 0.5 {
		t.Fatalf("mirror %+v, requests %+v; want 50 of 100 logged requests mirrored, 50 copies without a primary record", m, s.Requests)
	}
	if !*m.Consistent || *m.MissingCopies != 0 || *m.ExpectedCopies != 50 {
		t.Errorf("the share reads as off its configuration: %+v", m)
	}
}

// A reused id's pair is counted by that name, never compared, and no
// trial of the mirrored share (its copies are left out by the join).
func TestReusedIDPairsAreCountedAndNotCompared(t *testing.T) {
	a := NewAccumulator(Options{Primary: "v1", Shadow: "v2"})
	for i := 0; i < 10; i++ {
		p := pairOf(i, i >= 3)
		p.IDReused = i < 3
		v := Judge(p, 0)
		if v.Compared != (i >= 3) {
			t.Fatalf("pair %d (reused %v) compared %v", i, p.IDReused, v.Compared)
		}
		a.Add(p, v)
	}
	// Judge leaves a reused pair uncompared even with both answers.
	if p := pairOf(0, true); func() bool { p.IDReused = true; return Judge(p, 0).Compared }() {
		t.Errorf("a reused pair with both answers was compared")
	}
	s, _ := a.Summary()
	if s.Requests.IDReused != 3 || s.Agreement.Compared != 7 || s.Agreement.Agreeing != 7 || s.Mirror.Copies != 7 || s.Mirror.Requests != 7 {
		t.Errorf("requests %+v, agreement %d of %d, %d copies of %d; want 3 reused, 7 of 7 agreeing, 7 copies of 7",
			s.Requests, s.Agreement.Agreeing, s.Agreement.Compared, s.Mirror.Copies, s.Mirror.Requests)
	}
}

// summaryJSON is the summary of pairs as summary.json holds it.
func summaryJSON(t *testing.T, o Options, pairs ...*join.Pair) map[string]any {
	t.Helper()
	a := NewAccumulator(o)
	for _, p := range pairs {
		a.Add(p, Judge(p, o.Tolerance))
	}
	s, _ := a.Summary()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// at walks a decoded JSON document: at(m, "mirror", "copies").
func at(m map[string]any, path ...string) (any, bool) {
	var v any = m
	for _, k := range path {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = obj[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// Every field is in summary.json whenever it applies, 0 as 0: a consumer
// tells zero from not computed. Fields that do not apply (no configured
// share, no gate) are absent. Before, missingCopies, expectedCopies,
// detectableShift, passingRate and outputs vanished when zero, and alpha
// read 0.050000000000000044.
func TestSummaryJSONHoldsEveryFieldThatApplies(t *testing.T) {
	text := func(i int) *join.Pair { // answers that are not OIP: no outputs
		p := pairOf(i, true)
		p.Primary.Output, p.Shadow.Output = []byte(`"a"`), []byte(`"a"`)
		return p
	}
	full := summaryJSON(t, Options{Primary: "v1", Shadow: "v2", MirrorPercent: ptr(100.0), MinAgreement: ptr(0.0)}, text(1), text(2))
	zeros := map[string]any{
		"mirror.copiesWithoutPrimary": 0.0, "mirror.missingCopies": 0.0, "mirror.detectableShift": 0.0,
		"mirror.expectedCopies": 2.0, "mirror.configured": 1.0, "mirror.pValue": 1.0, "mirror.log10PValue": 0.0,
		"mirror.consistent": true, "mirror.alpha": 0.05, "mirror.requests": 2.0,
		"agreement.passingRate": 0.0, "agreement.gatePassed": true, "agreement.minAgreement": 0.0,
		"requests.idReused": 0.0, "requests.shadowOnlyUnmatched": 0.0,
	}
	for key, want := range zeros {
		got, ok := at(full, strings.Split(key, ".")...)
		if !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", key, got, ok, want)
		}
	}
	if full["from"] != "2026-01-01T00:00:01Z" || full["to"] != "2026-01-01T00:00:02Z" {
		t.Errorf("from %v, to %v", full["from"], full["to"])
	}
	for _, key := range []string{"outputs", "agreementOverTime"} {
		if v, ok := full[key].([]any); !ok || (key == "outputs" && len(v) != 0) {
			t.Errorf("%s = %#v, want a list (empty for outputs)", key, full[key])
		}
	}

	none := summaryJSON(t, Options{Primary: "v1", Shadow: "v2"})
	for _, key := range []string{"from", "to", "mirror.configured", "mirror.expectedCopies", "mirror.missingCopies", "mirror.pValue",
		"mirror.log10PValue", "mirror.consistent", "mirror.detectableShift", "agreement.minAgreement",
		"agreement.gatePassed", "agreement.passingRate"} {
		if v, ok := at(none, strings.Split(key, ".")...); ok {
			t.Errorf("%s = %v without a configured share or a gate, want it absent (not applicable)", key, v)
		}
	}
	for _, key := range []string{"mirror.copies", "mirror.requests", "agreement.compared", "requests.idReused", "outputs", "agreementOverTime", "mirror.alpha"} {
		if _, ok := at(none, strings.Split(key, ".")...); !ok {
			t.Errorf("%s missing from the summary of no request", key)
		}
	}
}
