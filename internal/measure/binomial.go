package measure

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Exact binomial statistics. Every count the tools judge (a version's share
// of answers, mirrored copies, failures) is a number of successes out of n
// independent trials, so the tests are exact binomial tests: no normal
// approximation decides a verdict, it only seeds sample-size searches.

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

// BinomCDF is P(X <= k) for X ~ Binomial(n, p), exact at the edges where
// the incomplete beta function gets no help from gonum.
func BinomCDF(k, n int, p float64) float64 {
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

// smallestK returns the smallest k in [0, n] with BinomCDF(k) >= target
// (> target when strict); the CDF is non-decreasing in k.
func smallestK(n int, p, target float64, strict bool) int {
	lo, hi := 0, n
	for lo < hi {
		mid := (lo + hi) / 2
		c := BinomCDF(mid, n, p)
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
// alpha/2 and P(X > Hi) <= alpha/2 under p. Shares of 0 and 1 are not
// statistical: any deviation is a failure (see LeakSampleSize for power).
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
	return BinomCDF(iv.Lo-1, n, p1) + 1 - BinomCDF(iv.Hi, n, p1)
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

// LeakSampleSize is the N at which traffic leaking at rate leak to where
// none should go (a 0% version, a shadow's answer reaching users, a mirror
// that should be off) shows up at least once with the given power:
// 1-(1-leak)^N >= power. The test itself is exact: any such answer fails.
func LeakSampleSize(leak, power float64) int {
	if leak <= 0 || leak >= 1 {
		return 1
	}
	return int(math.Ceil(math.Log(1-power) / math.Log(1-leak)))
}

// DetectableLeak is the smallest leak rate that n requests catch (at least
// one leaked answer) with the given power: the inverse of LeakSampleSize.
func DetectableLeak(n int, power float64) float64 {
	if n <= 0 {
		return 1
	}
	return 1 - math.Pow(1-power, 1/float64(n))
}

// BonferroniAlpha splits alpha over k tests run at once, so the chance
// that any of them false-alarms stays at most alpha.
func BonferroniAlpha(alpha float64, k int) float64 {
	if k <= 1 {
		return alpha
	}
	return alpha / float64(k)
}

// ShareTests is how many independent share tests a split needs: shares
// strictly between 0 and 1 each need one, except that two complementary
// shares are one test (one count determines the other, and the
// equal-tailed intervals reject together). 0 and 1 need no test.
func ShareTests(shares []float64) int {
	k := 0
	for _, p := range shares {
		if p > 0 && p < 1 {
			k++
		}
	}
	if k == 2 {
		return 1
	}
	return k
}

// TestShares is the split decision: each share's count must lie in its
// exact acceptance interval at level alpha (already corrected for the
// number of tests by the caller). The total is the sum of counts.
func TestShares(counts []int, shares []float64, alpha float64) ([]Interval, []bool) {
	n := 0
	for _, c := range counts {
		n += c
	}
	ivs := make([]Interval, len(shares))
	ok := make([]bool, len(shares))
	for i, p := range shares {
		ivs[i] = AcceptInterval(n, p, alpha)
		ok[i] = ivs[i].Contains(counts[i])
	}
	return ivs, ok
}

// Error budgets. A version may fail a tolerated share of requests; the
// budget is the one-sided exact test of "failure rate <= tolerated": n
// requests fail the budget when more than ErrorLimit of them failed. The
// limit is at least what a version failing at exactly the tolerated rate
// reaches 1-alpha of the time, so it never rounds a 1% budget down to 0
// failures on a small N; with tolerated == 0 any failure fails.

// ErrorLimit is the largest number of failures out of n accepted when
// the tolerated failure rate is tolerated, at level alpha: the smallest k
// with P(X > k) <= alpha for X ~ Binomial(n, tolerated).
func ErrorLimit(n int, tolerated, alpha float64) int {
	if n <= 0 || tolerated <= 0 {
		return 0
	}
	if tolerated >= 1 {
		return n
	}
	return smallestK(n, tolerated, 1-alpha, false)
}

// ErrorPower is the chance that n requests from a version failing at rate
// actual exceed ErrorLimit(n, tolerated, alpha): the budget's power when
// actual > tolerated, its false-alarm rate when actual <= tolerated.
func ErrorPower(n int, tolerated, actual, alpha float64) float64 {
	return 1 - BinomCDF(ErrorLimit(n, tolerated, alpha), n, actual)
}

// ErrorSampleSize is the number of requests to one version at which a
// failure rate of detect (> tolerated) exceeds the budget with at least
// the given power.
func ErrorSampleSize(tolerated, detect, alpha, power float64) int {
	if detect <= tolerated || detect >= 1 {
		return 0
	}
	if tolerated <= 0 {
		return LeakSampleSize(detect, power) // any failure fails
	}
	za := distuv.UnitNormal.Quantile(1 - alpha)
	zb := distuv.UnitNormal.Quantile(power)
	s := (za*math.Sqrt(tolerated*(1-tolerated)) + zb*math.Sqrt(detect*(1-detect))) / (detect - tolerated)
	n := max(1, int(math.Ceil(s*s))/2)
	// The power of a discrete test is not monotone in n (saw-toothed):
	// take the first n from which it holds for a while.
	for limit := 8*n + 100; n < limit; n++ {
		if ErrorPower(n, tolerated, detect, alpha) >= power && ErrorPower(n+1, tolerated, detect, alpha) >= power {
			return n
		}
	}
	return n
}

// DetectableErrorRate is the smallest failure rate that n requests flag
// (exceed the budget) with the given power, to 0.1 percentage point.
func DetectableErrorRate(n int, tolerated, alpha, power float64) float64 {
	if n <= 0 {
		return 1
	}
	lo, hi := max(tolerated, 0), 1.0
	for hi-lo > 0.0005 {
		mid := (lo + hi) / 2
		if ErrorPower(n, tolerated, mid, alpha) >= power {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
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
