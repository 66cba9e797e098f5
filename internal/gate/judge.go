package gate

import (
	"fmt"
	"math"
	"time"
)

// Verdict is the gate's answer.
type Verdict string

const (
	Promote      Verdict = "promote"
	Rollback     Verdict = "rollback"
	Inconclusive Verdict = "inconclusive"
	// Undecided is a criterion (or a run) still collecting evidence.
	Undecided Verdict = "undecided"
)

// Criterion names.
const (
	CritSuccess = "success-rate SLO"
	CritP99     = "p99 SLO"
	CritLatency = "latency vs baseline"
	CritErrors  = "errors vs baseline"
)

// Judge accumulates both versions' outcomes and judges the candidate.
type Judge struct {
	s         Settings
	cand      Arm
	base      Arm
	rho       float64
	decidedAt map[string]int // criteria met (latched) at this many requests
	sloFixedN int            // the SLO tests' fixed N, computed once
}

// NewJudge starts a judgement of candidate against baseline.
func NewJudge(s Settings, candidate, baseline string) *Judge {
	return &Judge{
		s:         s,
		cand:      Arm{Name: candidate},
		base:      Arm{Name: baseline},
		rho:       mixtureRho(float64(s.MinRequests), s.criterionAlpha()),
		decidedAt: map[string]int{},
	}
}

// Add records outcomes of both versions.
func (j *Judge) Add(candidate, baseline []Outcome) {
	j.cand.add(candidate, j.s.MaxP99)
	j.base.add(baseline, j.s.MaxP99)
}

// SetArms replaces what was measured (metrics give totals, not outcomes).
func (j *Judge) SetArms(candidate, baseline Arm) {
	j.cand, j.base = candidate, baseline
}

// Requests is the smaller of the two versions' request counts.
func (j *Judge) Requests() int { return min(j.cand.Requests, j.base.Requests) }

// Interval is an estimate with anytime-valid bounds.
type Interval struct {
	Estimate float64 `json:"estimate"`
	Lo       float64 `json:"lo"`
	Hi       float64 `json:"hi"`
}

// VersionRow is one version's line of the table.
type VersionRow struct {
	Version     string    `json:"version"`
	Role        string    `json:"role"`
	Requests    int       `json:"requests"`
	Failures    int       `json:"failures"`
	SuccessRate Interval  `json:"successRate"`
	P50         float64   `json:"p50Ms"`
	P95         float64   `json:"p95Ms"`
	P99         float64   `json:"p99Ms"`
	LatencyDiff *Interval `json:"latencyDiff,omitempty"` // relative: 0.25 = 25% slower
	ErrorDiff   *Interval `json:"errorDiff,omitempty"`   // failure-rate points
	Verdict     Verdict   `json:"verdict"`
	Note        string    `json:"note,omitempty"`
}

// CriterionResult is one criterion's state.
type CriterionResult struct {
	Name      string  `json:"name"`
	Test      string  `json:"test"`
	Alpha     float64 `json:"alpha"`
	Power     float64 `json:"power"`
	State     Verdict `json:"state"` // promote (met), rollback (broken) or undecided
	DecidedAt int     `json:"decidedAt,omitempty"`
	Detail    string  `json:"detail"`
	// project, when set, projects the current estimates forward: the
	// further requests per version to a decision (-1: none in sight) and
	// which decision. Computed only for an inconclusive end.
	project func() (int, Verdict)
}

// Result is the gate's judgement so far.
type Result struct {
	Verdict     Verdict           `json:"verdict"`
	Reason      string            `json:"reason"`
	Requests    int               `json:"requestsPerVersion"`
	MaxRequests int               `json:"maxRequestsPerVersion"`
	FixedN      int               `json:"fixedNPerVersion"`
	NeedMore    int               `json:"needMorePerVersion,omitempty"`
	Versions    []VersionRow      `json:"versions"`
	Criteria    []CriterionResult `json:"criteria"`
	Method      string            `json:"method"`
}

