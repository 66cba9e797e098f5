package stats

import (
	"encoding/json"
	"math"
	"slices"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/shadow/join"
)

// Options say what to compare against and how sure to be.
type Options struct {
	Primary, Shadow string
	// MirrorPercent is the configured share (0-100); nil when unknown.
	MirrorPercent *float64
	// Tolerance is the largest absolute difference of an output element
	// that still agrees.
	Tolerance float64
	// Confidence of every interval (0.95).
	Confidence float64
	// Power of the power statements (0.8).
	Power float64
	// MinAgreement is the gate on the agreement interval's lower bound;
	// nil means no gate.
	MinAgreement *float64
	// TimeBins is how many bins agreement over time gets (default 30).
	TimeBins int
}

// Summary is what summary.json holds and the reports render.
type Summary struct {
	Primary string `json:"primary"`
	Shadow  string `json:"shadow"`
	// From and To are the first and last user request's arrival; absent
	// when there is none.
	From       *time.Time `json:"from,omitempty"`
	To         *time.Time `json:"to,omitempty"`
	Confidence float64    `json:"confidence"`
	Requests   Requests   `json:"requests"`
	Mirror     Mirror     `json:"mirror"`
	Agreement  Agreement  `json:"agreement"`
	Outputs    []Output   `json:"outputs"`
	Latency    Latency    `json:"latencyMs"`
	Errors     Errors     `json:"errors"`
	// AgreementOverTime bins the compared pairs by arrival.
	AgreementOverTime []TimeBin `json:"agreementOverTime"`
}

// Requests counts user requests (one per pair) by what was logged.
type Requests struct {
	// Seen is every user request: rows of pairs.jsonl.
	Seen int64 `json:"seen"`
	// Paired have both versions' events; PrimaryOnly were not mirrored;
	// ShadowOnly are mirrored copies with no primary record (unmatched).
	Paired      int64 `json:"paired"`
	PrimaryOnly int64 `json:"primaryOnly"`
	ShadowOnly  int64 `json:"shadowOnlyUnmatched"`
	// Half-logged requests: a request event without its response event
	// or the other way round (a crash, or a log cut by a time window).
	PrimaryWithoutResponse int64 `json:"primaryWithoutResponse"`
	PrimaryWithoutRequest  int64 `json:"primaryWithoutRequest"`
	ShadowWithoutResponse  int64 `json:"shadowWithoutResponse"`
	ShadowWithoutRequest   int64 `json:"shadowWithoutRequest"`
	// IDReused are requests whose id another request carried too (rows
	// with id_reused): kept, but without a copy and never compared.
	IDReused int64 `json:"idReused"`
}

// Mirror compares the mirrored share seen with the configured one.
// Fields that need the configured share are absent when it is unknown.
type Mirror struct {
	// Configured share (0-1).
	Configured *float64 `json:"configured,omitempty"`
	// Requests are the user requests the primary logged, but for those
	// whose id was reused (their copies cannot be told apart): the
	// trials.
	Requests int64 `json:"requests"`
	// Observed is Copies / Requests with its Wilson interval.
	Observed Interval `json:"observed"`
	// Copies are those requests the shadow logged a copy of.
	Copies int64 `json:"copies"`
	// CopiesWithoutPrimary are copies of requests no primary log holds:
	// a primary pod's log missing (a deleted pod, a log not read) or cut
	// by the time window. Left out of the share: counting them as
	// mirrored requests would read as over-mirroring.
	CopiesWithoutPrimary int64 `json:"copiesWithoutPrimary"`
	// ExpectedCopies at the configured share, and MissingCopies: expected
	// minus seen, when positive, else 0.
	ExpectedCopies *float64 `json:"expectedCopies,omitempty"`
	MissingCopies  *float64 `json:"missingCopies,omitempty"`
	// PValue of the two-sided score test of the configured share, and
	// its base-10 logarithm (finite where PValue underflows to 0);
	// Consistent when PValue is at least Alpha.
	PValue      *float64 `json:"pValue,omitempty"`
	Log10PValue *float64 `json:"log10PValue,omitempty"`
	Consistent  *bool    `json:"consistent,omitempty"`
	Alpha       float64  `json:"alpha"`
	// DetectableShift is the smallest departure from the configured share
	// this many requests reveal with probability Power (absent, too, when
	// there is no request).
	DetectableShift *float64 `json:"detectableShift,omitempty"`
	Power           float64  `json:"power"`
	Test            string   `json:"test"`
}

