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
	Primary    string    `json:"primary"`
	Shadow     string    `json:"shadow"`
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	Confidence float64   `json:"confidence"`
	Requests   Requests  `json:"requests"`
	Mirror     Mirror    `json:"mirror"`
	Agreement  Agreement `json:"agreement"`
	Outputs    []Output  `json:"outputs"`
	Latency    Latency   `json:"latencyMs"`
	Errors     Errors    `json:"errors"`
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
}

// Mirror compares the mirrored share seen with the configured one.
type Mirror struct {
	// Configured share (0-1); absent when unknown.
	Configured *float64 `json:"configured,omitempty"`
	// Observed is copies / user requests with its Wilson interval.
	Observed Interval `json:"observed"`
	Copies   int64    `json:"copies"`
	// ExpectedCopies and MissingCopies (expected minus seen, if positive)
	// at the configured share.
	ExpectedCopies float64 `json:"expectedCopies,omitempty"`
	MissingCopies  float64 `json:"missingCopies,omitempty"`
	// PValue of the two-sided score test of the configured share;
	// Consistent when it is at least Alpha.
	PValue     float64 `json:"pValue,omitempty"`
	Consistent *bool   `json:"consistent,omitempty"`
	Alpha      float64 `json:"alpha"`
	// DetectableShift is the smallest departure from the configured share
	// this many requests reveal with probability Power.
	DetectableShift float64 `json:"detectableShift,omitempty"`
	Power           float64 `json:"power"`
	Test            string  `json:"test"`
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
	// probability Power at this many pairs.
	PassingRate float64 `json:"passingRate,omitempty"`
	Power       float64 `json:"power"`
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
	diffs    []float64
	times    []int64 // arrival of compared pairs, unix ns
	agrees   []bool
	from, to time.Time
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

// Judge compares a pair's answers under the tolerance.
func Judge(p *join.Pair, tolerance float64) Verdict {
	if !p.Primary.Answered || !p.Shadow.Answered {
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

// Summary computes the statistics of everything added, and the series the
// plots need.
func (a *Accumulator) Summary() (*Summary, *Series) {
	o := a.opts
	alpha := 1 - o.Confidence
	s := &Summary{
		Primary: o.Primary, Shadow: o.Shadow, From: a.from, To: a.to, Confidence: o.Confidence,
		Requests: a.req,
	}

	// Mirrored share: every user request is a Bernoulli trial (Istio draws
	// per request), so copies ~ Binomial(requests, share).
	copies := a.req.Paired + a.req.ShadowOnly
	s.Mirror = Mirror{
		Observed: Wilson(copies, a.req.Seen, o.Confidence), Copies: copies,
		Alpha: alpha, Power: o.Power,
		Test: "Wilson score interval; two-sided score test of the configured share",
	}
	if o.MirrorPercent != nil {
		p0 := *o.MirrorPercent / 100
		m := &s.Mirror
		m.Configured = &p0
		m.ExpectedCopies = p0 * float64(a.req.Seen)
		m.MissingCopies = math.Max(0, m.ExpectedCopies-float64(copies))
		m.PValue = ScoreTest(copies, a.req.Seen, p0)
		ok := m.PValue >= alpha
		m.Consistent = &ok
		if a.req.Seen > 0 {
			m.DetectableShift = DetectableShift(p0, a.req.Seen, alpha, o.Power)
		}
	}

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
			g.PassingRate = PassingRate(*o.MinAgreement, a.compared, o.Confidence, o.Power)
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
	sideConf := 1 - alpha/2
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
		Difference: Quantiles{
			N:   min(lp.N, ls.N),
			P50: DifferenceCI(ls.P50, lp.P50),
			P95: DifferenceCI(ls.P95, lp.P95),
			P99: DifferenceCI(ls.P99, lp.P99),
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
		return nil
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
