package smoke

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/measure"
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
}

func runShadow(ctx context.Context, c *measure.Client, o *stacks.Outputs, p Params, prog *Progress, r *Report) error {
	prim, shad := o.Versions[o.Primary], o.Versions[o.Shadow]
	if prim.Host == "" || shad.Host == "" {
		return fmt.Errorf("shadow check needs each version's own host in the outputs (primary %q, shadow %q)", prim.Host, shad.Host)
	}
	mirror := *o.MirrorPercent / 100
	if mirror < 0 || mirror > 1 {
		return fmt.Errorf("stack output %s is %g, want 0-100", stacks.OutputMirrorPercent, *o.MirrorPercent)
	}
	pods, err := shadowPods(c, o, p)
	if err != nil {
		return err
	}
	pl := PlanShadow(o.Primary, o.Shadow, mirror, p)
	r.setPlan(pl, p)

	own := probeOwnHosts(ctx, c, o, pl, p, prog, r)

	probe, problem := chooseShadowProbe(ctx, c, o, p)
	if problem != "" {
		r.check("model metadata", false, problem)
		return nil
	}
	r.Method += fmt.Sprintf("; user requests: %s; every user answer must come from the primary; mirrored copies are the growth of the shadow's %s{route=%q} summed over %s",
		probe, modelapi.MetricMirrored, probe.route, pods)

	mirrored := measure.Series{Metric: modelapi.MetricMirrored, Labels: map[string]string{modelapi.LabelVersion: o.Shadow, modelapi.LabelRoute: probe.route}}
	inFlight := measure.Series{Metric: modelapi.MetricInFlight, Labels: map[string]string{modelapi.LabelVersion: o.Shadow, modelapi.LabelRoute: probe.route, modelapi.LabelMirrored: "true"}}
	before, err := measure.Read(ctx, pods, mirrored, inFlight)
	if err != nil {
		r.check("shadow request counter", false, err.Error())
		return nil
	}

	id := runID()
	prefix := "smoke-" + id + "-"
	// Records are read by the servers' clock from a little before the
	// first request, so a small clock skew loses none.
	since := time.Now().Add(-time.Second)
	user := measure.NewTally()
	user.Version(o.Primary)
	answers := make([]shadowAnswer, r.N)
	// Twice Concurrency copies in flight per shadow pod, roughly: a
	// slower shadow sets the pace instead of drowning (see shadowPacer).
	pacer := startShadowPacer(ctx, pods, mirrored, inFlight, float64(2*p.Concurrency*replicas(o, o.Shadow)), mirror)
	r.Sent = c.Send(ctx, measure.Batch{
		N: r.N, Concurrency: p.Concurrency, Progress: prog, Label: "shadow: user requests", Pace: pacer.wait,
		Request: func(i int) measure.Request {
			return probe.request(o.Host, i, fmt.Sprintf("%s%d", prefix, i))
		},
	}, func(i int, a measure.Answer) bool {
		user.Add(a)
		ans := shadowAnswer{status: a.Status, header: a.Version, requestID: a.RequestID}
		if probe.echo {
			var resp modelapi.InferResponse
			if a.OK() && json.Unmarshal(a.Body, &resp) == nil {
				ans.body = resp.ModelVersion
			}
		}
		answers[i] = ans
		return true
	})

	pacer.finish()
	if held := time.Duration(pacer.held.Load()) / time.Duration(p.Concurrency); held > 0 {
		r.Method += fmt.Sprintf("; paced by the shadow: user requests held back %s (per client) while it had %g or more copies in flight (at most %d seen)",
			held.Round(time.Millisecond), pacer.limit, pacer.peak.Load())
	}

	// User-visible answers: all from the primary, header and body alike.
	fromPrimary, fromShadow, reached := 0, 0, 0
	ids := map[string]bool{}
	var firstForeign string
	for _, a := range answers {
		if a.status == 0 {
			continue // not sent, or no answer: not eligible for mirroring
		}
		reached++
		if a.requestID != "" {
			ids[a.requestID] = true
		}
		if a.status != http.StatusOK {
			r.Errors++
			continue
		}
		r.Answered++
		switch {
		case a.header == o.Primary && (!probe.echo || a.body == o.Primary):
			fromPrimary++
		default:
			fromShadow++ // the shadow or anything else: users must not see it
			if firstForeign == "" {
				firstForeign = fmt.Sprintf("header %q", a.header)
				if probe.echo {
					firstForeign += fmt.Sprintf(", body model_version %q", a.body)
				}
			}
		}
	}
	r.Errors += r.Sent - reached
	all := measure.AcceptInterval(r.Answered, 1, pl.TestAlpha)
	v, ok := rowVerdict(fromPrimary, all, 100)
	r.Versions = append(r.Versions, VersionRow{Version: o.Primary, Role: "primary", Of: "user answers",
		ExpectedPct: 100, Observed: fromPrimary, Total: r.Answered, Interval: all, Verdict: v, OK: ok})
	none := measure.AcceptInterval(r.Answered, 0, pl.TestAlpha)
	v, ok = rowVerdict(fromShadow, none, 0)
	if !ok && firstForeign != "" {
		v += " (first: " + firstForeign + ")"
	}
	r.Versions = append(r.Versions, VersionRow{Version: o.Shadow + " (or other)", Role: "shadow", Of: "user answers",
		ExpectedPct: 0, Observed: fromShadow, Total: r.Answered, Interval: none, Verdict: v, OK: ok})

	// Mirrored copies arrive asynchronously and a slow shadow answers them
	// long after the users got theirs: wait until the count is at least
	// the fewest a passing run has, nothing is in flight on any shadow pod
	// and the count held still, or until Settle.
	iv := measure.AcceptInterval(reached, mirror, pl.TestAlpha)
	after, count, settled, err := measure.WaitCount(ctx, pods, mirrored, inFlight, before, measure.CountWait{
		Want: iv.Lo, Quiet: mirrorQuiet, Patience: mirrorPatience, Deadline: p.Settle,
	})
	if err != nil {
		r.check("shadow request counter", false, err.Error())
		judgeBudgets(user, own, []string{o.Primary, o.Shadow}, r.Sent, pl, p, r)
		return nil
	}
	if !settled {
		r.check("mirrored copies settled", false, fmt.Sprintf("after %s, %g copies were still being answered by the shadow (count so far %d)",
			p.Settle, after.InFlight, count))
	}
	v, ok = rowVerdict(count, iv, *o.MirrorPercent)
	r.Versions = append(r.Versions, VersionRow{Version: o.Shadow, Role: "shadow", Of: "mirrored copies",
		ExpectedPct: *o.MirrorPercent, Observed: count, Total: reached, Interval: iv, Verdict: v, OK: ok})

	if !probe.recorded {
		// The servers keep no record of a probe route, so neither the
		// ids nor the answers can be joined: say so, and how to get it.
		r.skip("mirrored copies carry the primary's request ids", fmt.Sprintf(
			"not checked: %s is a probe route the servers do not record; give --path and --body of an inference request to join the copies to the users' requests", probe.route))
		judgeBudgets(user, own, []string{o.Primary, o.Shadow}, r.Sent, pl, p, r)
		return nil
	}
	cmp, foreign, err := compare(ctx, c, prim.Host, shad.Host, probe.route, since, ids, replicas(o, o.Primary)+replicas(o, o.Shadow))
	if err != nil {
		r.check("debug records", false, err.Error())
	} else {
		r.Shadow = cmp
		detail := fmt.Sprintf("%d mirrored records of this run read, %d joined to a primary request by id", cmp.Mirrored, cmp.Joined)
		if foreign > 0 {
			detail = fmt.Sprintf("%d mirrored records carry a request id no user answer had", foreign)
		}
		r.check("mirrored copies carry the primary's request ids", foreign == 0 && (count == 0 || cmp.Mirrored > 0), detail)
	}
	judgeBudgets(user, own, []string{o.Primary, o.Shadow}, r.Sent, pl, p, r)
	return nil
}

