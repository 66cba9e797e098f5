package gate

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/modelrollouts/modelrollouts/internal/measure"
)

func weighted(xs ...float64) sample {
	ws := make([]Weighted, len(xs))
	for i, x := range xs {
		ws[i] = Weighted{Value: x, Count: 1}
	}
	return newSample(ws)
}

func TestMannWhitneyZOfSeparatedSamples(t *testing.T) {
	t.Parallel()
	// x entirely below y: U = 0, Var = 3·3·7/12.
	z := mwZ(weighted(1, 2, 3), weighted(4, 5, 6), 0)
	want := -4.5 / math.Sqrt(9*7.0/12)
	if math.Abs(z-want) > 1e-12 {
		t.Fatalf("z = %v, want %v", z, want)
	}
	// Shifting x up by 10 puts it entirely above.
	if z := mwZ(weighted(1, 2, 3), weighted(4, 5, 6), -10); math.Abs(z+want) > 1e-12 {
		t.Fatalf("shifted z = %v, want %v", z, -want)
	}
}

func TestMannWhitneyCountsTiesHalfAndCorrectsTheVariance(t *testing.T) {
	t.Parallel()
	// x = {1, 2}, y = {2, 3}: pairs x>y: none; ties: (2,2) → U = 0.5.
	// Pooled ties: value 2 twice → Σ(t³-t) = 6; N = 4.
	u, v := mwU(weighted(1, 2), weighted(2, 3), 0)
	if u != 0.5 {
		t.Fatalf("U = %v, want 0.5", u)
	}
	wantVar := 2 * 2 / 12.0 * (5 - 6.0/12)
	if math.Abs(v-wantVar) > 1e-12 {
		t.Fatalf("variance = %v, want %v", v, wantVar)
	}
	// Weights are counts: {1×2} against {1×1} is all ties.
	u, _ = mwU(newSample([]Weighted{{1, 2}}), newSample([]Weighted{{1, 1}}), 0)
	if u != 1 {
		t.Fatalf("U of all ties = %v, want 1", u)
	}
}

func TestHodgesLehmannFindsTheShift(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	var x, y []Weighted
	for range 400 {
		x = append(x, Weighted{Value: 0.3 + rng.NormFloat64()*0.1, Count: 1})
		y = append(y, Weighted{Value: rng.NormFloat64() * 0.1, Count: 1})
	}
	hl := hodgesLehmann(newSample(x), newSample(y))
	if math.Abs(hl-0.3) > 0.03 {
		t.Fatalf("Hodges-Lehmann shift = %v, want about 0.3", hl)
	}
}

// The beta-binomial confidence sequence must hold the true rate at every n
// of a run at once, in at least 1-alpha of runs.
func TestRateBoundsHoldTheTrueRateAtEveryLook(t *testing.T) {
	t.Parallel()
	const runs, n, alpha = 200, 600, 0.05
	rng := rand.New(rand.NewPCG(3, 4))
	for _, p := range []float64{0.003, 0.02, 0.2} {
		misses := 0
		for range runs {
			k := 0
			for i := 1; i <= n; i++ {
				if rng.Float64() < p {
					k++
				}
				if i%50 == 0 && (rateUpper(k, i, alpha) < p || rateLower(k, i, alpha) > p) {
					misses++
					break
				}
			}
		}
		// Each bound at alpha: the union at most 2·alpha; allow sampling noise.
		if rate := float64(misses) / runs; rate > 2*alpha+0.03 {
			t.Errorf("p=%g: the bounds missed the true rate in %.1f%% of runs, want at most %.0f%%", p, 100*rate, 200*alpha)
		}
	}
}

func TestRateBoundsOfACleanRunShrinkLikeOneOverN(t *testing.T) {
	t.Parallel()
	prev := 1.0
	for _, n := range []int{100, 300, 1000, 3000} {
		up := rateUpper(0, n, 0.025)
		if up >= prev || up > 12.0/float64(n) {
			t.Fatalf("upper bound after 0 of %d = %v, want below %v and 12/n", n, up, prev)
		}
		prev = up
	}
	if lo := rateLower(0, 100, 0.025); lo != 0 {
		t.Fatalf("lower bound after 0 failures = %v, want 0", lo)
	}
}

// Robbins' normal mixture: a random walk crosses z·√t at some look with
// chance at most alpha, where the fixed-sample z would be crossed far more
// often over many looks.
func TestMixtureBoundaryKeepsAlphaOverEveryLook(t *testing.T) {
	t.Parallel()
	const runs, steps, alpha = 2000, 2000, 0.05
	rho := mixtureRho(100, alpha)
	rng := rand.New(rand.NewPCG(5, 6))
	zs := make([]float64, steps+1)
	for i := 10; i <= steps; i += 10 {
		zs[i] = mixtureZ(float64(i), rho, alpha)
		if zs[i] <= zQuantile(alpha) {
			t.Fatalf("anytime boundary %v at t=%d is not above the fixed z %v", zs[i], i, zQuantile(alpha))
		}
	}
	crossed, crossedFixed := 0, 0
	for range runs {
		s := 0.0
		c, cf := false, false
		for i := 1; i <= steps; i++ {
			s += rng.NormFloat64()
			if i%10 == 0 {
				z := s / math.Sqrt(float64(i))
				c = c || z >= zs[i]
				cf = cf || z >= zQuantile(alpha)
			}
		}
		if c {
			crossed++
		}
		if cf {
			crossedFixed++
		}
	}
	if rate := float64(crossed) / runs; rate > alpha {
		t.Errorf("the anytime boundary was crossed in %.2f%% of null runs, want at most %.0f%%", 100*rate, 100*alpha)
	}
	if rate := float64(crossedFixed) / runs; rate < 2*alpha {
		t.Errorf("peeking at the fixed z crossed in only %.2f%% of null runs: the test cannot tell the boundaries apart", 100*rate)
	}
}

