package gate

import (
	"math"
	"slices"
)

// Weighted is a value seen Count times (1 for a probe's latency; a
// histogram bucket's count when judging from Prometheus).
type Weighted struct {
	Value float64
	Count float64
}

// sample is a sorted weighted sample.
type sample []Weighted

func newSample(ws []Weighted) sample {
	s := slices.Clone(ws)
	slices.SortFunc(s, func(a, b Weighted) int {
		switch {
		case a.Value < b.Value:
			return -1
		case a.Value > b.Value:
			return 1
		}
		return 0
	})
	return s
}

func (s sample) total() float64 {
	n := 0.0
	for _, w := range s {
		n += w.Count
	}
	return n
}

// mwZ is the Mann-Whitney z statistic of x shifted down by delta against
// y: positive when x-delta tends to be larger. Ties count half, and the
// variance is corrected for them. x and y are sorted.
func mwZ(x, y sample, delta float64) float64 {
	u, variance := mwU(x, y, delta)
	m, n := x.total(), y.total()
	if variance <= 0 {
		return 0
	}
	return (u - m*n/2) / math.Sqrt(variance)
}

// mwU is the Mann-Whitney U of x-delta against y and its variance under
// no difference, corrected for ties.
func mwU(x, y sample, delta float64) (u, variance float64) {
	m, n := x.total(), y.total()
	if m == 0 || n == 0 {
		return 0, 0
	}
	// U = Σ over x of (weight of y below x-δ + ½ weight of y equal to it),
	// and the tie term Σ(t³-t) over the pooled distinct values, in one merge.
	var ties, below float64
	j := 0
	i := 0
	for i < len(x) || j < len(y) {
		var v float64
		switch {
		case j >= len(y):
			v = x[i].Value - delta
		case i >= len(x):
			v = y[j].Value
		default:
			v = math.Min(x[i].Value-delta, y[j].Value)
		}
		var wx, wy float64
		for i < len(x) && x[i].Value-delta == v {
			wx += x[i].Count
			i++
		}
		for j < len(y) && y[j].Value == v {
			wy += y[j].Count
			j++
		}
		u += wx * (below + wy/2)
		below += wy
		t := wx + wy
		ties += t*t*t - t
	}
	N := m + n
	return u, m * n / 12 * ((N + 1) - ties/(N*(N-1)))
}

// shiftWhere finds the delta in [lo, hi] where f (non-increasing in delta)
// crosses target, by bisection.
func shiftWhere(f func(float64) float64, target, lo, hi float64) float64 {
	for range 60 {
		mid := (lo + hi) / 2
		if f(mid) > target {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// shiftRange bounds every delta worth searching: the widest difference
// between the samples.
func shiftRange(x, y sample) (float64, float64) {
	lo := x[0].Value - y[len(y)-1].Value
	hi := x[len(x)-1].Value - y[0].Value
	return lo - 1, hi + 1
}

// hodgesLehmann is the shift that balances the Mann-Whitney statistic: the
// median of the pairwise differences x-y.
func hodgesLehmann(x, y sample) float64 {
	lo, hi := shiftRange(x, y)
	return shiftWhere(func(d float64) float64 { return mwZ(x, y, d) }, 0, lo, hi)
}
