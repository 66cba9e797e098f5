package gate

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// FixedN is the number of requests per version a fixed-N test needs for
// the same guarantees: each criterion tested once, at its share of alpha,
// with the power to catch the same limits. It is the larger of the
// criteria's sizes; the benchmark compares the sequential gate with it.
func (j *Judge) FixedN() int {
	s := j.s
	alpha := s.criterionAlpha()
	if j.sloFixedN == 0 {
		j.sloFixedN = max(
			binomialTestN(sloGoodShare*s.failureBudget(), s.failureBudget(), alpha, s.Power),
			binomialTestN(sloGoodShare*p99Budget, p99Budget, alpha, s.Power))
	}
	n := max(j.sloFixedN,
		twoProportionN(j.base.failureRate(), s.MaxErrorIncrease, alpha, s.Power),
		j.mannWhitneyN(alpha, s.Power),
	)
	return max(n, s.MinRequests)
}

// binomialTestN is the smallest n at which the exact one-sided binomial
// test of rate p0 at level alpha rejects when the rate is p1 with the given
// power. Exact power is a sawtooth in n: a bisection finds where it
// settles above the target, then a scan below finds the first tooth that
// reaches it, the size most favourable to the fixed-N test.
func binomialTestN(p0, p1, alpha, power float64) int {
	powerAt := func(n int) float64 {
		b0 := distuv.Binomial{N: float64(n), P: p0}
		// Smallest k with P(X >= k | p0) <= alpha, searched by bisection.
		lo, hi := 0, n+1
		for lo < hi {
			k := (lo + hi) / 2
			if b0.Survival(float64(k)-0.5) <= alpha {
				hi = k
			} else {
				lo = k + 1
			}
		}
		return distuv.Binomial{N: float64(n), P: p1}.Survival(float64(lo) - 0.5)
	}
	za, zb := zQuantile(alpha), zQuantile(1-power)
	s := (za*math.Sqrt(p0*(1-p0)) + zb*math.Sqrt(p1*(1-p1))) / (p1 - p0)
	hi := max(2, int(s*s))
	for powerAt(hi) < power {
		hi *= 2
	}
	lo := hi / 4
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if powerAt(mid) >= power {
			hi = mid
		} else {
			lo = mid
		}
	}
	first := hi
	for n := hi - 1; n >= hi*4/5; n-- {
		if powerAt(n) >= power {
			first = n
		}
	}
	return first
}

// twoProportionN is the per-version n of the one-sided two-proportion z
// test of "candidate no worse" when the candidate fails margin more often
// than a baseline failing at pb.
func twoProportionN(pb, margin, alpha, power float64) int {
	pc := pb + margin
	pbar := (pb + pc) / 2
	za, zb := zQuantile(alpha), zQuantile(1-power)
	s := (za*math.Sqrt(2*pbar*(1-pbar)) + zb*math.Sqrt(pb*(1-pb)+pc*(1-pc))) / margin
	return int(math.Ceil(s * s))
}

// mannWhitneyN is Noether's per-version n for the Mann-Whitney test to see
// a shift of the tolerance, with the baseline's own spread: theta is the
// chance a baseline answer slowed by the tolerance is slower than another.
func (j *Judge) mannWhitneyN(alpha, power float64) int {
	bs := newSample(j.base.latency)
	if len(bs) < 2 {
		return 0
	}
	u, _ := mwU(bs, bs, -j.s.latencyMargin())
	n := bs.total()
	theta := u / (n * n)
	if theta <= 0.5 {
		return math.MaxInt32
	}
	za, zb := zQuantile(alpha), zQuantile(1-power)
	// N total = (za+zb)²/(12·c(1-c)·(θ-½)²) with c = ½, half per version.
	total := (za + zb) * (za + zb) / (3 * (theta - 0.5) * (theta - 0.5))
	return int(math.Ceil(total / 2))
}
