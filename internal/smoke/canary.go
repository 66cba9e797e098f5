package smoke

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/modelrollouts/modelrollouts/stacks"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
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

// canaryAnswer is what one user request showed.
type canaryAnswer struct {
	status  int
	version string
	bodyOK  bool // the body is the target of the version named in the header
	problem string
}

func runCanary(ctx context.Context, c *Client, o *stacks.Outputs, p Params, prog *Progress, r *Report) error {
	pct, err := expectedShares(o)
	if err != nil {
		return err
	}
	names := sortedVersions(o)
	shares := make([]float64, len(names))
	for i, n := range names {
		shares[i] = float64(pct[n]) / 100
	}
	alpha := BonferroniAlpha(p.Alpha, countStatistical(shares))
	r.N, r.Planned = p.N, p.N == 0
	if r.Planned {
		r.N = CanarySampleSize(shares, p.Margin, p.Alpha, p.Power)
	}
	r.Method = fmt.Sprintf("exact two-sided binomial test per version at alpha %.3g (Bonferroni over %d shares), "+
		"0%% and 100%% versions must see none and all", alpha, max(1, countStatistical(shares)))

	checkVersionHosts(ctx, c, o, r)

	answers := make([]canaryAnswer, r.N)
	prog.Start("canary: user requests", r.N)
	r.Sent = sendAll(ctx, r.N, p.Concurrency, prog, func(ctx context.Context, i int) {
		a := c.Do(ctx, http.MethodGet, o.Host, "/", nil, "")
		ans := canaryAnswer{status: a.Status, version: a.Version, problem: a.Problem()}
		if v, ok := o.Versions[a.Version]; ok {
			ans.bodyOK = string(a.Body) == v.Target
		}
		answers[i] = ans
	})
	prog.Finish()

	counts := map[string]int{}
	unknown := map[string]int{}
	mismatched, known := 0, 0
	var firstProblem string
	for _, a := range answers[:r.Sent] {
		if a.status != http.StatusOK {
			r.Errors++
			if firstProblem == "" {
				firstProblem = a.problem
			}
			continue
		}
		r.Answered++
		if _, ok := o.Versions[a.version]; !ok {
			unknown[a.version]++
			continue
		}
		counts[a.version]++
		known++
		if !a.bodyOK {
			mismatched++
		}
	}

	expected := make([]float64, len(names))
	observed := make([]int, len(names))
	for i, name := range names {
		observed[i] = counts[name]
		expected[i] = shares[i] * float64(known)
	}
	ivs, _ := TestShares(observed, shares, p.Alpha)
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
	if stat, df, pv := ChiSquareGOF(observed, expected); df > 0 {
		r.ChiSquare = &ChiSquare{Stat: stat, DF: df, PValue: pv}
	}

	r.check("all answers from configured versions", len(unknown) == 0, describeUnknown(unknown))
	r.check("answers match their version's target", mismatched == 0,
		fmt.Sprintf("%d of %d answers carried a body other than the target of the version in %s", mismatched, known, modelapi.HeaderModelVersion))
	checkErrors(r, p, firstProblem)
	return nil
}

func describeUnknown(unknown map[string]int) string {
	if len(unknown) == 0 {
		return "every answer named a version of the stack"
	}
	var parts []string
	for v, n := range unknown {
		parts = append(parts, fmt.Sprintf("%q×%d", v, n))
	}
	slices.Sort(parts)
	return "answers from versions not in the stack: " + strings.Join(parts, ", ")
}

// checkErrors fails the run when too many requests failed or not all
// were sent: failed requests are not in the tests, so they could hide a
// wrong split.
func checkErrors(r *Report, p Params, firstProblem string) {
	limit := int(p.MaxErrorShare * float64(r.N))
	detail := fmt.Sprintf("%d of %d requests failed (limit %d)", r.Errors, r.Sent, limit)
	if firstProblem != "" {
		detail += "; first: " + firstProblem
	}
	r.check("request failures", r.Errors <= limit, detail)
	r.check("all requests sent", r.Sent == r.N, fmt.Sprintf("%d of %d", r.Sent, r.N))
}