// Agreement is the share of compared pairs whose answers agree.
type Agreement struct {
	Tolerance float64 `json:"tolerance"`
	// Compared pairs have both answers; Agreeing of them agree.
	Compared int64    `json:"compared"`
	Agreeing int64    `json:"agreeing"`
	Rate     Interval `json:"rate"`
	Test     string   `json:"test"`
	// Gate: passed when Rate.Low >= MinAgreement.
	MinAgreement *float64 `json:"minAgreement,omitempty"`
	GatePassed   *bool    `json:"gatePassed,omitempty"`
	// PassingRate is the true agreement that passes the gate with
	// probability Power at this many pairs (absent without a gate or
	// without a compared pair).
	PassingRate *float64 `json:"passingRate,omitempty"`
	Power       float64  `json:"power"`
}

// Output is the absolute difference of one named output over compared pairs.
type Output struct {
	Name     string  `json:"name"`
	Pairs    int64   `json:"pairs"`
	Elements int64   `json:"elements"`
	Max      float64 `json:"maxAbsDiff"`
	Mean     float64 `json:"meanAbsDiff"`
}

// Latency is each side's quantiles and their differences, in ms.
type Latency struct {
	Method     string    `json:"method"`
	Primary    Quantiles `json:"primary"`
	Shadow     Quantiles `json:"shadow"`
	Difference Quantiles `json:"shadowMinusPrimary"`
}

// Quantiles are p50, p95 and p99 with intervals.
type Quantiles struct {
	N   int64    `json:"n"`
	P50 Interval `json:"p50"`
	P95 Interval `json:"p95"`
	P99 Interval `json:"p99"`
}

// Errors are server errors (status >= 500) on each side.
type Errors struct {
	Primary ErrorRate `json:"primary"`
	Shadow  ErrorRate `json:"shadow"`
	Test    string    `json:"test"`
}

// ErrorRate of one side.
type ErrorRate struct {
	Responses int64    `json:"responses"`
	Errors    int64    `json:"errors"`
	Rate      Interval `json:"rate"`
}

// TimeBin is agreement in one stretch of time.
type TimeBin struct {
	Start    time.Time `json:"start"`
	Compared int64     `json:"compared"`
	Agreeing int64     `json:"agreeing"`
	Rate     Interval  `json:"rate"`
}

// MarshalJSON writes undefined numbers (no data) as null.
func (i Interval) MarshalJSON() ([]byte, error) {
	num := func(f float64) *float64 {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil
		}
		return &f
	}
	return json.Marshal(struct {
		Estimate *float64 `json:"estimate"`
		Low      *float64 `json:"low"`
		High     *float64 `json:"high"`
	}{num(i.Estimate), num(i.Low), num(i.High)})
}

// UnmarshalJSON reads nulls back as NaN.
func (i *Interval) UnmarshalJSON(b []byte) error {
	var v struct{ Estimate, Low, High *float64 }
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	get := func(p *float64) float64 {
		if p == nil {
			return math.NaN()
		}
		return *p
	}
	*i = Interval{get(v.Estimate), get(v.Low), get(v.High)}
	return nil
}

// Series is what the plots draw, kept apart from the summary.
type Series struct {
	// Sorted latencies of every answer of each side, in ms.
	PrimaryLatency, ShadowLatency []float64
	// AbsDiffs is each comparable pair's largest absolute difference.
	AbsDiffs []float64
	// AgreementOverTime as in the summary.
	AgreementOverTime []TimeBin
	Tolerance         float64
}

// Accumulator sums pairs up one at a time; it keeps no bodies, only a
// few numbers per pair (latencies, differences, arrival and verdict).
type Accumulator struct {
	opts     Options
	req      Requests
	compared int64
	agreeing int64
	outputs  map[string]*Output
	order    []string
	latP     []float64
	latS     []float64
	errP     int64
	errS     int64
	// mirrorTrials and mirrorCopies: requests the primary logged (ids not
	// reused) and those mirrored.
	mirrorTrials, mirrorCopies int64
	diffs                      []float64
	times                      []int64 // arrival of compared pairs, unix ns
	agrees                     []bool
	from, to                   time.Time
}

// NewAccumulator starts a summary; zero options get defaults.
func NewAccumulator(o Options) *Accumulator {
	if o.Confidence == 0 {
		o.Confidence = 0.95
	}
	if o.Power == 0 {
		o.Power = 0.8
	}
	if o.TimeBins <= 0 {
		o.TimeBins = 30
	}
	return &Accumulator{opts: o, outputs: map[string]*Output{}}
}

// Verdict is the comparison of a pair, when both versions answered.
type Verdict struct {
	Compared bool
	Comparison
}

