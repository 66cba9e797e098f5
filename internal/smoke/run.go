package smoke

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/modelrollouts/modelrollouts/stacks"
)

// Params are the knobs of a run. The zero value is not useful; start from
// DefaultParams.
type Params struct {
	Margin float64 // smallest share error to catch, as a fraction (0.05 = 5 points)
	Alpha  float64 // false-alarm rate of the whole run's statistical tests
	Power  float64 // chance of catching an error of Margin
	N      int     // requests to send; 0 means the power calculation decides

	Concurrency    int
	RequestTimeout time.Duration // per request, cold start included
	WaitTimeout    time.Duration // for all routes to answer at first
	Backoff        Backoff
	// MaxErrorShare is the share of failed requests tolerated; failures
	// are left out of the split test, so many of them would bias it.
	MaxErrorShare float64
	// Settle bounds the wait for mirrored copies, which Envoy sends
	// asynchronously, to reach the shadow after the last user request.
	Settle time.Duration
}

// DefaultParams: a 5-point error on any share is caught 95% of the time,
// and a correct deployment fails at most 1% of the time.
var DefaultParams = Params{
	Margin:         0.05,
	Alpha:          0.01,
	Power:          0.95,
	Concurrency:    8,
	RequestTimeout: 30 * time.Second,
	WaitTimeout:    3 * time.Minute,
	Backoff:        DefaultBackoff,
	MaxErrorShare:  0.01,
	Settle:         10 * time.Second,
}

// Check validates parameters.
func (p Params) Check() error {
	switch {
	case !(p.Margin > 0 && p.Margin < 1):
		return fmt.Errorf("margin %g must be a share strictly between 0 and 1 (0.05 = 5 points)", p.Margin)
	case !(p.Alpha > 0 && p.Alpha < 0.5):
		return fmt.Errorf("alpha %g must be between 0 and 0.5", p.Alpha)
	case !(p.Power > 0.5 && p.Power < 1):
		return fmt.Errorf("power %g must be between 0.5 and 1", p.Power)
	case p.N < 0 || p.N > 1_000_000:
		return fmt.Errorf("n %d must be between 0 (power calculation) and 1000000", p.N)
	case p.Concurrency < 1 || p.Concurrency > 256:
		return fmt.Errorf("concurrency %d must be between 1 and 256", p.Concurrency)
	case p.RequestTimeout <= 0 || p.WaitTimeout <= 0:
		return fmt.Errorf("timeouts must be positive")
	case p.MaxErrorShare < 0 || p.MaxErrorShare >= 1:
		return fmt.Errorf("max error share %g must be in [0, 1)", p.MaxErrorShare)
	}
	return nil
}

// Run checks a deployment described by o. The returned report says
// whether it passed; an error means the run could not be made at all.
// ctx bounds the whole run.
func Run(ctx context.Context, o *stacks.Outputs, p Params, prog *Progress) (*Report, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	if err := o.Check(); err != nil {
		return nil, err
	}
	c, err := NewClient(o.IngressURL, p.RequestTimeout, p.Concurrency)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	r := &Report{
		Strategy: o.Strategy, Ingress: o.IngressURL, Host: o.Host,
		Margin: p.Margin, Alpha: p.Alpha, Power: p.Power,
	}
	defer func() { r.Elapsed = time.Since(start) }()

	// Wake every route first: Knative scales each revision from zero on
	// its own, and a cold one would otherwise skew the split.
	hosts := []string{o.Host}
	seen := map[string]bool{o.Host: true}
	for _, name := range sortedVersions(o) {
		if h := o.Versions[name].Host; h != "" && !seen[h] {
			seen[h] = true
			hosts = append(hosts, h)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, p.WaitTimeout)
	r.Wait = WaitAll(wctx, c, hosts, p.Backoff)
	cancel()
	for _, w := range r.Wait {
		r.check("ready "+w.Host, w.OK, waitDetail(w))
	}
	if !r.allChecksOK() {
		r.finish()
		return r, nil
	}

	switch o.Strategy {
	case stacks.StrategyCanary:
		err = runCanary(ctx, c, o, p, prog, r)
	case stacks.StrategyShadow:
		err = runShadow(ctx, c, o, p, prog, r)
	default:
		err = fmt.Errorf("strategy %q has no smoke test", o.Strategy)
	}
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		r.check("finished in time", false, "the run's deadline passed before all requests were sent: "+ctx.Err().Error())
	}
	r.finish()
	return r, nil
}

func waitDetail(w WaitResult) string {
	if !w.OK {
		return w.LastProblem
	}
	return fmt.Sprintf("answered after %s (%d attempts; first answer took %s)",
		w.Ready.Round(time.Millisecond), w.Attempts, w.FirstAnswer.Round(time.Millisecond))
}

// runID tags this run's request ids, so its records are told apart from
// anyone else's in the debug rings.
func runID() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// checkVersionHosts asks each version's own host for GET / and expects
// its target and name back.
func checkVersionHosts(ctx context.Context, c *Client, o *stacks.Outputs, r *Report) {
	for _, name := range sortedVersions(o) {
		v := o.Versions[name]
		label := "own host of " + name
		if v.Host == "" {
			r.check(label, true, "no own host in the outputs (untagged version): skipped")
			continue
		}
		a := c.Do(ctx, "GET", v.Host, "/", nil, "")
		switch {
		case !a.OK():
			r.check(label, false, v.Host+": "+a.Problem())
		case a.Version != name:
			r.check(label, false, fmt.Sprintf("%s answered as version %q, want %q", v.Host, a.Version, name))
		case string(a.Body) != v.Target:
			r.check(label, false, fmt.Sprintf("%s answered %q, want target %q", v.Host, truncate(string(a.Body), 80), v.Target))
		default:
			r.check(label, true, fmt.Sprintf("%s answers %q as %s", v.Host, truncate(v.Target, 60), name))
		}
	}
}
