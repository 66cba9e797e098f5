package smoke

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
	"github.com/modelrollouts/modelrollouts/stacks"
)

// InferInputs is the fixed input set of shadow runs: request i sends
// InferInputs(k)[i%k]. The same inputs on every run make the agreement
// share comparable between runs and versions.
func InferInputs(k int) [][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([][]byte, k)
	for i := range out {
		data := make([]float64, 4)
		for j := range data {
			data[j] = math.Round(rng.Float64()*2000-1000) / 100
		}
		body, _ := json.Marshal(modelapi.InferRequest{Inputs: []modelapi.InferInput{{
			Name: "input-0", Shape: []int64{int64(len(data))}, Datatype: "FP64", Data: data,
		}}})
		out[i] = body
	}
	return out
}

type shadowAnswer struct {
	status    int
	header    string // X-Model-Version
	body      string // model_version in the JSON answer
	requestID string
	problem   string
}

func runShadow(ctx context.Context, c *Client, o *stacks.Outputs, p Params, prog *Progress, r *Report) error {
	prim, shad := o.Versions[o.Primary], o.Versions[o.Shadow]
	if prim.Host == "" || shad.Host == "" {
		return fmt.Errorf("shadow check needs each version's own host in the outputs (primary %q, shadow %q)", prim.Host, shad.Host)
	}
	mirror := *o.MirrorPercent / 100
	if mirror < 0 || mirror > 1 {
		return fmt.Errorf("stack output %s is %g, want 0-100", stacks.OutputMirrorPercent, *o.MirrorPercent)
	}
	r.N, r.Planned = p.N, p.N == 0
	if r.Planned {
		r.N = MirrorSampleSize(mirror, p.Margin, p.Alpha, p.Power)
	}
	r.Method = fmt.Sprintf("every user answer must come from the primary; mirrored copies (delta of the shadow's %s{route=%q}) "+
		"tested with an exact two-sided binomial test at alpha %g (0%% and 100%% exact)", modelapi.MetricRequests, modelapi.RouteInfer, p.Alpha)

	checkVersionHosts(ctx, c, o, r)

	// The model name is in the primary's server metadata, so it is not
	// typed in twice.
	meta := c.Do(ctx, http.MethodGet, prim.Host, modelapi.PathServerMetadata, nil, "")
	var sm modelapi.ServerMetadata
	if !meta.OK() || json.Unmarshal(meta.Body, &sm) != nil || sm.Name == "" {
		r.check("model metadata", false, fmt.Sprintf("GET /v2 on %s: %s", prim.Host, meta.Problem()))
		return nil
	}
	inferPath := modelapi.InferPath(sm.Name)

	before, err := CounterSum(ctx, c, shad.Host, o.Shadow, modelapi.RouteInfer)
	if err != nil {
		r.check("shadow request counter", false, err.Error())
		return nil
	}
	seqP, errP := LastSeq(ctx, c, prim.Host)
	seqS, errS := LastSeq(ctx, c, shad.Host)
	if errP != nil || errS != nil {
		r.check("debug records", false, fmt.Sprint(errP, " ", errS))
		return nil
	}

	inputs := InferInputs(32)
	id := runID()
	answers := make([]shadowAnswer, r.N)
	prog.Start("shadow: user requests", r.N)
	r.Sent = sendAll(ctx, r.N, p.Concurrency, prog, func(ctx context.Context, i int) {
		a := c.Do(ctx, http.MethodPost, o.Host, inferPath, inputs[i%len(inputs)], fmt.Sprintf("smoke-%s-%d", id, i))
		ans := shadowAnswer{status: a.Status, header: a.Version, requestID: a.RequestID, problem: a.Problem()}
		var resp modelapi.InferResponse
		if a.OK() && json.Unmarshal(a.Body, &resp) == nil {
			ans.body = resp.ModelVersion
		}
		answers[i] = ans
	})
	prog.Finish()

	// User-visible answers: all from the primary, header and body alike.
	fromPrimary, fromShadow, reached := 0, 0, 0
	ids := map[string]bool{}
	var firstProblem, firstForeign string
	for _, a := range answers[:r.Sent] {
		if a.status != 0 {
			reached++ // reached the route, so it was eligible for mirroring
			if a.requestID != "" {
				ids[a.requestID] = true
			}
		}
		if a.status != http.StatusOK {
			r.Errors++
			if firstProblem == "" {
				firstProblem = a.problem
			}
			continue
		}
		r.Answered++
		switch {
		case a.header == o.Primary && a.body == o.Primary:
			fromPrimary++
		default:
			fromShadow++ // the shadow or anything else: users must not see it
			if firstForeign == "" {
				firstForeign = fmt.Sprintf("header %q, body model_version %q", a.header, a.body)
			}
		}
	}
	all := AcceptInterval(r.Answered, 1, p.Alpha)
	v, ok := rowVerdict(fromPrimary, all, 100)
	r.Versions = append(r.Versions, VersionRow{Version: o.Primary, Role: "primary", Of: "user answers",
		ExpectedPct: 100, Observed: fromPrimary, Total: r.Answered, Interval: all, Verdict: v, OK: ok})
	none := AcceptInterval(r.Answered, 0, p.Alpha)
	v, ok = rowVerdict(fromShadow, none, 0)
	if !ok && firstForeign != "" {
		v += " (first: " + firstForeign + ")"
	}
	r.Versions = append(r.Versions, VersionRow{Version: o.Shadow + " (or other)", Role: "shadow", Of: "user answers",
		ExpectedPct: 0, Observed: fromShadow, Total: r.Answered, Interval: none, Verdict: v, OK: ok})

	// Mirrored copies arrive asynchronously: wait until the counter holds
	// still (or Settle passes) before taking the delta.
	after, err := settleCounter(ctx, c, shad.Host, o.Shadow, p.Settle, before, int(math.Round(mirror*float64(reached))))
	if err != nil {
		r.check("shadow request counter", false, err.Error())
		checkErrors(r, p, firstProblem)
		return nil
	}
	mirrored := int(math.Round(after - before))
	if mirrored < 0 {
		r.check("shadow request counter", false, fmt.Sprintf("went down from %g to %g: the shadow restarted during the run", before, after))
		mirrored = 0
	}
	iv := AcceptInterval(reached, mirror, p.Alpha)
	v, ok = rowVerdict(mirrored, iv, *o.MirrorPercent)
	r.Versions = append(r.Versions, VersionRow{Version: o.Shadow, Role: "shadow", Of: "mirrored copies",
		ExpectedPct: *o.MirrorPercent, Observed: mirrored, Total: reached, Interval: iv, Verdict: v, OK: ok})

	cmp, foreign, err := compare(ctx, c, prim.Host, shad.Host, seqP, seqS, ids)
	if err != nil {
		r.check("debug records", false, err.Error())
	} else {
		r.Shadow = cmp
		detail := fmt.Sprintf("%d mirrored records, %d joined to a primary request by id", cmp.Mirrored, cmp.Joined)
		if foreign > 0 {
			detail = fmt.Sprintf("%d of %d mirrored records carry a request id no user answer had", foreign, cmp.Mirrored)
		}
		r.check("mirrored copies carry the primary's request ids", foreign == 0 && (mirrored == 0 || cmp.Mirrored > 0), detail)
	}
	checkErrors(r, p, firstProblem)
	return nil
}

