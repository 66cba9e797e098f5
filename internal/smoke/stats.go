package smoke

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// The decision rule for a share (a version's share of user traffic, or the
// mirrored share) is an exact two-sided binomial test: the observed count
// must fall inside the central 1-alpha range of Binomial(n, p). Shares of 0
// and 1 are not statistical at all: any deviation is a failure.

// Interval is the range of counts accepted out of N trials.
type Interval struct {
	Lo int `json:"lo"`
	Hi int `json:"hi"`
	N  int `json:"n"`
}

// Contains reports whether a count lies inside the interval.
func (iv Interval) Contains(k int) bool { return k >= iv.Lo && k <= iv.Hi }

// String renders the interval as percentages of N.
func (iv Interval) String() string {
	if iv.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f–%.1f%%", 100*float64(iv.Lo)/float64(iv.N), 100*float64(iv.Hi)/float64(iv.N))
}

// binomCDF is P(X <= k) for X ~ Binomial(n, p), exact at the edges where
// the incomplete beta function gets no help from gonum.
func binomCDF(k, n int, p float64) float64 {
	switch {
	case k < 0:
		return 0
	case k >= n:
		return 1
	case p <= 0:
		return 1
	case p >= 1:
		return 0
	}
	return distuv.Binomial{N: float64(n), P: p}.CDF(float64(k))
}

// smallestK returns the smallest k in [0, n] with binomCDF(k) >= target
// (CDF is non-decreasing in k, so binary search).
func smallestK(n int, p, target float64, strict bool) int {
	lo, hi := 0, n
	for lo < hi {
		mid := (lo + hi) / 2
		c := binomCDF(mid, n, p)
		if c > target || (!strict && c == target) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// AcceptInterval is the acceptance region of the exact two-sided test of
// "share == p" at level alpha, with alpha/2 in each tail: P(X < Lo) <=
// alpha/2 and P(X > Hi) <= alpha/2 under p.
func AcceptInterval(n int, p, alpha float64) Interval {
	switch {
	case n <= 0:
		return Interval{}
	case p <= 0:
		return Interval{0, 0, n}
	case p >= 1:
		return Interval{n, n, n}
	}
	lo := smallestK(n, p, alpha/2, true)
	hi := smallestK(n, p, 1-alpha/2, false)
	return Interval{lo, hi, n}
}

// RejectProb is the probability that a count drawn from Binomial(n, p1)
// falls outside the acceptance interval built for p0: the test's power
// when p1 != p0 and its false-alarm rate when p1 == p0.
func RejectProb(n int, p0, p1, alpha float64) float64 {
	iv := AcceptInterval(n, p0, alpha)
	return binomCDF(iv.Lo-1, n, p1) + 1 - binomCDF(iv.Hi, n, p1)
}

// SampleSizeShare returns the smallest N (searching up from the normal
// approximation) at which the exact test of share p0 at level alpha
// rejects a true share of p0±margin with at least the given power, for
// each direction that is still a share. p0 of 0 or 1 needs LeakSampleSize.
func SampleSizeShare(p0, margin, alpha, power float64) int {
	if p0 <= 0 || p0 >= 1 || margin <= 0 {
		return 0
	}
	za := distuv.UnitNormal.Quantile(1 - alpha/2)
	zb := distuv.UnitNormal.Quantile(power)
	need := 0
	for _, p1 := range []float64{p0 - margin, p0 + margin} {
		if p1 < 0 || p1 > 1 {
			continue // the share cannot be off in that direction by margin
		}
		// Normal approximation (Fleiss): N = ((za·σ0 + zb·σ1)/margin)².
		s := (za*math.Sqrt(p0*(1-p0)) + zb*math.Sqrt(p1*(1-p1))) / margin
		n := max(1, int(math.Ceil(s*s)))
		// The exact test is discrete and a little conservative: walk up
		// until the exact power is reached (bounded, it always is soon).
		for limit := 4*n + 100; n < limit && RejectProb(n, p0, p1, alpha) < power; n++ {
		}
		need = max(need, n)
	}
	return need
}

// LeakSampleSize is the N at which traffic leaking at rate margin to where
// none should go (a 0% version, a shadow's answer reaching users) shows up
// at least once with the given power: 1-(1-margin)^N >= power.
func LeakSampleSize(margin, power float64) int {
	if margin <= 0 || margin >= 1 {
		return 1
	}
	return int(math.Ceil(math.Log(1-power) / math.Log(1-margin)))
}

// BonferroniAlpha splits alpha over the k shares tested at once. Two
// complementary shares are one test (one count determines the other, and
// the equal-tailed intervals reject together), so they keep all of alpha.
func BonferroniAlpha(alpha float64, k int) float64 {
	if k <= 2 {
		return alpha
	}
	return alpha / float64(k)
}

// CanarySampleSize is the number of user requests that catches any
// version's share being off by margin with the given power while the
// whole split test keeps its false-alarm rate at alpha. shares are
// fractions summing to 1.
func CanarySampleSize(shares []float64, margin, alpha, power float64) int {
	a := BonferroniAlpha(alpha, countStatistical(shares))
	n := LeakSampleSize(margin, power)
	for _, p := range shares {
		n = max(n, SampleSizeShare(p, margin, a, power))
	}
	return n
}

// MirrorSampleSize is the number of user requests that catches a mirror
// rate off by margin (or a mirror that should be off but is not).
func MirrorSampleSize(share, margin, alpha, power float64) int {
	return max(LeakSampleSize(margin, power), SampleSizeShare(share, margin, alpha, power))
}

func countStatistical(shares []float64) int {
	k := 0
	for _, p := range shares {
		if p > 0 && p < 1 {
			k++
		}
	}
	return k
}

// ChiSquareGOF is Pearson's goodness-of-fit statistic over the categories
// with expected > 0, its degrees of freedom and p-value. It is reported
// alongside the per-version tests as one summary number.
func ChiSquareGOF(observed []int, expected []float64) (stat float64, df int, p float64) {
	k := 0
	for i, e := range expected {
		if e <= 0 {
			continue
		}
		d := float64(observed[i]) - e
		stat += d * d / e
		k++
	}
	df = k - 1
	if df < 1 {
		return stat, 0, math.NaN()
	}
	return stat, df, distuv.ChiSquared{K: float64(df)}.Survival(stat)
}

// Quantile returns the q-quantile (0..1) of xs by linear interpolation;
// xs is sorted in place.
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	sortFloats(xs)
	pos := q * float64(len(xs)-1)
	i := int(pos)
	if i >= len(xs)-1 {
		return xs[len(xs)-1]
	}
	f := pos - float64(i)
	return xs[i]*(1-f) + xs[i+1]*f
}

func sortFloats(xs []float64) { slices.Sort(xs) }

// TestShares is the split decision: each share's count must lie in its
// exact acceptance interval at the Bonferroni-corrected level. counts and
// shares are per version; the total is the sum of counts.
func TestShares(counts []int, shares []float64, alpha float64) ([]Interval, []bool) {
	n := 0
	for _, c := range counts {
		n += c
	}
	a := BonferroniAlpha(alpha, countStatistical(shares))
	ivs := make([]Interval, len(shares))
	ok := make([]bool, len(shares))
	for i, p := range shares {
		ivs[i] = AcceptInterval(n, p, a)
		ok[i] = ivs[i].Contains(counts[i])
	}
	return ivs, ok
}
