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
	// CritSlowShare is the p99 SLO as the gate tests it: the share of
	// answers slower than MaxP99 at most 1% (an SPRT on counts), not a
	// p99 estimated from the sample (VersionRow.SampleP99).
	CritSlowShare = "p99 SLO (share of answers over the limit)"
	CritLatency   = "latency vs baseline"
	CritErrors    = "errors vs baseline"
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
	Version     string   `json:"version"`
	Role        string   `json:"role"`
	Requests    int      `json:"requests"`
	Failures    int      `json:"failures"`
	SuccessRate Interval `json:"successRate"`
	// SampleP50, SampleP95 and SampleP99 are the sample's quantiles (the
	// lower order statistic, no interpolation), for reading: the verdict
	// rests on the p99 SLO's count of slow answers (CritSlowShare).
	SampleP50   float64   `json:"sampleP50Ms"`
	SampleP95   float64   `json:"sampleP95Ms"`
	SampleP99   float64   `json:"sampleP99Ms"`
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
	// rate and budget are an SLO test's observed rate and its limit.
	rate, budget float64
	// vetoed says a met boundary was withdrawn (the errors criterion's
	// fixed-size check), so the criterion does not stay met.
	vetoed bool
	// project, when set, projects the current estimates forward: the
	// further requests per version to a decision (-1: none in sight) and
	// which decision. Computed only for an inconclusive end.
	project func() (int, Verdict)
}

