package measure

import (
	"math"
	"net/http"
	"slices"
	"time"
)

// Tally aggregates answers per answering version. It is not safe for
// concurrent use; Client.Send serialises its observe calls, so adding to a
// Tally from there needs no lock.
type Tally struct {
	versions map[string]*VersionTally
	// Unattributed holds answers that named no version: transport errors,
	// and errors of the ingress or activator (no model answered).
	Unattributed VersionTally
}

// NewTally returns an empty tally.
func NewTally() *Tally { return &Tally{versions: map[string]*VersionTally{}} }

// Version returns the tally of one version, creating it empty.
func (t *Tally) Version(name string) *VersionTally {
	v, ok := t.versions[name]
	if !ok {
		v = &VersionTally{Version: name}
		t.versions[name] = v
	}
	return v
}

// Versions lists the versions seen (or asked for), sorted by name.
func (t *Tally) Versions() []string {
	names := make([]string, 0, len(t.versions))
	for n := range t.versions {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Add counts an answer of a shared route (the user host) for the version
// it names, or as unattributed when it names none.
func (t *Tally) Add(a Answer) {
	if a.Version == "" {
		t.Unattributed.add(a)
		return
	}
	t.Version(a.Version).add(a)
}

// AddOwn counts an answer from version's own host (a Knative tag host, a
// per-version Istio route). Only that version may answer there: an answer
// naming another version is counted as Misrouted and is not evidence
// about either; an answer naming none is evidence for version (the route
// can only reach it) and counted as Unnamed, so a report can say the
// version could not be confirmed.
func (t *Tally) AddOwn(version string, a Answer) {
	v := t.Version(version)
	switch a.Version {
	case version:
	case "":
		if a.Status != 0 {
			v.Unnamed++
		}
	default:
		v.Misrouted++
		if v.FirstMisroute == "" {
			v.FirstMisroute = a.Version
		}
		return
	}
	v.add(a)
}

// Total is the sum of Requests over versions and unattributed answers.
func (t *Tally) Total() int {
	n := t.Unattributed.Requests
	for _, v := range t.versions {
		n += v.Requests
	}
	return n
}

// VersionTally is what one version's answers showed.
type VersionTally struct {
	Version string
	// Requests counts answers attributed to the version, failures included.
	Requests int
	// OK counts 200s; Failures counts 5xx and no answer (see
	// Answer.Failed); the rest (3xx, 4xx) are neither.
	OK       int
	Failures int
	// ByStatus counts answers by HTTP status (0: no answer).
	ByStatus map[int]int
	// Retried counts requests that needed more than one attempt.
	Retried int
	// Unnamed counts own-host answers without X-Model-Version; Misrouted
	// counts own-host answers from another version (FirstMisroute names
	// one), which are not in Requests.
	Unnamed       int
	Misrouted     int
	FirstMisroute string
	// FirstProblem describes the first answer that was not a 200.
	FirstProblem string
	// Latencies of the 200 answers in seconds, in arrival order. Failures
	// are left out: a fast 500 must not make a version look quick.
	Latencies []float64
}

func (v *VersionTally) add(a Answer) {
	v.Requests++
	if v.ByStatus == nil {
		v.ByStatus = map[int]int{}
	}
	v.ByStatus[a.Status]++
	if a.Attempts > 1 {
		v.Retried++
	}
	switch {
	case a.OK():
		v.OK++
		v.Latencies = append(v.Latencies, a.Latency.Seconds())
	case a.Failed():
		v.Failures++
	}
	if a.Status != http.StatusOK && v.FirstProblem == "" {
		v.FirstProblem = a.Problem()
	}
}

// FailureRate is Failures/Requests (0 with no requests).
func (v *VersionTally) FailureRate() float64 {
	if v.Requests == 0 {
		return 0
	}
	return float64(v.Failures) / float64(v.Requests)
}

// InterpolatedLatency is the q-quantile (0..1) of the 200 answers'
// latency, interpolated between order statistics (InterpolatedQuantile):
// a description of the sample, unlike the gate's p99 SLO (a count of
// answers over the limit) or its table's sample quantiles (the lower
// order statistic).
func (v *VersionTally) InterpolatedLatency(q float64) time.Duration {
	x := InterpolatedQuantile(slices.Clone(v.Latencies), q)
	if math.IsNaN(x) {
		return 0
	}
	return time.Duration(x * float64(time.Second))
}

// InterpolatedQuantile returns the q-quantile (0..1) of xs by linear
// interpolation between order statistics (NaN for none); xs is sorted in
// place.
func InterpolatedQuantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	slices.Sort(xs)
	pos := q * float64(len(xs)-1)
	i := int(pos)
	if i >= len(xs)-1 {
		return xs[len(xs)-1]
	}
	f := pos - float64(i)
	return xs[i]*(1-f) + xs[i+1]*f
}

// Budget is a version's error budget judged on its requests.
type Budget struct {
	Requests  int     `json:"requests"`
	Failures  int     `json:"failures"`
	Limit     int     `json:"limit"`     // most failures accepted
	Alpha     float64 `json:"alpha"`     // level of the one-sided exact test
	Tolerated float64 `json:"tolerated"` // failure rate accepted
	// Detectable is the failure rate these requests catch with the
	// power the budget was judged at.
	Detectable float64 `json:"detectable"`
	OK         bool    `json:"ok"`
}

// JudgeBudget applies the one-sided exact test of "failure rate <=
// tolerated" at alpha to a version's tally.
func JudgeBudget(v *VersionTally, tolerated, alpha, power float64) Budget {
	lim := ErrorLimit(v.Requests, tolerated, alpha)
	return Budget{
		Requests: v.Requests, Failures: v.Failures, Limit: lim, Alpha: alpha, Tolerated: tolerated,
		Detectable: DetectableErrorRate(v.Requests, tolerated, alpha, power),
		OK:         v.Failures <= lim,
	}
}