// Judge evaluates the evidence so far. final says the budget is spent: an
// undecided run is then inconclusive.
func (j *Judge) Judge(final bool) *Result {
	s := j.s
	n := j.Requests()
	r := &Result{Requests: n, FixedN: j.FixedN(), Method: s.Method()}
	r.MaxRequests = s.MaxRequests
	if r.MaxRequests == 0 {
		r.MaxRequests = r.FixedN
	}
	ready := n >= s.MinRequests

	cs, bs := newSample(j.cand.latency), newSample(j.base.latency)
	crits := []CriterionResult{
		j.sloCriterion(CritSuccess, &j.cand, j.cand.Failures, s.failureBudget(), fmt.Sprintf("success ≥ %.4g%%", 100*s.MinSuccessRate)),
		j.sloCriterion(CritP99, &j.cand, j.cand.Slow, p99Budget, fmt.Sprintf("p99 ≤ %s", s.MaxP99)),
		j.latencyCriterion(cs, bs),
		j.errorCriterion(),
	}
	broken, met := []string{}, 0
	for i := range crits {
		c := &crits[i]
		if !ready {
			c.State = Undecided
		}
		switch c.State {
		case Rollback:
			broken = append(broken, c.Name)
		case Promote:
			if _, ok := j.decidedAt[c.Name]; !ok {
				j.decidedAt[c.Name] = n
			}
		}
		// A met criterion stays met: its evidence crossed the boundary.
		if at, ok := j.decidedAt[c.Name]; ok && c.State != Rollback {
			c.State, c.DecidedAt = Promote, at
		}
		if c.State == Promote {
			met++
		}
	}
	r.Criteria = crits
	switch {
	case len(broken) > 0:
		r.Verdict = Rollback
		r.Reason = fmt.Sprintf("%s broken after %d requests per version", joinAnd(broken), n)
	case met == len(crits):
		r.Verdict = Promote
		r.Reason = fmt.Sprintf("every criterion met after %d requests per version (a fixed-N test with the same error rates needs %d)", n, r.FixedN)
	case !ready:
		r.Verdict = Undecided
		r.Reason = fmt.Sprintf("%d of the %d requests per version needed before any verdict", n, s.MinRequests)
	default:
		r.Verdict = Undecided
		r.Reason = fmt.Sprintf("%d of %d criteria met after %d requests per version", met, len(crits), n)
	}
	if final && r.Verdict == Undecided {
		r.Verdict = Inconclusive
		r.NeedMore = j.needMore(crits)
		if r.NeedMore > 0 {
			r.Reason += fmt.Sprintf("; about %d more requests per version would decide", r.NeedMore)
		} else {
			r.Reason += "; no number of requests is in sight to decide: the candidate sits at a limit"
		}
	}
	r.Versions = []VersionRow{j.versionRow(&j.base, "baseline", bs), j.versionRow(&j.cand, "candidate", cs)}
	cand := &r.Versions[1]
	for _, c := range crits {
		if c.Name == CritLatency {
			cand.LatencyDiff = j.latencyDiff(cs, bs)
		}
	}
	cand.ErrorDiff = j.errorDiff()
	if r.Verdict == Promote || r.Verdict == Rollback {
		cand.Verdict = r.Verdict
	} else {
		cand.Verdict = Undecided
	}
	return r
}

// sloCriterion is an SPRT of a rate against its budget.
func (j *Judge) sloCriterion(name string, a *Arm, events int, budget float64, label string) CriterionResult {
	s := j.s
	t := sprt{p0: sloGoodShare * budget, p1: budget}
	alpha, beta := s.criterionAlpha(), s.beta()
	llr := t.logLR(events, a.Requests)
	c := CriterionResult{
		Name: name, Alpha: alpha, Power: s.Power, State: Undecided,
		Test: fmt.Sprintf("%s: SPRT %.3g%% vs %.3g%%", label, 100*t.p0, 100*t.p1),
	}
	rate := 0.0
	if a.Requests > 0 {
		rate = float64(events) / float64(a.Requests)
	}
	up, down := math.Log(1/alpha), math.Log(beta)
	c.Detail = fmt.Sprintf("%d of %d (%.3g%%), likelihood ratio %.3g (rollback at %.3g, promote at %.3g)",
		events, a.Requests, 100*rate, math.Exp(llr), 1/alpha, beta)
	switch {
	case llr >= up:
		c.State = Rollback
	case llr <= down:
		c.State = Promote
	}
	// Project with a smoothed rate, so a clean run still drifts down.
	p := (float64(events) + 0.5) / (float64(a.Requests) + 1)
	d := t.drift(p)
	c.project = func() (int, Verdict) {
		switch {
		case d > 1e-9:
			return int(math.Ceil((up - llr) / d)), Rollback
		case d < -1e-9:
			return int(math.Ceil((down - llr) / d)), Promote
		}
		return -1, Undecided
	}
	return c
}

