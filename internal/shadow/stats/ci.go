package stats

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// Interval is an estimate with its confidence interval.
type Interval struct {
	Estimate float64 `json:"estimate"`
	Low      float64 `json:"low"`
	High     float64 `json:"high"`
}

// Contains reports x inside the interval.
func (i Interval) Contains(x float64) bool { return i.Low <= x && x <= i.High }

// z is the standard normal quantile of p.
func z(p float64) float64 { return distuv.UnitNormal.Quantile(p) }

// Wilson is the Wilson score interval of k successes in n trials at the
// given confidence (two-sided). It behaves at 0 and n, where the normal
// (Wald) interval collapses, and its lower bound is what a one-sided
// score test at (1-confidence)/2 compares against.
func Wilson(k, n int64, confidence float64) Interval {
	if n == 0 {
		return Interval{Estimate: math.NaN(), Low: 0, High: 1}
	}
	p := float64(k) / float64(n)
	zz := z(1 - (1-confidence)/2)
	nf := float64(n)
	denom := 1 + zz*zz/nf
	center := (p + zz*zz/(2*nf)) / denom
	half := zz / denom * math.Sqrt(p*(1-p)/nf+zz*zz/(4*nf*nf))
	return clamped(p, center-half, center+half)
}

// clamped is the interval [low, high] cut to [0, 1] and widened to hold
// its estimate: at 0 of n and n of n rounding leaves the bound a hair off
// (1e-19 above 0, 0.9999999999999999), which would read as an interval
// excluding its own estimate.
func clamped(estimate, low, high float64) Interval {
	switch {
	case estimate == 0:
		low = 0
	case estimate == 1:
		high = 1
	}
	return Interval{
		Estimate: estimate,
		Low:      math.Max(0, math.Min(low, estimate)),
		High:     math.Min(1, math.Max(high, estimate)),
	}
}

// QuantileCI is the q-quantile of sorted data with a distribution-free
// interval from order statistics: the ranks l and u with
// P(l <= B < u) >= confidence for B ~ Binomial(n, q). Where the sample is
// too small for a bound (p99 of 50 values has no upper one), the bound is
// infinite: honest, and null in JSON.
func QuantileCI(sorted []float64, q, confidence float64) Interval {
	n := len(sorted)
	if n == 0 {
		return Interval{Estimate: math.NaN(), Low: math.NaN(), High: math.NaN()}
	}
	// The estimate is the smallest value with at least q of the sample at
	// or below it.
	est := sorted[min(n-1, max(0, int(math.Ceil(q*float64(n)))-1))]
	alpha := 1 - confidence
	b := distuv.Binomial{N: float64(n), P: q}
	// l, the largest 1-based rank with P(B <= l-1) <= alpha/2, is the first
	// k with P(B <= k) > alpha/2.
	l := sort.Search(n+1, func(k int) bool { return b.CDF(float64(k)) > alpha/2 })
	lo := math.Inf(-1)
	if l >= 1 {
		lo = sorted[l-1]
	}
	// u: the smallest rank with P(B >= u) <= alpha/2, i.e. CDF(u-1) >= 1-alpha/2.
	u := sort.Search(n+1, func(k int) bool { return b.CDF(float64(k)) >= 1-alpha/2 }) + 1
	hi := math.Inf(1)
	if u <= n {
		hi = sorted[u-1]
	}
	return Interval{Estimate: est, Low: math.Min(lo, est), High: math.Max(hi, est)}
}

// DifferenceCI bounds the difference of two independent estimates from
// their intervals: each at (1+confidence)/2, so by Bonferroni the
// difference's interval covers with at least the confidence asked.
func DifferenceCI(a, b Interval) Interval {
	return Interval{Estimate: a.Estimate - b.Estimate, Low: a.Low - b.High, High: a.High - b.Low}
}

// ScoreTest is the two-sided score (z) test of k successes in n trials
// against the proportion p0; it returns the p-value.
func ScoreTest(k, n int64, p0 float64) float64 {
	if n == 0 || p0 <= 0 || p0 >= 1 {
		if n > 0 && ((p0 <= 0 && k == 0) || (p0 >= 1 && k == n)) {
			return 1
		}
		if n == 0 {
			return 1
		}
		return 0
	}
	return math.Min(1, 2*normalTail(scoreZ(k, n, p0)))
}

// Log10ScoreTest is ScoreTest's p-value as its base-10 logarithm, finite
// where the p-value itself underflows to 0 (beyond about 1e-308).
func Log10ScoreTest(k, n int64, p0 float64) float64 {
	if n == 0 || p0 <= 0 || p0 >= 1 {
		return math.Log10(ScoreTest(k, n, p0))
	}
	return math.Min(0, (math.Ln2+logNormalTail(scoreZ(k, n, p0)))/math.Ln10)
}

// scoreZ is the absolute score statistic of k in n against p0.
func scoreZ(k, n int64, p0 float64) float64 {
	p := float64(k) / float64(n)
	return math.Abs(p-p0) / math.Sqrt(p0*(1-p0)/float64(n))
}

// normalTail is P(Z > x) for a standard normal Z, from erfc: 1 - Φ(x)
// cancels to 0 past x of about 8 (a p-value of 1e-15 and less read 0),
// erfc keeps every digit down to 1e-308.
func normalTail(x float64) float64 { return 0.5 * math.Erfc(x/math.Sqrt2) }

// logNormalTail is ln P(Z > x): from erfc while it is a normal number,
// beyond that from the asymptotic series of the Mills ratio,
// ln φ(x) - ln x + ln(1 - 1/x² + 3/x⁴ - 15/x⁶), whose error there is
// below 1e-9 relative.
func logNormalTail(x float64) float64 {
	if t := normalTail(x); t > 1e-300 {
		return math.Log(t)
	}
	x2 := x * x
	series := 1 - 1/x2 + 3/(x2*x2) - 15/(x2*x2*x2)
	return -x2/2 - math.Log(x) - 0.5*math.Log(2*math.Pi) + math.Log(series)
}

// DetectableShift is the smallest change of a proportion near p0 that a
// two-sided test at alpha catches with the given power from n trials
// (normal approximation).
func DetectableShift(p0 float64, n int64, alpha, power float64) float64 {
	if n == 0 {
		return math.Inf(1)
	}
	return (z(1-alpha/2) + z(power)) * math.Sqrt(p0*(1-p0)/float64(n))
}

// PassingRate is the true rate that clears a gate on the lower bound of
// the two-sided interval at confidence with the given probability (power)
// from n trials, for a gate at min (normal approximation).
func PassingRate(min float64, n int64, confidence, power float64) float64 {
	if n == 0 {
		return math.NaN()
	}
	r := min + (z(1-(1-confidence)/2)+z(power))*math.Sqrt(min*(1-min)/float64(n))
	return math.Min(1, r)
}
