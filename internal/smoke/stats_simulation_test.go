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

// Per-version error budgets, each counting only its own host's answers:
// a version failing 5% of its requests fails its budget >= 95% of the time
// (the split check's power) with the requests the plan gives it, whatever
// its share; one failing 1% (the tolerated rate) fails it at most its test
// alpha of the time. 20,000 simulated runs per plan; the count limits are
// the binomial 1e-4 tail quantiles at the plan's own figures (power 95.03%,
// alpha 0.25%), so the test fails by chance less than 1 in 10,000.
// docs/smoke.md reports these runs.
func TestBudgetFalseAlarmAndPower(t *testing.T) {
	const sims = 20000
	rng := rand.New(rand.NewPCG(5, 5))
	for _, tc := range []struct {
		name string
		pl   Plan
	}{
		{"90/10 canary, the 10% version", PlanCanary(canaryVersions(.9, .1), DefaultParams)},
		{"60/30/10 canary, the 10% version", PlanCanary(canaryVersions(.6, .3, .1), DefaultParams)},
		{"50% shadow, the shadow", PlanShadow("a", "b", .5, DefaultParams)},
	} {
		pl := tc.pl
		n := pl.OwnRequests["b"]
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
			if fails(DefaultParams.DetectErrorShare) > limit {
				caught++
			}
			if fails(DefaultParams.MaxErrorShare) > limit {
				alarms++
			}
		}
		// Fewest catches and most alarms a 1e-4 chance allows at the
		// plan's own power and alpha.
		minCaught := sims - measure.ErrorLimit(sims, 1-pl.BudgetPower, 1e-4)
		maxAlarms := measure.ErrorLimit(sims, pl.TestAlpha, 1e-4)
		t.Logf("%s: budget on %d own-host requests (limit %d failures, test alpha %.3g, planned power %.4f): 5%% failing caught %d/%d (%.2f%%); 1%% failing flagged %d/%d (%.3f%%)",
			tc.name, n, limit, pl.TestAlpha, pl.BudgetPower, caught, sims, 100*float64(caught)/sims, alarms, sims, 100*float64(alarms)/sims)
		if pl.BudgetPower < DefaultParams.Power || caught < minCaught || alarms > maxAlarms {
			t.Errorf("%s: 5%% failing caught %d/%d (want >= %d), 1%% failing flagged %d/%d (want <= %d)", tc.name, caught, sims, minCaught, alarms, sims, maxAlarms)
		}
	}
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