// latencyCriterion judges the candidate's log-latency shift against the
// baseline: rollback when it is significantly above 0 and its estimate
// above the tolerance (Kayenta's rule), promote when its upper bound is
// below the tolerance.
func (j *Judge) latencyCriterion(cs, bs sample) CriterionResult {
	s := j.s
	alpha, beta := s.criterionAlpha(), s.beta()
	c := CriterionResult{
		Name: CritLatency, Alpha: alpha, Power: s.Power, State: Undecided,
		Test: fmt.Sprintf("latency ≤ baseline +%.3g%%: Mann-Whitney / Hodges-Lehmann, confidence sequence", 100*s.MaxLatencyIncrease),
	}
	if len(cs) == 0 || len(bs) == 0 {
		c.Detail = "no answers yet"
		return c
	}
	t := j.info()
	zUp, zDown := mixtureZ(t, j.rho, alpha), mixtureZ(t, j.rho, beta)
	margin := s.latencyMargin()
	z0, zm := mwZ(cs, bs, 0), mwZ(cs, bs, margin)
	hl := hodgesLehmann(cs, bs)
	c.Detail = fmt.Sprintf("shift %+.3g%%; z at 0 = %.2f (rollback at %.2f with shift > %.3g%%), z at +%.3g%% = %.2f (promote at %.2f)",
		100*math.Expm1(hl), z0, zUp, 100*s.MaxLatencyIncrease, 100*s.MaxLatencyIncrease, zm, -zDown)
	switch {
	case z0 >= zUp && hl > margin:
		c.State = Rollback
	case zm <= -zDown:
		c.State = Promote
	}
	// Projection: a z statistic grows with the square root of information.
	c.project = func() (int, Verdict) {
		return j.project(func(t2 float64) Verdict {
			g := math.Sqrt(t2 / t)
			switch {
			case hl > margin && z0*g >= mixtureZ(t2, j.rho, alpha):
				return Rollback
			case zm*g <= -mixtureZ(t2, j.rho, beta):
				return Promote
			}
			return Undecided
		})
	}
	return c
}

// info is the Mann-Whitney statistic's information: the effective sample
// size mn/(m+n).
func (j *Judge) info() float64 {
	m, n := float64(j.cand.Requests), float64(j.base.Requests)
	if m+n == 0 {
		return 0
	}
	return m * n / (m + n)
}

// latencyDiff is the candidate's latency change relative to the baseline,
// with bounds at the levels the criterion decides with.
func (j *Judge) latencyDiff(cs, bs sample) *Interval {
	if len(cs) == 0 || len(bs) == 0 {
		return nil
	}
	t := j.info()
	zUp, zDown := mixtureZ(t, j.rho, j.s.criterionAlpha()), mixtureZ(t, j.rho, j.s.beta())
	lo, hi := shiftRange(cs, bs)
	f := func(d float64) float64 { return mwZ(cs, bs, d) }
	return &Interval{
		Estimate: math.Expm1(hodgesLehmann(cs, bs)),
		Lo:       math.Expm1(shiftWhere(f, zUp, lo, hi)),
		Hi:       math.Expm1(shiftWhere(f, -zDown, lo, hi)),
	}
}

// errorCriterion compares failure rates with per-version confidence
// sequences: rollback when the candidate's lower bound is above the
// baseline's upper bound, promote when the candidate's upper bound is
// below the baseline's lower bound plus one failure budget.
func (j *Judge) errorCriterion() CriterionResult {
	s := j.s
	alpha, beta := s.criterionAlpha(), s.beta()
	margin := s.failureBudget()
	c := CriterionResult{
		Name: CritErrors, Alpha: alpha, Power: s.Power, State: Undecided,
		Test: fmt.Sprintf("failure rate not above baseline's (+%.3g points at most): beta-binomial confidence sequences", 100*margin),
	}
	judge := func(kc, nc, kb, nb int) Verdict {
		switch {
		case rateLower(kc, nc, alpha/2) > rateUpper(kb, nb, alpha/2):
			return Rollback
		case rateUpper(kc, nc, beta/2) < rateLower(kb, nb, beta/2)+margin:
			return Promote
		}
		return Undecided
	}
	a, b := &j.cand, &j.base
	c.State = judge(a.Failures, a.Requests, b.Failures, b.Requests)
	d := j.errorDiff()
	c.Detail = fmt.Sprintf("candidate %d of %d failed, baseline %d of %d; difference %+.3g points (%+.3g to %+.3g)",
		a.Failures, a.Requests, b.Failures, b.Requests, 100*d.Estimate, 100*d.Lo, 100*d.Hi)
	pc := (float64(a.Failures) + 0.5) / (float64(a.Requests) + 1)
	pb := (float64(b.Failures) + 0.5) / (float64(b.Requests) + 1)
	c.project = func() (int, Verdict) {
		return j.project(func(t2 float64) Verdict {
			// t2 is the information of n per version: n/2.
			n := int(2 * t2)
			return judge(int(pc*float64(n)), n, int(pb*float64(n)), n)
		})
	}
	return c
}