func TestBinomialTestNHasThePowerAndNoMore(t *testing.T) {
	t.Parallel()
	n := binomialTestN(0.005, 0.01, 0.005, 0.95)
	if n < 3000 || n > 7000 {
		t.Fatalf("n = %d, want the normal approximation's ballpark (about 4800)", n)
	}
	if m := binomialTestN(0.005, 0.02, 0.005, 0.95); m >= n/4 {
		t.Fatalf("a 4× larger effect needs %d, want far fewer than %d", m, n)
	}
}

func TestSPRTDriftsTowardTheTrueHypothesis(t *testing.T) {
	t.Parallel()
	s := sprt{p0: 0.005, p1: 0.01}
	if s.drift(0.005) >= 0 || s.drift(0.01) <= 0 {
		t.Fatalf("drift at p0 %v, at p1 %v: want negative then positive", s.drift(0.005), s.drift(0.01))
	}
	if got := s.logLR(1, 1); math.Abs(got-math.Log(2)) > 1e-12 {
		t.Fatalf("one failure: log LR %v, want log 2", got)
	}
}

// The errors criterion's bets keep their level over every look: with the
// hypothesis true at its edge, the wealth ever reaches 1/alpha in at most
// alpha of runs (looks every 100 pairs up to 4,000), for rare and common
// failures. Seeded; the count limit is the binomial 1-1e-4 quantile.
func TestErrorBetsKeepTheirLevelOverEveryLook(t *testing.T) {
	t.Parallel()
	const runs, pairs, alpha = 400, 4000, 0.05
	limit := measure.ErrorLimit(runs, alpha, 1e-4)
	rng := rand.New(rand.NewPCG(7, 8))
	for _, tc := range []struct {
		name   string
		pc, pb float64
		wealth func(failureCounts) float64
	}{
		{"equal rates 0.5%, bet against d ≤ 0", 0.005, 0.005, func(f failureCounts) float64 { return f.logWealthBelow(0) }},
		{"equal rates 5%, bet against d ≤ 0", 0.05, 0.05, func(f failureCounts) float64 { return f.logWealthBelow(0) }},
		{"d = 0.2 points over a 0.5% baseline, bet against d ≥ 0.2", 0.007, 0.005, func(f failureCounts) float64 { return f.logWealthAbove(0.002) }},
		{"d = 0.2 points over a clean baseline, bet against d ≥ 0.2", 0.002, 0, func(f failureCounts) float64 { return f.logWealthAbove(0.002) }},
	} {
		alarms := 0
		for range runs {
			var f failureCounts
			for i := 1; i <= pairs; i++ {
				f.nc++
				f.nb++
				if rng.Float64() < tc.pc {
					f.kc++
				}
				if rng.Float64() < tc.pb {
					f.kb++
				}
				if i%100 == 0 && tc.wealth(f) >= math.Log(1/alpha) {
					alarms++
					break
				}
			}
		}
		t.Logf("%s: %d of %d runs crossed (limit %d)", tc.name, alarms, runs, limit)
		if alarms > limit {
			t.Errorf("%s: %d of %d runs crossed 1/α = %g, want at most %d (α %g)", tc.name, alarms, runs, 1/alpha, limit, alpha)
		}
	}
}

// Counts alone give a lower bound of the wealth the actual pairs give,
// so the bets stay valid when only totals are known (metrics) or the
// versions' counts differ.
func TestCountsGiveNoMoreWealthThanThePairs(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(9, 10))
	for range 300 {
		n := 20 + rng.IntN(200)
		extra := rng.IntN(20) // more requests to the candidate, unpaired
		pc, pb := rng.Float64()*0.3, rng.Float64()*0.3
		var xs []float64
		var f failureCounts
		for i := range n + extra {
			c := rng.Float64() < pc
			f.nc++
			if c {
				f.kc++
			}
			if i >= n {
				continue
			}
			b := rng.Float64() < pb
			f.nb++
			if b {
				f.kb++
			}
			xs = append(xs, b2f(c)-b2f(b))
		}
		d0 := rng.Float64()*0.2 - 0.1
		if got, paired := f.logWealthBelow(d0), pairedLogWealth(xs, d0, 1/(1+d0), 1); got > paired+1e-9 {
			t.Fatalf("%+v, d0 %g: wealth against d ≤ d0 from counts %g above the pairs' %g", f, d0, got, paired)
		}
		if got, paired := f.logWealthAbove(d0), pairedLogWealth(xs, d0, 1/(1-d0), -1); got > paired+1e-9 {
			t.Fatalf("%+v, d0 %g: wealth against d ≥ d0 from counts %g above the pairs' %g", f, d0, got, paired)
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// pairedLogWealth is logMeanBet computed pair by pair.
func pairedLogWealth(xs []float64, d0, lmax, sign float64) float64 {
	sum := 0.0
	for i := range lambdaGrid {
		l := sign * lmax * float64(i+1) / float64(lambdaGrid+1)
		w := 1.0
		for _, x := range xs {
			w *= 1 + l*(x-d0)
		}
		sum += w
	}
	return math.Log(sum / lambdaGrid)
}
