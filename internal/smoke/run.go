package smoke

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/measure"
	"github.com/modelrollouts/modelrollouts/stacks"
)

// Names kept from before the measurement core moved to internal/measure.
type (
	Progress   = measure.Progress
	Backoff    = measure.Backoff
	WaitResult = measure.WaitResult
	Interval   = measure.Interval
)

var (
	NewProgress    = measure.NewProgress
	IsTerminal     = measure.IsTerminal
	DefaultBackoff = measure.DefaultBackoff
)

// Params are the knobs of a run. The zero value is not useful; start from
// DefaultParams.
type Params struct {
	Margin float64 // smallest share error to catch, as a fraction (0.05 = 5 points)
	// Leak is the smallest share of user traffic reaching where none
	// should go (a 0% version, a shadow's answers) to catch with Power.
	Leak  float64
	Alpha float64 // false-alarm rate of the whole run's statistical tests
	Power float64 // chance of catching an error of Margin, a Leak, a DetectErrorShare
	N     int     // requests to the user host; 0 means the power calculation decides

	// MaxErrorShare is the failure rate (5xx or no answer) a version may
	// have; failures are left out of the share tests, so many of them
	// would bias those. Each version's budget is judged on its own
	// requests, so a small canary cannot hide behind a big baseline.
	MaxErrorShare float64
	// DetectErrorShare is a failure rate each budget catches with Power:
	// it sets how many requests go to each version's own host.
	DetectErrorShare float64
	// OwnRequests is the fewest requests to each version's own host.
	OwnRequests int

	Concurrency    int
	RequestTimeout time.Duration // per attempt, cold start included
	// Retries are the extra attempts of a request that got no HTTP
	// answer at all; answers (5xx included) are never retried.
	Retries     int
	WaitTimeout time.Duration // for all routes to answer at first
	Backoff     Backoff
	// Settle bounds the wait for mirrored copies, which Envoy sends
	// asynchronously, to be answered by the shadow after the last user
	// request: the wait ends sooner once the count is in and nothing is
	// in flight.
	Settle time.Duration
	// Pods says how the pods of a version are read (shadow counters).
	Pods PodAccess
	// ShadowRequest, when its Path is set, is what the shadow check
	// sends on the user host instead of its default (model-echo's own
	// inference request, or the readiness path of a model behind
	// model-agent): an own model's inference request, so the check can
	// also join the copies' records to the primary's.
	ShadowRequest ModelRequest
}

// ModelRequest is one request a model answers: Body, when set, is sent
// as a POST.
type ModelRequest struct {
	Path string
	Body []byte
}

// PodAccess says how counters are read from every pod of a version.
type PodAccess string

const (
	// PodsAuto uses the Kubernetes API when the stack outputs carry a
	// kubeconfig, else the ingress.
	PodsAuto PodAccess = "auto"
	// PodsIngress scrapes through the ingress until every replica the
	// outputs name has answered.
	PodsIngress PodAccess = "ingress"
	// PodsKubernetes lists the pods and reads each through the API
	// server's pod proxy (the outputs' kubeconfig, else the ambient one).
	PodsKubernetes PodAccess = "kubernetes"
)

// DefaultParams: a 5-point error on any share, a 1% leak and a version
// failing 5% of its requests are each caught 95% of the time, and a
// correct deployment fails at most 1% of the time.
var DefaultParams = Params{
	Margin:           0.05,
	Leak:             0.01,
	Alpha:            0.01,
	Power:            0.95,
	MaxErrorShare:    0.01,
	DetectErrorShare: 0.05,
	OwnRequests:      10,
	Concurrency:      8,
	RequestTimeout:   30 * time.Second,
	Retries:          2,
	WaitTimeout:      3 * time.Minute,
	Backoff:          DefaultBackoff,
	Settle:           45 * time.Second,
	Pods:             PodsAuto,
}