// errorDiff is the failure-rate difference, candidate minus baseline,
// bounded at the criterion's rollback level below and promote level above.
func (j *Judge) errorDiff() *Interval {
	a, b := &j.cand, &j.base
	alpha, beta := j.s.criterionAlpha(), j.s.beta()
	return &Interval{
		Estimate: a.failureRate() - b.failureRate(),
		Lo:       rateLower(a.Failures, a.Requests, alpha/2) - rateUpper(b.Failures, b.Requests, alpha/2),
		Hi:       rateUpper(a.Failures, a.Requests, beta/2) - rateLower(b.Failures, b.Requests, beta/2),
	}
}

// project finds how many more requests per version the current estimates
// need to reach a decision, searching up to a million per version.
func (j *Judge) project(decide func(info float64) Verdict) (int, Verdict) {
	n := j.Requests()
	infoAt := func(k int) float64 { return float64(n+k) / 2 }
	k := max(1, n/8)
	for ; k <= 1_000_000; k *= 2 {
		if v := decide(infoAt(k)); v != Undecided {
			lo, hi := k/2, k
			for lo+1 < hi {
				mid := (lo + hi) / 2
				if decide(infoAt(mid)) != Undecided {
					hi = mid
				} else {
					lo = mid
				}
			}
			return hi, decide(infoAt(hi))
		}
	}
	return -1, Undecided
}

// needMore is the projected number of further requests per version to a
// verdict: the soonest rollback in sight, else the last criterion to be
// met; -1 when some open criterion has no decision in sight.
func (j *Judge) needMore(crits []CriterionResult) int {
	soonestRollback, lastPromote := -1, 0
	for _, c := range crits {
		if c.State != Undecided || c.project == nil {
			continue
		}
		more, projected := c.project()
		switch projected {
		case Rollback:
			if soonestRollback < 0 || more < soonestRollback {
				soonestRollback = more
			}
		case Promote:
			lastPromote = max(lastPromote, more)
		default:
			lastPromote = math.MaxInt
		}
	}
	switch {
	case soonestRollback >= 0:
		return max(1, soonestRollback)
	case lastPromote == math.MaxInt:
		return -1
	}
	return max(1, lastPromote)
}

// versionRow is a version's line. Its success-rate bounds, like the
// differences', sit at the levels the decisions use: the lower bound at
// 1-power (the SLO is met, by power, only above it), the upper at the
// criterion's alpha (broken only below it), so the table shows the
// confidence the verdict rests on, not a stricter one that contradicts it.
func (j *Judge) versionRow(a *Arm, role string, sorted sample) VersionRow {
	row := VersionRow{
		Version: a.Name, Role: role, Requests: a.Requests, Failures: a.Failures,
		SuccessRate: Interval{
			Estimate: 1 - a.failureRate(),
			Lo:       1 - rateUpper(a.Failures, a.Requests, j.s.beta()),
			Hi:       1 - rateLower(a.Failures, a.Requests, j.s.criterionAlpha()),
		},
		P50: ms(a.quantile(sorted, 0.50)), P95: ms(a.quantile(sorted, 0.95)), P99: ms(a.quantile(sorted, 0.99)),
	}
	if role == "baseline" {
		// The baseline is judged on the same SLOs, for information: the
		// verdict is about the candidate.
		success := j.sloCriterion(CritSuccess, a, a.Failures, j.s.failureBudget(), "")
		p99 := j.sloCriterion(CritP99, a, a.Slow, p99Budget, "")
		switch {
		case success.State == Rollback || p99.State == Rollback:
			row.Verdict, row.Note = Rollback, "the baseline itself breaks an SLO"
		case success.State == Promote && p99.State == Promote:
			row.Verdict = Promote
		default:
			row.Verdict = Undecided
		}
	}
	return row
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func joinAnd(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	out := xs[0]
	for _, x := range xs[1 : len(xs)-1] {
		out += ", " + x
	}
	return out + " and " + xs[len(xs)-1]
}
