//go:build slow

package stats

// Monte Carlo checks of the intervals and tests: coverage, false alarms
// and power measured over repeated simulated runs (make test-slow). The
// figures they log are the ones in docs/shadow-report.md.

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

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