// Result is the gate's judgement so far.
type Result struct {
	Verdict     Verdict `json:"verdict"`
	Reason      string  `json:"reason"`
	Requests    int     `json:"requestsPerVersion"`
	MaxRequests int     `json:"maxRequestsPerVersion"`
	FixedN      int     `json:"fixedNPerVersion"`
	NeedMore    int     `json:"needMorePerVersion,omitempty"`
	// Shared names the SLOs both versions break (an inconclusive verdict:
	// a platform problem, not the candidate's).
	Shared   []string          `json:"brokenByBothVersions,omitempty"`
	Versions []VersionRow      `json:"versions"`
	Criteria []CriterionResult `json:"criteria"`
	Method   string            `json:"method"`
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
		j.sloCriterion(CritSlowShare, &j.cand, j.cand.Slow, p99Budget, fmt.Sprintf("≤ %.3g%% of answers slower than %s (p99 ≤ %s)", 100*p99Budget, s.MaxP99, s.MaxP99)),
		j.latencyCriterion(cs, bs),
		j.errorCriterion(),
	}
	// The baseline is held to the same SLOs: an SLO both versions break
	// says the platform, not the candidate, is at fault.
	baseSLO := map[string]CriterionResult{
		CritSuccess:   j.sloCriterion(CritSuccess, &j.base, j.base.Failures, s.failureBudget(), ""),
		CritSlowShare: j.sloCriterion(CritSlowShare, &j.base, j.base.Slow, p99Budget, ""),
	}
	var broken, shared, waiting []string
	met := 0
	for i := range crits {
		c := &crits[i]
		if !ready {
			c.State = Undecided
		}
		if b, isSLO := baseSLO[c.Name]; isSLO && c.State == Rollback && ready {
			switch {
			case b.State == Rollback:
				c.Detail += "; the baseline breaks it too"
				shared = append(shared, c.Name)
				continue
			case b.State == Undecided && b.rate > b.budget:
				// Not yet the candidate's alone: the baseline's own rate is
				// over the budget, its test still open.
				c.State = Undecided
				c.Detail += fmt.Sprintf("; held: the baseline's own rate (%.3g%%) is over the budget too, its test still open", 100*b.rate)
				waiting = append(waiting, c.Name)
			}
		}
		switch c.State {
		case Rollback:
			broken = append(broken, c.Name)
		case Promote:
			if _, ok := j.decidedAt[c.Name]; !ok {
				j.decidedAt[c.Name] = n
			}
		}
		if c.vetoed {
			// A promotion the fixed-size test contradicts is withdrawn.
			delete(j.decidedAt, c.Name)
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
	case len(shared) > 0:
		// Decided: more requests cannot make a shared fault the candidate's.
		r.Verdict = Inconclusive
		r.Reason = fmt.Sprintf("both versions break the %s after %d requests per version, the baseline as well as the candidate: "+
			"a platform problem, not the candidate's; fix it and judge again", joinAnd(shared), n)
		r.Shared = shared
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
		switch {
		case len(waiting) > 0:
			r.Reason += fmt.Sprintf("; the candidate breaks the %s, but the baseline's own rate is over the budget too: possibly a platform problem", joinAnd(waiting))
		case r.NeedMore > 0:
			r.Reason += fmt.Sprintf("; about %d more requests per version would decide", r.NeedMore)
		default:
			r.Reason += "; no number of requests is in sight to decide: the candidate sits at a limit"
		}
	}
	r.Versions = []VersionRow{j.versionRow(&j.base, "baseline", bs, baseSLO), j.versionRow(&j.cand, "candidate", cs, nil)}
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
	c.rate, c.budget = rate, budget
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

// errorCriterion compares failure rates on pairs of requests (see
// errors.go): rollback when the candidate fails significantly more often
// than the baseline, by however little; promote when it is shown to fail
// less than MaxErrorIncrease more often, and only while a test taken once
// at this sample size at the gate's whole alpha does not find it failing
// more often (so a promotion never contradicts the fixed-N test a
// reviewer would run on the same counts).
func (j *Judge) errorCriterion() CriterionResult {
	s := j.s
	alpha, beta := s.criterionAlpha(), s.beta()
	margin := s.MaxErrorIncrease
	c := CriterionResult{
		Name: CritErrors, Alpha: alpha, Power: s.Power, State: Undecided,
		Test: fmt.Sprintf("failure rate not significantly above the baseline's, and within +%.3g points of it: betting confidence sequence on paired requests",
			100*margin),
	}
	f := countsOf(&j.cand, &j.base)
	c.State = judgeErrors(f, alpha, beta, margin)
	d := j.errorDiff()
	c.Detail = fmt.Sprintf("candidate %d of %d failed, baseline %d of %d; difference %+.3g points (%+.3g to %+.3g)",
		f.kc, f.nc, f.kb, f.nb, 100*d.Estimate, 100*d.Lo, 100*d.Hi)
	p := f.signTestP()
	c.Detail += fmt.Sprintf("; exact sign test at this size p = %.2g", p)
	if c.State == Promote && p < s.Alpha {
		c.State, c.vetoed = Undecided, true
		c.Detail += fmt.Sprintf(": not promoted, the candidate fails more often at α %.3g", s.Alpha)
	}
	pc := (float64(f.kc) + 0.5) / (float64(f.nc) + 1)
	pb := (float64(f.kb) + 0.5) / (float64(f.nb) + 1)
	c.project = func() (int, Verdict) {
		return j.project(func(t2 float64) Verdict {
			// t2 is the information of n per version: n/2.
			n := int(2 * t2)
			return judgeErrors(failureCounts{int(pc * float64(n)), n, int(pb * float64(n)), n}, alpha, beta, margin)
		})
	}
	return c
}

// judgeErrors is the errors criterion's decision on counts.
func judgeErrors(f failureCounts, alpha, beta, margin float64) Verdict {
	switch {
	case f.logWealthBelow(0) >= math.Log(1/alpha):
		return Rollback
	case f.logWealthAbove(margin) >= math.Log(1/beta):
		return Promote
	}
	return Undecided
}

// errorDiff is the failure-rate difference, candidate minus baseline,
// bounded at the criterion's rollback level below and promote level above.
func (j *Judge) errorDiff() *Interval {
	f := countsOf(&j.cand, &j.base)
	return &Interval{
		Estimate: j.cand.failureRate() - j.base.failureRate(),
		Lo:       f.diffLower(j.s.criterionAlpha()),
		Hi:       f.diffUpper(j.s.beta()),
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
func (j *Judge) versionRow(a *Arm, role string, sorted sample, slo map[string]CriterionResult) VersionRow {
	row := VersionRow{
		Version: a.Name, Role: role, Requests: a.Requests, Failures: a.Failures,
		SuccessRate: Interval{
			Estimate: 1 - a.failureRate(),
			Lo:       1 - rateUpper(a.Failures, a.Requests, j.s.beta()),
			Hi:       1 - rateLower(a.Failures, a.Requests, j.s.criterionAlpha()),
		},
		SampleP50: ms(a.quantile(sorted, 0.50)), SampleP95: ms(a.quantile(sorted, 0.95)), SampleP99: ms(a.quantile(sorted, 0.99)),
	}
	if slo != nil {
		// The baseline is judged on the same SLOs: when it breaks one the
		// candidate breaks too, the verdict is inconclusive, not a rollback.
		success, slow := slo[CritSuccess], slo[CritSlowShare]
		switch {
		case success.State == Rollback || slow.State == Rollback:
			row.Verdict, row.Note = Rollback, "the baseline itself breaks an SLO"
		case success.State == Promote && slow.State == Promote:
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
