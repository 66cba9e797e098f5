//go:build slow

// Monte Carlo checks of the plan's tests: the split test's false-alarm
// rate and power, a 1% leak to a 0% version, a 5%-failing canary's error
// budget, the mirror test. Many simulated runs each, so they run in the
// slow tier (make test-slow).

package smoke

import (
	"math/rand/v2"
	"testing"

	"github.com/modelrollouts/modelrollouts/internal/measure"
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
	_, ok := measure.TestShares(counts, shares, alpha)
	for _, o := range ok {
		if !o {
			return true
		}
	}
	return false
}

// A correct split must fail at most alpha of the time.
func TestFalseAlarmRate(t *testing.T) {
	const sims = 2000
	rng := rand.New(rand.NewPCG(1, 1))
	for _, shares := range [][]float64{{.9, .1}, {.5, .5}, {.6, .3, .1}, {.25, .25, .25, .25}} {
		pl := PlanCanary(canaryVersions(shares...), DefaultParams)
		bad := 0
		for range sims {
			if rejects(multinomial(rng, pl.UserRequests, shares), shares, pl.TestAlpha) {
				bad++
			}
		}
		// Binomial(2000, 0.01) stays under 35 with probability > 0.9999.
		if bad > 35 {
			t.Errorf("shares %v, N=%d: %d of %d correct splits rejected (%.2f%%), want <= ~1%%", shares, pl.UserRequests, bad, sims, 100*float64(bad)/sims)
		}
		t.Logf("shares %v N=%d: false alarms %d/%d", shares, pl.UserRequests, bad, sims)
	}
}

// A split off by the margin on one version must be caught >= power.
func TestPowerAtMargin(t *testing.T) {
	const sims = 1000
	rng := rand.New(rand.NewPCG(2, 2))
	for _, tc := range []struct{ want, real []float64 }{
		{[]float64{.9, .1}, []float64{.85, .15}},
		{[]float64{.9, .1}, []float64{.95, .05}},
		{[]float64{.5, .5}, []float64{.45, .55}},
		{[]float64{.6, .3, .1}, []float64{.55, .3, .15}},
		{[]float64{.6, .3, .1}, []float64{.6, .25, .15}},
		{[]float64{.25, .25, .25, .25}, []float64{.30, .25, .25, .20}},
	} {
		pl := PlanCanary(canaryVersions(tc.want...), DefaultParams)
		caught := 0
		for range sims {
			if rejects(multinomial(rng, pl.UserRequests, tc.real), tc.want, pl.TestAlpha) {
				caught++
			}
		}
		// 1000 draws at 95%: below 92% happens with probability < 1e-4.
		if caught < 920 {
			t.Errorf("%v served as %v, N=%d: caught %d of %d, want >= ~95%%", tc.want, tc.real, pl.UserRequests, caught, sims)
		}
		t.Logf("%v served as %v N=%d: caught %d/%d", tc.want, tc.real, pl.UserRequests, caught, sims)
	}
}

// A 0% version getting 1% of the traffic is caught >= 95% of the time at
// default settings, whatever the rest of the split.
func TestLeakPower(t *testing.T) {
	const sims = 2000
	rng := rand.New(rand.NewPCG(4, 4))
	for _, shares := range [][]float64{{1, 0}, {.9, .1, 0}} {
		pl := PlanCanary(canaryVersions(shares...), DefaultParams)
		real := append([]float64{shares[0] - .01}, shares[1:len(shares)-1]...)
		real = append(real, .01)
		caught := 0
		for range sims {
			if multinomial(rng, pl.UserRequests, real)[len(shares)-1] > 0 {
				caught++
			}
		}
		if caught < int(0.94*sims) {
			t.Errorf("%v with a 1%% leak, N=%d: caught %d of %d, want >= 95%%", shares, pl.UserRequests, caught, sims)
		}
		if pl.DetectableLeak > .01 {
			t.Errorf("%v: N=%d detects leaks of %.3f%%, want <= 1%%", shares, pl.UserRequests, 100*pl.DetectableLeak)
		}
		t.Logf("%v 1%% leak N=%d: caught %d/%d (detectable leak %.2f%%)", shares, pl.UserRequests, caught, sims, 100*pl.DetectableLeak)
	}
}

// Per-version error budgets: a 10% canary failing 5% of its requests fails
// its budget >= 95% of the time with the requests the plan gives it (the
// fewest user answers of a passing run plus its own-host requests); one
// failing 1% (the tolerated rate) fails it at most alpha of the time.
func TestBudgetFalseAlarmAndPower(t *testing.T) {
	const sims = 2000
	rng := rand.New(rand.NewPCG(5, 5))
	pl := PlanCanary(canaryVersions(.9, .1), DefaultParams)
	n := measure.AcceptInterval(pl.UserRequests, .1, pl.TestAlpha).Lo + pl.OwnRequests["b"]
	fails := func(rate float64) int {
		k := 0
		for range n {
			if rng.Float64() < rate {
				k++
			}
		}
		return k
	}
	limit := measure.ErrorLimit(n, DefaultParams.MaxErrorShare, pl.TestAlpha)
	caught, alarms := 0, 0
	for range sims {
		if fails(.05) > limit {
			caught++
		}
		if fails(.01) > limit {
			alarms++
		}
	}
	if caught < int(0.94*sims) || alarms > 20 {
		t.Errorf("budget on %d requests (limit %d): 5%% failing caught %d/%d, 1%% failing flagged %d/%d", n, limit, caught, sims, alarms, sims)
	}
	t.Logf("budget n=%d limit=%d: 5%% failing caught %d/%d; 1%% failing flagged %d/%d", n, limit, caught, sims, alarms, sims)
}

// The mirror rate test: same exact interval, one share.
func TestMirrorFalseAlarmAndPower(t *testing.T) {
	const sims = 1000
	rng := rand.New(rand.NewPCG(3, 3))
	for _, p := range []float64{.1, .5, .9} {
		pl := PlanShadow("a", "b", p, DefaultParams)
		n := pl.UserRequests
		iv := measure.AcceptInterval(n, p, pl.TestAlpha)
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