// settleCounter polls the shadow's counter until it stops moving for a
// second, reaches at least want, or the settle time passes. Whichever
// comes first, the last reading is the answer: it is tested, not trusted.
func settleCounter(ctx context.Context, c *Client, host, version string, settle time.Duration, before float64, want int) (float64, error) {
	deadline := time.Now().Add(settle)
	const step = 200 * time.Millisecond
	last, still := math.NaN(), 0
	for {
		v, err := CounterSum(ctx, c, host, version, modelapi.RouteInfer)
		if err != nil {
			return 0, err
		}
		if v == last {
			still++
		} else {
			still = 0
		}
		last = v
		// Stable for a second after reaching the expected count, or
		// stable for two seconds short of it (a mirror that is off).
		if (v-before >= float64(want) && still >= 5) || still >= 10 || time.Now().After(deadline) {
			return v, nil
		}
		select {
		case <-ctx.Done():
			return v, nil
		case <-time.After(step):
		}
	}
}

// compare joins this run's primary and mirrored shadow infer records by
// request id. foreign counts mirrored records whose id no user answer
// carried.
func compare(ctx context.Context, c *Client, primHost, shadHost string, seqP, seqS uint64, ids map[string]bool) (*Comparison, int, error) {
	precs, err := Records(ctx, c, primHost, seqP)
	if err != nil {
		return nil, 0, err
	}
	srecs, err := Records(ctx, c, shadHost, seqS)
	if err != nil {
		return nil, 0, err
	}
	cmp := &Comparison{}
	overflown := func(recs []modelapi.RequestRecord, since uint64) bool {
		return len(recs) > 0 && recs[0].Seq > since+1
	}
	cmp.RingOverflown = overflown(precs, seqP) || overflown(srecs, seqS)
	primary := map[string]modelapi.RequestRecord{}
	for _, rec := range precs {
		if !rec.Mirrored && rec.Route == modelapi.RouteInfer && ids[rec.RequestID] {
			primary[rec.RequestID] = rec
		}
	}
	var pl, sl, diff []float64
	foreign := 0
	for _, rec := range srecs {
		if !rec.Mirrored || rec.Route != modelapi.RouteInfer {
			continue
		}
		cmp.Mirrored++
		if !ids[rec.RequestID] {
			// A copy whose id no primary answer carried: the mirror does
			// not keep ids (or someone else is using the lab meanwhile).
			foreign++
			continue
		}
		pr, ok := primary[rec.RequestID]
		if !ok {
			continue // the primary's record fell out of its ring
		}
		cmp.Joined++
		if pr.OutputDigest == rec.OutputDigest && pr.Status == rec.Status {
			cmp.Agreed++
		}
		pl = append(pl, pr.LatencyMS)
		sl = append(sl, rec.LatencyMS)
		diff = append(diff, rec.LatencyMS-pr.LatencyMS)
	}
	if cmp.Joined > 0 {
		cmp.AgreementPct = 100 * float64(cmp.Agreed) / float64(cmp.Joined)
		cmp.PrimaryP50, cmp.PrimaryP95 = Quantile(pl, .5), Quantile(pl, .95)
		cmp.ShadowP50, cmp.ShadowP95 = Quantile(sl, .5), Quantile(sl, .95)
		cmp.DiffP50, cmp.DiffP95 = Quantile(diff, .5), Quantile(diff, .95)
	}
	return cmp, foreign, nil
}
