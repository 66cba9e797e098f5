package gate

import (
	"context"
	"fmt"
)

// Sampler measures both versions: n more requests each, sent so that both
// see the same moments (interleaved), so a slow minute hits both alike.
type Sampler interface {
	Sample(ctx context.Context, n int) (candidate, baseline []Outcome, err error)
}

// Run judges sequentially: it measures in batches and stops as soon as the
// evidence decides, or at the budget (inconclusive), or when ctx ends
// (inconclusive, with what was measured), or when both versions break an
// SLO (inconclusive: the platform's fault, more requests cannot help).
// look, if not nil, sees every intermediate judgement (progress).
func Run(ctx context.Context, s Settings, candidate, baseline string, src Sampler, look func(*Result)) (*Result, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	j := NewJudge(s, candidate, baseline)
	budget := s.MaxRequests
	if budget == 0 {
		budget = j.FixedN()
	}
	for {
		n := j.Requests()
		if n >= budget || ctx.Err() != nil {
			r := j.Judge(true)
			if ctx.Err() != nil && r.Verdict == Inconclusive {
				r.Reason = fmt.Sprintf("stopped early (%v); %s", context.Cause(ctx), r.Reason)
			}
			return r, nil
		}
		c, b, err := src.Sample(ctx, min(LookEvery(s, n), budget-n))
		if err != nil {
			return nil, err
		}
		j.Add(c, b)
		r := j.Judge(false)
		if look != nil {
			look(r)
		}
		if r.Verdict != Undecided {
			return r, nil
		}
	}
}

// LookEvery is how many requests per version the gate sends between two
// looks at the evidence, after n: a fifth of the minimum at first, then a
// twentieth of what was sent, so looking costs little and overshooting a
// boundary at most about 5%.
func LookEvery(s Settings, n int) int {
	if n < s.MinRequests {
		return s.MinRequests - n
	}
	return max(s.MinRequests/5, n/20, 1)
}
