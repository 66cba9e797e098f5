package smoke

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/modelrollouts/modelrollouts/internal/measure"
	"github.com/modelrollouts/modelrollouts/stacks"
)

// expectedShares returns each version's configured percent: the split
// output, or the versions' own percent when there is no split.
func expectedShares(o *stacks.Outputs) (map[string]int, error) {
	pct := map[string]int{}
	if len(o.Split) > 0 {
		for name, p := range o.Split {
			if _, ok := o.Versions[name]; !ok {
				return nil, fmt.Errorf("stack output %s names %q, which is not in %s", stacks.OutputSplit, name, stacks.OutputVersions)
			}
			pct[name] = p
		}
	} else {
		for name, v := range o.Versions {
			if v.Percent != nil {
				pct[name] = *v.Percent
			}
		}
	}
	total := 0
	for name := range o.Versions {
		p := pct[name] // a version without a percent gets no user traffic
		if p < 0 || p > 100 {
			return nil, fmt.Errorf("version %s has percent %d, want 0-100", name, p)
		}
		pct[name] = p
		total += p
	}
	if total != 100 {
		return nil, fmt.Errorf("the configured split adds up to %d%%, want 100%%", total)
	}
	return pct, nil
}

func runCanary(ctx context.Context, c *measure.Client, o *stacks.Outputs, p Params, prog *Progress, r *Report) error {
	pct, err := expectedShares(o)
	if err != nil {
		return err
	}
	names := sortedVersions(o)
	shares := make([]float64, len(names))
	versions := make([]Version, len(names))
	for i, n := range names {
		shares[i] = float64(pct[n]) / 100
		versions[i] = Version{Name: n, Share: shares[i], OwnHost: o.Versions[n].Host != "", ServesUsers: true}
	}
	pl := PlanCanary(versions, p)
	r.setPlan(pl, p)

	own := probeOwnHosts(ctx, c, o, pl, p, prog, r)

	user := measure.NewTally()
	for _, n := range names {
		user.Version(n)
	}
	mismatched, firstMismatch := 0, ""
	userPath := o.UserProbePath()
	r.Sent = c.Send(ctx, measure.Batch{
		N: r.N, Concurrency: p.Concurrency, Progress: prog, Label: "canary: user requests",
		Request: func(int) measure.Request { return measure.Get(o.Host, userPath) },
	}, func(_ int, a measure.Answer) bool {
		user.Add(a)
		if v, ok := o.Versions[a.Version]; ok && a.OK() && v.AnswersTarget() && string(a.Body) != v.Target {
			mismatched++
			if firstMismatch == "" {
				firstMismatch = fmt.Sprintf("%q from %s", measure.Truncate(string(a.Body), 80), a.Version)
			}
		}
		return true
	})

	unknown := map[string]int{}
	known := 0
	for _, v := range user.Versions() {
		vt := user.Version(v)
		if _, ok := o.Versions[v]; !ok {
			if vt.Requests > 0 {
				unknown[v] += vt.Requests
			}
			continue
		}
		known += vt.OK
	}
	// Answers without a version header are unattributed; 200s among them
	// cannot be placed in the split.
	if n := user.Unattributed.OK; n > 0 {
		unknown[""] += n
	}
	for _, v := range user.Versions() {
		r.Answered += user.Version(v).OK
		r.Errors += user.Version(v).Requests - user.Version(v).OK
	}
	r.Answered += user.Unattributed.OK
	r.Errors += user.Unattributed.Requests - user.Unattributed.OK

	// The split is tested on 200 answers of known versions: a failed
	// request says nothing about where the route sent it.
	observed := make([]int, len(names))
	expected := make([]float64, len(names))
	for i, name := range names {
		observed[i] = user.Version(name).OK
		expected[i] = shares[i] * float64(known)
	}
	ivs, _ := measure.TestShares(observed, shares, pl.TestAlpha)
	for i, name := range names {
		verdict, ok := rowVerdict(observed[i], ivs[i], float64(pct[name]))
		role := ""
		if t := o.Versions[name].Tag; t != "" {
			role = "tag " + t
		}
		r.Versions = append(r.Versions, VersionRow{
			Version: name, Role: role, Of: "user answers",
			ExpectedPct: float64(pct[name]), Observed: observed[i], Total: known,
			Interval: ivs[i], Verdict: verdict, OK: ok,
		})
	}
	if stat, df, pv := measure.ChiSquareGOF(observed, expected); df > 0 {
		r.ChiSquare = &ChiSquare{Stat: stat, DF: df, PValue: pv}
	}

	r.check("all answers from configured versions", len(unknown) == 0, describeUnknown(unknown))
	detail := fmt.Sprintf("every one of %d answers carried its version's target", known)
	if mismatched > 0 {
		detail = fmt.Sprintf("%d of %d answers carried a body other than the target of the version in X-Model-Version; first: %s", mismatched, known, firstMismatch)
	}
	r.check("answers match their version's target", mismatched == 0, detail)
	judgeBudgets(user, own, names, r.Sent, pl, p, r)
	r.check("all requests sent", r.Sent == r.N && r.OwnSent == pl.Total()-pl.UserRequests,
		fmt.Sprintf("%d of %d user requests, %d of %d own-host requests", r.Sent, r.N, r.OwnSent, pl.Total()-pl.UserRequests))
	return nil
}

func describeUnknown(unknown map[string]int) string {
	if len(unknown) == 0 {
		return "every answer named a version of the stack"
	}
	var parts []string
	for v, n := range unknown {
		if v == "" {
			parts = append(parts, fmt.Sprintf("%d without a version header", n))
			continue
		}
		parts = append(parts, fmt.Sprintf("%q×%d", v, n))
	}
	slices.Sort(parts)
	return "answers from versions not in the stack: " + strings.Join(parts, ", ")
}
