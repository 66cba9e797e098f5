package stats

import (
	"math"
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
	if s.Mirror.Copies != 50 || s.Mirror.Observed.Estimate != 0.5 || !*s.Mirror.Consistent || s.Mirror.MissingCopies != 0 {
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