// Check validates parameters.
func (p Params) Check() error {
	switch {
	case !(p.Margin > 0 && p.Margin < 1):
		return fmt.Errorf("margin %g must be a share strictly between 0 and 1 (0.05 = 5 points)", p.Margin)
	case !(p.Leak > 0 && p.Leak < 1):
		return fmt.Errorf("leak %g must be a share strictly between 0 and 1 (0.01 = 1%%)", p.Leak)
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
	case p.Settle < 2*mirrorQuiet:
		// Shorter, the count could settle only if it were final at the
		// first reading.
		return fmt.Errorf("settle %s must be at least %s: the mirrored count has to hold still for %s", p.Settle, 2*mirrorQuiet, mirrorQuiet)
	case p.Retries < 0 || p.Retries > 10:
		return fmt.Errorf("retries %d must be between 0 and 10", p.Retries)
	case p.MaxErrorShare < 0 || p.MaxErrorShare >= 1:
		return fmt.Errorf("max error share %g must be in [0, 1)", p.MaxErrorShare)
	case !(p.DetectErrorShare > p.MaxErrorShare && p.DetectErrorShare < 1):
		return fmt.Errorf("detected error share %g must be above the max error share %g and below 1", p.DetectErrorShare, p.MaxErrorShare)
	case p.OwnRequests < 1 || p.OwnRequests > 100_000:
		return fmt.Errorf("own-host requests %d must be between 1 and 100000", p.OwnRequests)
	case p.ShadowRequest.Path != "" && !strings.HasPrefix(p.ShadowRequest.Path, "/"):
		return fmt.Errorf("path (--path) %q must start with /", p.ShadowRequest.Path)
	case p.ShadowRequest.Path == "" && len(p.ShadowRequest.Body) > 0:
		return fmt.Errorf("a request body (--body) needs the path it is sent to (--path)")
	}
	switch p.Pods {
	case PodsAuto, PodsIngress, PodsKubernetes, "":
	default:
		return fmt.Errorf("pods %q must be one of %s, %s, %s", p.Pods, PodsAuto, PodsIngress, PodsKubernetes)
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
	c, err := measure.NewClient(o.IngressURL, measure.ClientOptions{
		Timeout: p.RequestTimeout, Retries: p.Retries, RetryBackoff: p.Backoff, MaxConns: p.Concurrency,
	})
	if err != nil {
		return nil, err
	}
	start := time.Now()
	r := &Report{
		Strategy: o.Strategy, Ingress: o.IngressURL, Host: o.Host,
		Margin: p.Margin, Leak: p.Leak, Alpha: p.Alpha, Power: p.Power,
	}
	defer func() { r.Elapsed = time.Since(start) }()

	// Wake every route first: Knative scales each revision from zero on
	// its own, and a cold one would otherwise skew the split.
	hosts := []string{o.Host}
	seen := map[string]bool{o.Host: true}
	// Each host is probed on a path its versions answer 200.
	probePaths := map[string]string{o.Host: o.UserProbePath()}
	for _, name := range sortedVersions(o) {
		if h := o.Versions[name].Host; h != "" && !seen[h] {
			seen[h] = true
			hosts = append(hosts, h)
			probePaths[h] = o.Versions[name].ProbePath()
		}
	}
	wctx, cancel := context.WithTimeout(ctx, p.WaitTimeout)
	reqs := make([]measure.Request, len(hosts))
	for i, h := range hosts {
		reqs[i] = measure.Get(h, probePaths[h])
	}
	r.Wait = measure.WaitAll(wctx, c, reqs, p.Backoff, measure.Answer.OK)
	cancel()
	if problem := unreachable(r.Wait); problem != "" {
		// One cause, said once: not the same dial error for every host.
		r.Unreachable = problem
		r.check("ingress reachable", false, o.IngressURL+": "+problem)
		r.finish()
		return r, nil
	}
	for _, w := range r.Wait {
		r.check("ready "+w.Host, w.OK, waitDetail(w))
	}
	if !r.allChecksOK() {
		r.finish()
		return r, nil
	}

	checkErr, err := stacks.ByStrategy[error](o.Strategy, strategyRun{ctx, c, o, p, prog, r})
	if err = errors.Join(err, checkErr); err != nil {
		return nil, err
	}
	if hasHeaderRoutes(o) {
		runHeaderChecks(ctx, c, o, p, r)
	}
	if ctx.Err() != nil {
		r.check("finished in time", false, "the run's deadline passed before all requests were sent: "+ctx.Err().Error())
	}
	r.finish()
	return r, nil
}

// unreachable is the error every host's wait ended with when none got
// an HTTP answer at all (the ingress is down or the address is wrong);
// "" when any host answered something.
func unreachable(waits []WaitResult) string {
	problem := ""
	for _, w := range waits {
		if w.OK || w.Last.Status != 0 || w.Last.Err == nil {
			return ""
		}
		if problem == "" {
			problem = w.Last.Err.Error()
		}
	}
	return problem
}

// strategyRun sends the strategy's own checks and adds them to r.
type strategyRun struct {
	ctx  context.Context
	c    *measure.Client
	o    *stacks.Outputs
	p    Params
	prog *Progress
	r    *Report
}

func (s strategyRun) Canary() error { return runCanary(s.ctx, s.c, s.o, s.p, s.prog, s.r) }
func (s strategyRun) Shadow() error { return runShadow(s.ctx, s.c, s.o, s.p, s.prog, s.r) }

func waitDetail(w WaitResult) string {
	if !w.OK {
		return w.LastProblem
	}
	return fmt.Sprintf("answered after %s (%s; first answer took %s)",
		w.Ready.Round(time.Millisecond), plural(w.Attempts, "attempt"), w.FirstAnswer.Round(time.Millisecond))
}

// plural is "1 attempt", "2 attempts".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// runID tags this run's request ids, so its records are told apart from
// anyone else's in the debug rings.
func runID() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// probeOwnHosts sends each version's planned requests to its own host and
// checks that only that version answers there, with its target. The
// answers go into own for the versions' error budgets.
func probeOwnHosts(ctx context.Context, c *measure.Client, o *stacks.Outputs, pl Plan, p Params, prog *Progress, r *Report) *measure.Tally {
	own := measure.NewTally()
	type job struct{ version, host string }
	var jobs []job
	for _, name := range sortedVersions(o) {
		v := o.Versions[name]
		if v.Host == "" {
			r.check("own host of "+name, true, "no own host in the outputs (untagged version): skipped")
			continue
		}
		own.Version(name)
		for range pl.OwnRequests[name] {
			jobs = append(jobs, job{name, v.Host})
		}
	}
	wrongBody := map[string]int{}
	firstBody := map[string]string{}
	r.OwnSent = c.Send(ctx, measure.Batch{
		N: len(jobs), Concurrency: p.Concurrency, Progress: prog, Label: "own hosts",
		Request: func(i int) measure.Request { return measure.Get(jobs[i].host, o.Versions[jobs[i].version].ProbePath()) },
	}, func(i int, a measure.Answer) bool {
		name := jobs[i].version
		own.AddOwn(name, a)
		if a.OK() && (a.Version == name || a.Version == "") && o.Versions[name].AnswersTarget() && string(a.Body) != o.Versions[name].Target {
			wrongBody[name]++
			if firstBody[name] == "" {
				firstBody[name] = string(a.Body)
			}
		}
		return true
	})
	for _, name := range own.Versions() {
		v, vt := o.Versions[name], own.Version(name)
		label := "own host of " + name
		switch {
		case vt.Misrouted > 0:
			r.check(label, false, fmt.Sprintf("%s: %d of %d answers came from version %q, want only %q",
				v.Host, vt.Misrouted, vt.Misrouted+vt.Requests, vt.FirstMisroute, name))
		case wrongBody[name] > 0:
			r.check(label, false, fmt.Sprintf("%s: %d answers were %q, want target %q",
				v.Host, wrongBody[name], measure.Truncate(firstBody[name], 80), v.Target))
		case vt.OK == 0:
			r.check(label, false, fmt.Sprintf("%s: none of %d requests answered 200; first: %s", v.Host, vt.Requests, vt.FirstProblem))
		default:
			detail := fmt.Sprintf("%s answers %q as %s (%d of %d answers 200)", v.Host, measure.Truncate(v.Target, 60), name, vt.OK, vt.Requests)
			if vt.Unnamed > 0 {
				detail += fmt.Sprintf("; %d answers did not name their version (no %s header), so the version is not confirmed", vt.Unnamed, "X-Model-Version")
			}
			r.check(label, true, detail)
		}
	}
	return own
}

// judgeBudgets applies each version's error budget to its own answers
// (see Plan.OwnRequests), and the ingress's budget to the user answers no
// version claimed; each row says the power its requests reached.
func judgeBudgets(user, own *measure.Tally, names []string, userTotal int, pl Plan, p Params, r *Report) {
	for _, name := range names {
		// Only what is the version's own counts: its own host's answers,
		// failed or not; without a host of its own, the user answers
		// naming it (a failure the ingress answers names no version, so
		// these can only undercount its failures: the row says so).
		counted, of := own.Version(name), "own host"
		if _, hasOwn := pl.OwnRequests[name]; !hasOwn {
			counted, of = user.Version(name), "user answers naming it (ingress failures name no version)"
		}
		b := measure.JudgeBudget(counted, p.MaxErrorShare, pl.TestAlpha, p.Power)
		r.Budgets = append(r.Budgets, BudgetRow{Version: name, UserAnswers: user.Version(name).Requests, OwnAnswers: own.Version(name).Requests,
			Counted: of, Budget: b, Power: measure.ErrorPower(b.Requests, p.MaxErrorShare, p.DetectErrorShare, pl.TestAlpha),
			FirstProblem: counted.FirstProblem})
	}
	// Failures no version claimed (no answer, or the ingress answered):
	// judged over every user request, which any of them could hit.
	u := user.Unattributed
	b := measure.JudgeBudget(&measure.VersionTally{Requests: userTotal, Failures: u.Failures}, p.MaxErrorShare, pl.TestAlpha, p.Power)
	r.Budgets = append(r.Budgets, BudgetRow{Version: "(no version)", UserAnswers: userTotal, Counted: "every user request",
		Budget: b, Power: measure.ErrorPower(b.Requests, p.MaxErrorShare, p.DetectErrorShare, pl.TestAlpha), FirstProblem: u.FirstProblem})
}
