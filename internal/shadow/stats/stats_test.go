package stats

import (
	"math"
	"math/rand/v2"
	"slices"
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

// Coverage of the order-statistic quantile interval: over repeated
// samples from a known distribution, the 95% interval holds the true
// quantile at least 95% of the time.
func TestQuantileIntervalCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const reps = 2000
	for _, n := range []int{50, 1000} {
		for _, q := range []float64{0.5, 0.95, 0.99} {
			truth := -math.Log(1 - q) // exponential(1)
			covered := 0
			for r := 0; r < reps; r++ {
				xs := make([]float64, n)
				for i := range xs {
					xs[i] = rng.ExpFloat64()
				}
				slices.Sort(xs)
				ci := QuantileCI(xs, q, 0.95)
				if ci.Contains(truth) {
					covered++
				}
			}
			cov := float64(covered) / reps
			t.Logf("n=%d q=%.2f: 95%% interval covered the true quantile in %.1f%% of %d samples", n, q, 100*cov, reps)
			if cov < 0.945 {
				t.Errorf("n=%d q=%.2f: coverage %.3f below 0.95", n, q, cov)
			}
		}
	}
}

// The gate's false-alarm and miss rates, measured: at a true agreement
// equal to the minimum, the gate passes (wrongly) at most alpha/2 = 2.5%
// of the time; at the rate PassingRate names, it passes about 80%.
func TestGateFalsePassAndPowerMeasured(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const reps, n, minimum = 4000, int64(1000), 0.95
	run := func(truth float64) float64 {
		pass := 0
		for r := 0; r < reps; r++ {
			var k int64
			for i := int64(0); i < n; i++ {
				if rng.Float64() < truth {
					k++
				}
			}
			if Wilson(k, n, 0.95).Low >= minimum {
				pass++
			}
		}
		return float64(pass) / reps
	}
	falsePass := run(minimum)
	target := PassingRate(minimum, n, 0.95, 0.8)
	power := run(target)
	t.Logf("gate %.2f, n=%d: passes %.2f%% at a true agreement of %.2f (false pass); %.1f%% at %.4f (power, aimed at 80%%)",
		minimum, n, 100*falsePass, minimum, 100*power, target)
	if falsePass > 0.035 {
		t.Errorf("false pass rate %.3f, want about 0.025 or less", falsePass)
	}
	if power < 0.72 || power > 0.9 {
		t.Errorf("power %.3f at %.4f, want about 0.8", power, target)
	}
}

// The mirrored-share test's false-alarm and miss rates, measured: at the
// configured share it cries wolf about alpha = 5% of the time; at the
// configured share plus DetectableShift it catches the shift about 80%.
func TestMirrorShareTestRatesMeasured(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const reps, n, p0 = 4000, int64(2000), 0.5
	alarms := func(truth float64) float64 {
		hits := 0
		for r := 0; r < reps; r++ {
			var k int64
			for i := int64(0); i < n; i++ {
				if rng.Float64() < truth {
					k++
				}
			}
			if ScoreTest(k, n, p0) < 0.05 {
				hits++
			}
		}
		return float64(hits) / reps
	}
	fa := alarms(p0)
	shift := DetectableShift(p0, n, 0.05, 0.8)
	power := alarms(p0 - shift)
	t.Logf("mirror share %.0f%%, n=%d: false alarms %.2f%% (alpha 5%%); a shift of %.2f points caught %.1f%% (aimed at 80%%)",
		100*p0, n, 100*fa, 100*shift, 100*power)
	if fa < 0.03 || fa > 0.07 {
		t.Errorf("false alarm rate %.3f, want about 0.05", fa)
	}
	if power < 0.75 || power > 0.86 {
		t.Errorf("power %.3f, want about 0.8", power)
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

// The latency difference's interval, built from two 97.5% intervals,
// covers the true difference of quantiles at least 95% of the time.
func TestQuantileDifferenceCoverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const reps, n = 1000, 500
	for _, q := range []float64{0.5, 0.99} {
		truth := 3*-math.Log(1-q) - -math.Log(1-q) // exponential(mean 3) minus exponential(mean 1)
		covered := 0
		for r := 0; r < reps; r++ {
			a, b := make([]float64, n), make([]float64, n)
			for i := range a {
				a[i], b[i] = 3*rng.ExpFloat64(), rng.ExpFloat64()
			}
			slices.Sort(a)
			slices.Sort(b)
			if DifferenceCI(QuantileCI(a, q, 0.975), QuantileCI(b, q, 0.975)).Contains(truth) {
				covered++
			}
		}
		cov := float64(covered) / reps
		t.Logf("q=%.2f, n=%d per side: the difference's 95%% interval covered the truth in %.1f%% of %d runs", q, n, 100*cov, reps)
		if cov < 0.95 {
			t.Errorf("q=%.2f: coverage %.3f below 0.95", q, cov)
		}
	}
}
