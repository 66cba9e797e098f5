package measure

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Backoff is an exponential retry schedule.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
	Factor  float64
}

// DefaultBackoff starts fast (a warm lab answers at once) and settles at a
// few seconds, well under Knative's scale-from-zero time.
var DefaultBackoff = Backoff{Initial: 200 * time.Millisecond, Max: 5 * time.Second, Factor: 2}

// Delay is the wait before retry number i (0-based).
func (b Backoff) Delay(i int) time.Duration {
	d := float64(b.Initial)
	for ; i > 0 && d < float64(b.Max); i-- {
		d *= b.Factor
	}
	return min(time.Duration(d), b.Max)
}

// WaitResult is what waiting for one route saw.
type WaitResult struct {
	Host string `json:"host"`
	// Ready is the time from the first attempt until an answer came: the
	// cold start when the route was scaled to zero.
	Ready time.Duration `json:"-"` // ready_ms, see MarshalJSON
	// FirstAnswer is the latency of the request that succeeded; a large
	// value means the activator held it while a pod started.
	FirstAnswer time.Duration `json:"-"` // first_answer_ms
	Attempts    int           `json:"attempts"`
	LastProblem string        `json:"last_problem,omitempty"`
	OK          bool          `json:"ok"`
	// Last is the last answer, the one that showed the host serving or,
	// when the wait gave up, the last problem as it came.
	Last Answer `json:"-"`
}

// ColdStart is the longer of the two views of a cold start.
func (w WaitResult) ColdStart() time.Duration { return max(w.Ready, w.FirstAnswer) }

// WaitReady sends r until serving says its answer shows the host up, or
// ctx ends, backing off exponentially between attempts (each attempt is
// one request: the client's own retries are not used here).
func WaitReady(ctx context.Context, c *Client, r Request, b Backoff, serving func(Answer) bool) WaitResult {
	res := WaitResult{Host: r.Host}
	start := time.Now()
	for i := 0; ; i++ {
		a := c.once(ctx, r)
		res.Attempts++
		res.Last = a
		if serving(a) {
			res.Ready, res.FirstAnswer, res.OK = time.Since(start), a.Latency, true
			return res
		}
		res.LastProblem = a.Problem()
		t := time.NewTimer(b.Delay(i))
		select {
		case <-ctx.Done():
			t.Stop()
			res.Ready = time.Since(start)
			res.LastProblem = fmt.Sprintf("gave up after %d attempts in %s: %s", res.Attempts, res.Ready.Round(time.Millisecond), res.LastProblem)
			return res
		case <-t.C:
		}
	}
}

// WaitAll waits for every request's host at once, so the slowest cold
// start bounds the wait instead of their sum.
func WaitAll(ctx context.Context, c *Client, reqs []Request, b Backoff, serving func(Answer) bool) []WaitResult {
	out := make([]WaitResult, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Go(func() { out[i] = WaitReady(ctx, c, r, b, serving) })
	}
	wg.Wait()
	return out
}
