package gate

import (
	"math"

	"github.com/modelrollouts/modelrollouts/internal/measure"
)

// The errors criterion compares failure rates on pairs of requests: the
// i-th to the candidate with the i-th to the baseline. A pair's outcome X
// is +1 (only the candidate failed), -1 (only the baseline failed) or 0,
// and its mean is d = candidate's failure rate - baseline's, whatever the
// rates are: no nuisance parameter, so a clean baseline costs nothing.
//
// Each hypothesis about d is tested by betting (Waudby-Smith & Ramdas,
// "Estimating means of bounded random variables by betting", 2023): the
// wealth ∏(1 + λ(X - d0)) of a bet against "d ≤ d0" (or ∏(1 - λ(X - d0))
// against "d ≥ d0") is a nonnegative supermartingale while the
// hypothesis holds, so by Ville's inequality it ever reaches 1/α with
// chance at most α: anytime-valid at every look. The bet is averaged over
// a grid of λ (a mixture of supermartingales is one), which is within the
// grid's log size of the best λ in hindsight. Against d ≤ 0 this is a
// sequential sign test on the pairs in which exactly one request failed.
//
// Only counts are needed: the wealth falls with every pair in which both
// failed and with every failure that may sit outside the pairs, so the
// counts' worst placement gives a lower bound of the paired wealth,
// which keeps every guarantee (and serves metrics, which have no pairs).

// lambdaGrid is the number of bets averaged.
const lambdaGrid = 50

// failureCounts are both versions' failures and requests.
type failureCounts struct{ kc, nc, kb, nb int }

func countsOf(cand, base *Arm) failureCounts {
	return failureCounts{cand.Failures, cand.Requests, base.Failures, base.Requests}
}

// pairs places the failures in the min(nc, nb) pairs: up (candidate
// failed alone) and down (baseline failed alone) as the wealth against
// "d ≤ d0" would least like them (few candidate failures, many baseline
// ones, none together); or, for the wealth against "d ≥ d0", the reverse.
func (f failureCounts) pairs(againstAbove bool) (m, up, down int) {
	m = min(f.nc, f.nb)
	if againstAbove {
		// Least wealth against "d ≥ d0": candidate failures all paired,
		// baseline failures outside the pairs where they can be.
		up, down = min(f.kc, m), max(0, f.kb-(f.nb-m))
	} else {
		up, down = max(0, f.kc-(f.nc-m)), min(f.kb, m)
	}
	// Failures that cannot all be alone share pairs (X = 0).
	if both := max(0, up+down-m); both > 0 {
		up, down = up-both, down-both
	}
	return m, up, down
}

// logWealthBelow is the log wealth of the bet against "d ≤ d0": large
// when the candidate fails more than d0 above the baseline.
func (f failureCounts) logWealthBelow(d0 float64) float64 {
	m, up, down := f.pairs(false)
	return logMeanBet(m, up, down, d0, 1/(1+d0), 1)
}

// logWealthAbove is the log wealth of the bet against "d ≥ d0": large
// when the candidate fails less than d0 above the baseline.
func (f failureCounts) logWealthAbove(d0 float64) float64 {
	m, up, down := f.pairs(true)
	return logMeanBet(m, up, down, d0, 1/(1-d0), -1)
}

// logMeanBet is log mean over λ of ∏(1 + sign·λ(X - d0)), λ up to lmax
// (where a pair could wipe the wealth out), for m pairs of which up are
// +1 and down -1.
func logMeanBet(m, up, down int, d0, lmax, sign float64) float64 {
	zero := m - up - down
	logs := make([]float64, lambdaGrid)
	best := math.Inf(-1)
	for i := range logs {
		l := sign * lmax * float64(i+1) / float64(lambdaGrid+1)
		v := float64(zero)*math.Log1p(-l*d0) + float64(up)*math.Log1p(l*(1-d0)) + float64(down)*math.Log1p(-l*(1+d0))
		logs[i] = v
		best = max(best, v)
	}
	sum := 0.0
	for _, v := range logs {
		sum += math.Exp(v - best)
	}
	return best + math.Log(sum/lambdaGrid)
}

// diffLower is the largest d0 that "d ≤ d0" is rejected for at alpha:
// the difference's anytime-valid lower bound (-1 when none is).
func (f failureCounts) diffLower(alpha float64) float64 {
	target := math.Log(1 / alpha)
	lo, hi := -1.0, 1.0
	if f.logWealthBelow(lo+1e-9) < target {
		return -1
	}
	for range 40 {
		mid := (lo + hi) / 2
		if f.logWealthBelow(mid) >= target {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// diffUpper is the smallest d0 that "d ≥ d0" is rejected for at alpha:
// the difference's anytime-valid upper bound (1 when none is).
func (f failureCounts) diffUpper(alpha float64) float64 {
	target := math.Log(1 / alpha)
	lo, hi := -1.0, 1.0
	if f.logWealthAbove(hi-1e-9) < target {
		return 1
	}
	for range 40 {
		mid := (lo + hi) / 2
		if f.logWealthAbove(mid) >= target {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// signTestP is the one-sided p-value, taken once at this sample size, of
// the exact sign test of "the candidate fails no more often than the
// baseline": of the pairs in which one request failed, as many or more
// were the candidate's. Fisher's exact test gives nearly the same p when
// failures are rare (8 of 2,396 against 0 of 2,396: 0.0039 here, 0.0039
// by Fisher).
func (f failureCounts) signTestP() float64 {
	_, up, down := f.pairs(false)
	if up == 0 {
		return 1
	}
	return 1 - measure.BinomCDF(up-1, up+down, 0.5)
}