// Judge compares a pair's answers under the tolerance. A pair whose id
// was reused is not compared: which copy answered which request is a
// guess.
func Judge(p *join.Pair, tolerance float64) Verdict {
	if !p.Primary.Answered || !p.Shadow.Answered || p.IDReused {
		return Verdict{}
	}
	return Verdict{Compared: true, Comparison: Compare(p.Primary.Status, p.Primary.Output, p.Shadow.Status, p.Shadow.Output, tolerance)}
}

// Add counts one pair and its verdict (from Judge).
func (a *Accumulator) Add(p *join.Pair, v Verdict) {
	a.req.Seen++
	switch p.Match() {
	case join.Paired:
		a.req.Paired++
	case join.PrimaryOnly:
		a.req.PrimaryOnly++
	case join.ShadowOnly:
		a.req.ShadowOnly++
	}
	half := func(s join.Side, noResp, noReq *int64) {
		if s.Requested && !s.Answered {
			*noResp++
		}
		if s.Answered && !s.Requested {
			*noReq++
		}
	}
	half(p.Primary, &a.req.PrimaryWithoutResponse, &a.req.PrimaryWithoutRequest)
	half(p.Shadow, &a.req.ShadowWithoutResponse, &a.req.ShadowWithoutRequest)
	hasPrimary := p.Primary.Requested || p.Primary.Answered
	switch {
	case p.IDReused:
		a.req.IDReused++
	case hasPrimary:
		a.mirrorTrials++
		if p.Match() == join.Paired {
			a.mirrorCopies++
		}
	}
	if a.from.IsZero() || p.Time.Before(a.from) {
		a.from = p.Time
	}
	if p.Time.After(a.to) {
		a.to = p.Time
	}
	if p.Primary.Answered {
		a.latP = append(a.latP, ms(p.Primary.Latency))
		if p.Primary.Status >= 500 {
			a.errP++
		}
	}
	if p.Shadow.Answered {
		a.latS = append(a.latS, ms(p.Shadow.Latency))
		if p.Shadow.Status >= 500 {
			a.errS++
		}
	}
	if !v.Compared {
		return
	}
	a.compared++
	if v.Agree {
		a.agreeing++
	}
	a.times = append(a.times, p.Time.UnixNano())
	a.agrees = append(a.agrees, v.Agree)
	if !v.Comparable {
		return
	}
	a.diffs = append(a.diffs, v.MaxAbsDiff)
	for _, d := range v.Outputs {
		o := a.outputs[d.Name]
		if o == nil {
			o = &Output{Name: d.Name}
			a.outputs[d.Name] = o
			a.order = append(a.order, d.Name)
		}
		o.Pairs++
		o.Elements += int64(d.Elements)
		o.Max = max(o.Max, d.Max)
		o.Mean += d.Sum // a sum until Summary divides
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// mirror tests the mirrored share. Every user request the primary logged
// is a Bernoulli trial (Istio draws per request), so copies ~
// Binomial(requests, share). Copies without a primary record are no
// trial: their requests are missing from the primary's logs, and counting
// them as mirrored would bias the share up. Requests whose id was reused
// are none either: their copies are left out (join.Pair.IDReused).
func (a *Accumulator) mirror(alpha float64) Mirror {
	o := a.opts
	requests, copies := a.mirrorTrials, a.mirrorCopies
	m := Mirror{
		Requests: requests, Copies: copies, CopiesWithoutPrimary: a.req.ShadowOnly,
		Observed: Wilson(copies, requests, o.Confidence),
		Alpha:    alpha, Power: o.Power,
		Test: "Wilson score interval; two-sided score test of the configured share " +
			"(over the requests the primary logged, ids not reused)",
	}
	if o.MirrorPercent == nil {
		return m
	}
	p0 := round(*o.MirrorPercent/100, 12) // 12.3/100 is 0.12300000000000001
	expected := round(p0*float64(requests), 9)
	missing := math.Max(0, round(expected-float64(copies), 9))
	pValue := ScoreTest(copies, requests, p0)
	log10P := Log10ScoreTest(copies, requests, p0)
	consistent := pValue >= alpha
	m.Configured, m.ExpectedCopies, m.MissingCopies = &p0, &expected, &missing
	m.PValue, m.Log10PValue, m.Consistent = &pValue, &log10P, &consistent
	if requests > 0 {
		shift := DetectableShift(p0, requests, alpha, o.Power)
		m.DetectableShift = &shift
	}
	return m
}

// complement is 1 - confidence as the number it means: 1 - 0.95 is
// 0.050000000000000044 in floating point, and alpha is 0.05.
func complement(confidence float64) float64 { return round(1-confidence, 12) }

func roundInterval(i Interval, decimals int) Interval {
	return Interval{round(i.Estimate, decimals), round(i.Low, decimals), round(i.High, decimals)}
}

// round rounds x to the given decimals.
func round(x float64, decimals int) float64 {
	scale := math.Pow(10, float64(decimals))
	return math.Round(x*scale) / scale
}

// Summary computes the statistics of everything added, and the series the
// plots need.
func (a *Accumulator) Summary() (*Summary, *Series) {
	o := a.opts
	alpha := complement(o.Confidence)
	s := &Summary{
		Primary: o.Primary, Shadow: o.Shadow, Confidence: o.Confidence,
		Requests: a.req, Outputs: []Output{},
	}
	if a.req.Seen > 0 {
		s.From, s.To = &a.from, &a.to
	}
	s.Mirror = a.mirror(alpha)

	s.Agreement = Agreement{
		Tolerance: o.Tolerance, Compared: a.compared, Agreeing: a.agreeing,
		Rate:  Wilson(a.agreeing, a.compared, o.Confidence),
		Power: o.Power,
		Test: "Wilson score interval; the gate passes when its lower bound is at least the minimum " +
			"(a one-sided score test at alpha = (1-confidence)/2), never on the point estimate",
	}
	if o.MinAgreement != nil {
		g := &s.Agreement
		g.MinAgreement = o.MinAgreement
		pass := a.compared > 0 && g.Rate.Low >= *o.MinAgreement
		g.GatePassed = &pass
		if a.compared > 0 {
			r := PassingRate(*o.MinAgreement, a.compared, o.Confidence, o.Power)
			g.PassingRate = &r
		}
	}

	for _, name := range a.order {
		out := *a.outputs[name]
		if out.Elements > 0 {
			out.Mean /= float64(out.Elements)
		}
		s.Outputs = append(s.Outputs, out)
	}

	slices.Sort(a.latP)
	slices.Sort(a.latS)
	// Each side's intervals at (1+confidence)/2, so the differences'
	// intervals (Bonferroni) still cover with the confidence asked.
	sideConf := round(1-alpha/2, 12)
	qs := func(sorted []float64) Quantiles {
		return Quantiles{
			N:   int64(len(sorted)),
			P50: QuantileCI(sorted, 0.50, sideConf),
			P95: QuantileCI(sorted, 0.95, sideConf),
			P99: QuantileCI(sorted, 0.99, sideConf),
		}
	}
	lp, ls := qs(a.latP), qs(a.latS)
	s.Latency = Latency{
		Method: "order-statistic (binomial) intervals at (1+confidence)/2 per side; the difference's interval " +
			"combines them (Bonferroni), covering with at least the confidence",
		Primary: lp, Shadow: ls,
		// Latencies are logged in µs: a difference is one too, not
		// 1.7670000000000001 ms.
		Difference: Quantiles{
			N:   min(lp.N, ls.N),
			P50: roundInterval(DifferenceCI(ls.P50, lp.P50), 3),
			P95: roundInterval(DifferenceCI(ls.P95, lp.P95), 3),
			P99: roundInterval(DifferenceCI(ls.P99, lp.P99), 3),
		},
	}

	s.Errors = Errors{
		Primary: ErrorRate{Responses: int64(len(a.latP)), Errors: a.errP, Rate: Wilson(a.errP, int64(len(a.latP)), o.Confidence)},
		Shadow:  ErrorRate{Responses: int64(len(a.latS)), Errors: a.errS, Rate: Wilson(a.errS, int64(len(a.latS)), o.Confidence)},
		Test:    "status >= 500; Wilson score interval",
	}

	s.AgreementOverTime = a.timeBins()
	return s, &Series{
		PrimaryLatency: a.latP, ShadowLatency: a.latS, AbsDiffs: a.diffs,
		AgreementOverTime: s.AgreementOverTime, Tolerance: o.Tolerance,
	}
}

func (a *Accumulator) timeBins() []TimeBin {
	if len(a.times) == 0 {
		return []TimeBin{}
	}
	lo, hi := slices.Min(a.times), slices.Max(a.times)
	n := a.opts.TimeBins
	width := (hi - lo + int64(n)) / int64(n) // > 0, and hi falls in the last bin
	bins := make([]TimeBin, n)
	for i := range bins {
		bins[i].Start = time.Unix(0, lo+int64(i)*width).UTC()
	}
	for i, t := range a.times {
		b := &bins[min(n-1, int((t-lo)/width))]
		b.Compared++
		if a.agrees[i] {
			b.Agreeing++
		}
	}
	for i := range bins {
		bins[i].Rate = Wilson(bins[i].Agreeing, bins[i].Compared, a.opts.Confidence)
	}
	return bins
}
