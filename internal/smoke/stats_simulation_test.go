//go:build slow

// Monte Carlo checks of the split test's false-alarm rate and power: many
// simulated runs each, so they run in the slow tier (make test-slow).

package smoke

import (
	"math/rand/v2"
	"testing"
)

// multinomial draws n trials over shares.
func multinomial(rng *rand.Rand, n int, shares []float64) []int {
	counts := make([]int, len(shares))
	for range n {
		x := rng.Float64()
		i := 0
		for ; i < len(shares)-1 && x >= shares[i]; i++ {
			x -= shares[i]
		}
		counts[i]++
	}
	return counts
}

func rejects(counts []int, shares []float64, alpha float64) bool {
	_, ok := TestShares(counts, shares, alpha)
	for _, o := range ok {
		if !o {
			return true
		}
	}
	return false
}

// A correct split must fail at most alpha of the time.
func TestFalseAlarmRate(t *testing.T) {
	const sims, alpha = 2000, 0.01
	rng := rand.New(rand.NewPCG(1, 1))
	for _, shares := range [][]float64{{.9, .1}, {.5, .5}, {.6, .3, .1}, {.25, .25, .25, .25}} {
		n := CanarySampleSize(shares, .05, alpha, .95)
		bad := 0
		for range sims {
			if rejects(multinomial(rng, n, shares), shares, alpha) {
				bad++
			}
		}
		// Binomial(2000, 0.01) stays under 35 with probability > 0.9999.
		if bad > 35 {
			t.Errorf("shares %v, N=%d: %d of %d correct splits rejected (%.2f%%), want <= ~1%%", shares, n, bad, sims, 100*float64(bad)/sims)
		}
		t.Logf("shares %v N=%d: false alarms %d/%d", shares, n, bad, sims)
	}
}

// A split off by the margin on one version must be caught >= power.
func TestPowerAtMargin(t *testing.T) {
	const sims, alpha, power = 1000, 0.01, 0.95
	rng := rand.New(rand.NewPCG(2, 2))
	for _, tc := range []struct{ want, real []float64 }{
		{[]float64{.9, .1}, []float64{.85, .15}},
		{[]float64{.9, .1}, []float64{.95, .05}},
		{[]float64{.5, .5}, []float64{.45, .55}},
		{[]float64{.6, .3, .1}, []float64{.55, .3, .15}},
		{[]float64{.6, .3, .1}, []float64{.6, .25, .15}},
		{[]float64{.25, .25, .25, .25}, []float64{.30, .25, .25, .20}},
	} {
		n := CanarySampleSize(tc.want, .05, alpha, power)
		caught := 0
		for range sims {
			if rejects(multinomial(rng, n, tc.real), tc.want, alpha) {
				caught++
			}
		}
		// 1000 draws at 95%: below 92% happens with probability < 1e-4.
		if caught < 920 {
			t.Errorf("%v served as %v, N=%d: caught %d of %d, want >= ~95%%", tc.want, tc.real, n, caught, sims)
		}
		t.Logf("%v served as %v N=%d: caught %d/%d", tc.want, tc.real, n, caught, sims)
	}
}

// The mirror rate test: same exact interval, one share.
func TestMirrorFalseAlarmAndPower(t *testing.T) {
	const sims, alpha = 1000, 0.01
	rng := rand.New(rand.NewPCG(3, 3))
	for _, p := range []float64{.1, .5, .9} {
		n := MirrorSampleSize(p, .05, alpha, .95)
		iv := AcceptInterval(n, p, alpha)
		count := func(q float64) int {
			k := 0
			for range n {
				if rng.Float64() < q {
					k++
				}
			}
			return k
		}
		falseAlarms, caught := 0, 0
		for range sims {
			if !iv.Contains(count(p)) {
				falseAlarms++
			}
			if q := p + .05; q <= 1 && !iv.Contains(count(q)) {
				caught++
			}
		}
		if falseAlarms > 20 || caught < 920 {
			t.Errorf("mirror %g N=%d: false alarms %d/%d, caught +5 points %d/%d", p, n, falseAlarms, sims, caught, sims)
		}
	}
}
