package gate

import (
	"math"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"
)

// sprt is Wald's sequential probability ratio test of a Bernoulli rate:
// good (p0) against bad (p1 > p0). Its likelihood ratio is a martingale
// under p0 (a supermartingale below it), so by Ville's inequality it ever
// reaches 1/alpha with chance at most alpha; its inverse likewise under p1.
type sprt struct{ p0, p1 float64 }

// logLR is the log likelihood ratio bad:good after k events in n trials.
func (t sprt) logLR(k, n int) float64 {
	return float64(k)*math.Log(t.p1/t.p0) + float64(n-k)*math.Log((1-t.p1)/(1-t.p0))
}

// drift is the expected change of logLR per trial when the rate is p.
func (t sprt) drift(p float64) float64 {
	return p*math.Log(t.p1/t.p0) + (1-p)*math.Log((1-t.p1)/(1-t.p0))
}

// Robbins' beta-binomial mixture: for a Bernoulli rate p, the ratio of the
// Beta(a, b)-mixed likelihood to the likelihood at p is a martingale under
// p, so {p : ratio < 1/alpha} holds the true rate at every n at once with
// chance 1-alpha. A prior weighted towards small rates (failures are rare)
// makes the bounds of a near-perfect version tight soonest.
const mixA, mixB = 0.5, 4.0

func logMixtureRatio(k, n int, p float64) float64 {
	kf, nf := float64(k), float64(n)
	lm := mathext.Lbeta(mixA+kf, mixB+nf-kf) - mathext.Lbeta(mixA, mixB)
	var ll float64
	if k > 0 {
		ll += kf * math.Log(p)
	}
	if n > k {
		ll += (nf - kf) * math.Log1p(-p)
	}
	return lm - ll
}

// rateUpper is the anytime-valid upper confidence bound on a Bernoulli
// rate after k events in n trials, at level 1-alpha.
func rateUpper(k, n int, alpha float64) float64 {
	if n == 0 {
		return 1
	}
	target := math.Log(1 / alpha)
	lo, hi := float64(k)/float64(n), 1.0
	if logMixtureRatio(k, n, hi-1e-12) < target {
		return 1
	}
	_, hi = bisect(lo, hi, func(p float64) bool { return logMixtureRatio(k, n, p) < target })
	return hi
}

// rateLower is the anytime-valid lower confidence bound, at 1-alpha.
func rateLower(k, n int, alpha float64) float64 {
	if n == 0 || k == 0 {
		return 0
	}
	target := math.Log(1 / alpha)
	lo, hi := 0.0, float64(k)/float64(n)
	if logMixtureRatio(k, n, 1e-12) < target {
		return 0
	}
	lo, _ = bisect(lo, hi, func(p float64) bool { return logMixtureRatio(k, n, p) >= target })
	return lo
}

// bisect narrows [lo, hi] around the point where below stops holding
// (below true at lo, false at hi), in 40 halvings.
func bisect(lo, hi float64, below func(float64) bool) (float64, float64) {
	for range 40 {
		mid := (lo + hi) / 2
		if below(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, hi
}

// mixtureZ is the anytime-valid one-sided z threshold of Robbins' normal
// mixture (half-normal mixing density with precision rho) at information
// t: a standardized statistic whose sum S_t has unit-variance increments
// ever exceeds z·sqrt(t) with chance at most alpha. This is the boundary of
// the mixture SPRT (mSPRT); here it is applied to an asymptotically normal
// statistic, which makes it an asymptotic confidence sequence
// (Waudby-Smith et al., "Time-uniform central limit theory", 2021).
func mixtureZ(t, rho, alpha float64) float64 {
	if t <= 0 {
		return math.Inf(1)
	}
	// log M(s) = log 2 + ½log(ρ/(t+ρ)) + s²/(2(t+ρ)) + log Φ(s/√(t+ρ)),
	// increasing in s.
	v := t + rho
	logM := func(s float64) float64 {
		return math.Ln2 + 0.5*math.Log(rho/v) + s*s/(2*v) + math.Log(distuv.UnitNormal.CDF(s/math.Sqrt(v)))
	}
	target := math.Log(1 / alpha)
	lo, hi := 0.0, 1.0
	for logM(hi) < target {
		hi *= 2
	}
	for range 60 {
		mid := (lo + hi) / 2
		if logM(mid) < target {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi / math.Sqrt(t)
}

// mixtureRho tunes the normal mixture to be tightest near information t0
// (Howard et al., "Time-uniform, nonparametric, nonasymptotic confidence
// sequences", 2021, the choice of rho for a target time).
func mixtureRho(t0, alpha float64) float64 {
	l := 2 * math.Log(1/alpha)
	return t0 / (l + math.Log(1+l))
}

// zQuantile is the upper alpha quantile of the standard normal.
func zQuantile(alpha float64) float64 { return distuv.UnitNormal.Quantile(1 - alpha) }