// compare joins this run's primary and mirrored shadow records of route by
// request id. Each read of a host's /debug/requests reaches one pod, so
// with several pods it reads each host a few times per replica and keeps
// the union. foreign counts mirrored records since the run started whose
// id no user answer carried.
func compare(ctx context.Context, c *measure.Client, primHost, shadHost, route string, since time.Time, ids map[string]bool, pods int) (*Comparison, int, error) {
	reads := 1
	if pods > 2 {
		reads = 3 * pods
	}
	read := func(host string) (map[string]modelapi.RequestRecord, error) {
		out := map[string]modelapi.RequestRecord{}
		for range reads {
			recs, err := measure.Records(ctx, c, host, since)
			if err != nil {
				return nil, err
			}
			for _, rec := range recs {
				if rec.Route == route {
					out[fmt.Sprint(rec.Mirrored, rec.RequestID)] = rec
				}
			}
		}
		return out, nil
	}
	precs, err := read(primHost)
	if err != nil {
		return nil, 0, err
	}
	srecs, err := read(shadHost)
	if err != nil {
		return nil, 0, err
	}
	cmp := &Comparison{}
	primary := map[string]modelapi.RequestRecord{}
	for _, rec := range precs {
		if !rec.Mirrored && ids[rec.RequestID] {
			primary[rec.RequestID] = rec
		}
	}
	var pl, sl, diff []float64
	foreign := 0
	for _, rec := range srecs {
		if !rec.Mirrored {
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
		cmp.PrimaryP50, cmp.PrimaryP95 = measure.InterpolatedQuantile(pl, .5), measure.InterpolatedQuantile(pl, .95)
		cmp.ShadowP50, cmp.ShadowP95 = measure.InterpolatedQuantile(sl, .5), measure.InterpolatedQuantile(sl, .95)
		cmp.DiffP50, cmp.DiffP95 = measure.InterpolatedQuantile(diff, .5), measure.InterpolatedQuantile(diff, .95)
	}
	return cmp, foreign, nil
}

// The mirrored count has settled once it held still for mirrorQuiet at
// the count a passing run needs, or for mirrorPatience short of it.
const (
	mirrorQuiet    = time.Second
	mirrorPatience = 3 * time.Second
)
