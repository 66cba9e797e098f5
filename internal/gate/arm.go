package gate

import (
	"math"
	"time"
)

// Outcome is what one request to a version showed.
type Outcome struct {
	// OK is a non-5xx answer; a request that got no answer is not OK.
	OK      bool
	Latency time.Duration
}

// Arm is everything measured of one version.
type Arm struct {
	Name     string
	Requests int
	Failures int
	// Slow counts answers slower than the p99 SLO.
	Slow int
	// latency holds log seconds, weighted.
	latency []Weighted
}

// add records outcomes; slowAbove is the p99 SLO.
func (a *Arm) add(outs []Outcome, slowAbove time.Duration) {
	for _, o := range outs {
		a.Requests++
		if !o.OK {
			a.Failures++
		}
		if o.Latency > slowAbove {
			a.Slow++
		}
		a.latency = append(a.latency, Weighted{Value: logSeconds(o.Latency), Count: 1})
	}
}

// HistogramArm builds an arm from counts and a latency histogram, as a
// metrics system keeps them: buckets maps each upper bound (seconds) to
// the count of answers at most that slow (cumulative, +Inf included).
// Each bucket's answers sit at the geometric middle of the bucket, so the
// latency tests see ties where a probe would see distinct values.
func HistogramArm(name string, requests, failures int, buckets []Bucket, slowAbove time.Duration) Arm {
	a := Arm{Name: name, Requests: requests, Failures: failures}
	prevLe, prevCount := 0.0, 0.0
	for _, b := range buckets {
		n := b.Count - prevCount
		if n > 0 {
			mid := b.UpperBound
			switch {
			case math.IsInf(b.UpperBound, 1):
				mid = prevLe * 1.5 // beyond the last bound: a guess, flagged as slow below
			case prevLe > 0:
				mid = math.Sqrt(prevLe * b.UpperBound)
			default:
				mid = b.UpperBound / 2
			}
			a.latency = append(a.latency, Weighted{Value: math.Log(math.Max(mid, 1e-6)), Count: n})
			if prevLe >= slowAbove.Seconds() {
				a.Slow += int(math.Round(n))
			}
		}
		prevLe, prevCount = b.UpperBound, b.Count
	}
	return a
}

// Bucket is one cumulative histogram bucket: Count answers took at most
// UpperBound seconds.
type Bucket struct {
	UpperBound float64
	Count      float64
}

func logSeconds(d time.Duration) float64 {
	return math.Log(math.Max(d.Seconds(), 1e-6))
}

// quantile is the q-quantile of latency (lower order statistic).
func (a *Arm) quantile(sorted sample, q float64) time.Duration {
	total := sorted.total()
	if total == 0 {
		return 0
	}
	rank := q * total
	seen := 0.0
	for _, w := range sorted {
		seen += w.Count
		if seen >= rank {
			return time.Duration(math.Exp(w.Value) * float64(time.Second))
		}
	}
	return time.Duration(math.Exp(sorted[len(sorted)-1].Value) * float64(time.Second))
}

func (a *Arm) failureRate() float64 {
	if a.Requests == 0 {
		return 0
	}
	return float64(a.Failures) / float64(a.Requests)
}
