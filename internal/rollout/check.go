package rollout

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/gate"
	"github.com/modelrollouts/modelrollouts/internal/measure"
	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
	"github.com/modelrollouts/modelrollouts/stacks"
)

// CheckOptions say what to judge and how.
type CheckOptions struct {
	Outputs *stacks.Outputs
	// Source names where the outputs came from, Command how to run this
	// check again (both for the report).
	Source, Command string
	// Candidate and Baseline override the stack's rollout block.
	Candidate, Baseline string
	Settings            gate.Settings
	// Path is what the probes request on each hosts; Body, when set, is
	// sent with each (a POST unless Method says otherwise), for models
	// that only answer an inference request.
	Path           string
	Method         string
	Body           []byte
	Concurrency    int
	RequestTimeout time.Duration
	// WakeTimeout bounds the wait for each host's first answer (a cold
	// start); 0 means DefaultWakeTimeout.
	WakeTimeout time.Duration
	// WarmupRequests is how many uncounted requests each version gets
	// before the gate measures (nil: the stack's canary.rollout.gate
	// warmupRequests, or its default).
	WarmupRequests *int
	// SplitRequests is how many user-host requests check the split (0: a
	// power calculation; -1: skip the split check).
	SplitRequests int
	// Metrics, when set, judges from a metrics system instead of probes.
	Metrics  MetricsSource
	Progress *progress
}

// DefaultWakeTimeout is how long a host may take to answer its first
// request: several Knative cold starts, with image pulls.
const DefaultWakeTimeout = 3 * time.Minute

// MetricsSource gives each version's totals over a window of real traffic.
type MetricsSource interface {
	Arms(ctx context.Context, candidate, baseline string, s gate.Settings) (gate.Arm, gate.Arm, error)
	String() string
}

// SettingsFromOutputs are the gate settings a stack exports, over the
// defaults.
func SettingsFromOutputs(o *stacks.Outputs) gate.Settings {
	s := gate.DefaultSettings
	if o.Rollout == nil {
		return s
	}
	g := o.Rollout.Gate
	if g.MinSuccessRate != nil {
		s.MinSuccessRate = *g.MinSuccessRate
	}
	if g.MaxP99Ms != nil {
		s.MaxP99 = time.Duration(*g.MaxP99Ms * float64(time.Millisecond))
	}
	if g.MaxLatencyIncrease != nil {
		s.MaxLatencyIncrease = *g.MaxLatencyIncrease
	}
	if g.MaxErrorIncrease != nil {
		s.MaxErrorIncrease = *g.MaxErrorIncrease / 100 // points to a rate
	}
	if g.MinRequests != nil {
		s.MinRequests = *g.MinRequests
	}
	if g.Alpha != nil {
		s.Alpha = *g.Alpha
	}
	if g.Power != nil {
		s.Power = *g.Power
	}
	return s
}

// Check judges the candidate against the baseline and returns the report.
// An error means no judgement could be made (bad input, a version that
// cannot be measured, a split that is not the configured one).
func Check(ctx context.Context, opts CheckOptions) (*Report, error) {
	start := time.Now()
	o := opts.Outputs
	if o.Strategy != stacks.StrategyCanary {
		return nil, fmt.Errorf("the stack's strategy is %s: the rollout gate judges canary versions", o.Strategy)
	}
	cand, base := opts.Candidate, opts.Baseline
	if o.Rollout != nil {
		cand = cmp(cand, o.Rollout.Candidate)
		base = cmp(base, o.Rollout.Baseline)
	}
	if cand == "" || base == "" {
		return nil, fmt.Errorf("the stack exports no rollout block (%s:canary.rollout): name the versions with --candidate and --baseline", stacks.Namespace)
	}
	for _, name := range []string{cand, base} {
		if _, ok := o.Versions[name]; !ok {
			return nil, fmt.Errorf("version %q is not in the stack's outputs (versions: %s)", name, strings.Join(sortedKeys(o.Versions), ", "))
		}
	}
	if cand == base {
		return nil, fmt.Errorf("candidate and baseline are both %q", cand)
	}
	if err := opts.Settings.Check(); err != nil {
		return nil, err
	}
	rep := &Report{
		Source: opts.Source, Command: opts.Command, Candidate: cand, Baseline: base,
		CandidatePercent: o.Split[cand], Settings: opts.Settings,
	}
	if o.Rollout != nil {
		rep.Steps = o.Rollout.Steps
	}
	var err error
	if opts.Metrics != nil {
		rep.Data = "metrics: " + opts.Metrics.String()
		err = checkFromMetrics(ctx, opts, rep)
	} else {
		rep.Data = "probes of each version's own host"
		err = checkByProbes(ctx, opts, rep)
	}
	if err != nil {
		return nil, err
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

func checkFromMetrics(ctx context.Context, opts CheckOptions, rep *Report) error {
	c, b, err := opts.Metrics.Arms(ctx, rep.Candidate, rep.Baseline, opts.Settings)
	if err != nil {
		return err
	}
	j := gate.NewJudge(opts.Settings, rep.Candidate, rep.Baseline)
	j.SetArms(c, b)
	// Real traffic is what it is: one look at the window, nothing more to
	// send, so an undecided look is inconclusive.
	rep.Result = j.Judge(true)
	rep.Notes = append(rep.Notes, "judged from the metrics of real traffic over the window: more traffic, not more probes, would decide an inconclusive check")
	return nil
}

func checkByProbes(ctx context.Context, opts CheckOptions, rep *Report) error {
	o := opts.Outputs
	c, err := newClient(o.IngressURL, opts.RequestTimeout, opts.Concurrency)
	if err != nil {
		return err
	}
	targets := [2]target{{rep.Candidate, o.Versions[rep.Candidate].Host}, {rep.Baseline, o.Versions[rep.Baseline].Host}}
	for _, t := range targets {
		if t.host == "" {
			return fmt.Errorf("version %s has no own host in the outputs (an untagged version): the gate measures each version on its own host", t.version)
		}
	}
	toWake := targets[:]
	if opts.SplitRequests >= 0 {
		toWake = append(toWake, target{"the user host", o.Host})
	}
	woke, err := wake(ctx, c, toWake, opts.request, opts.WakeTimeout)
	if err != nil {
		return err
	}
	rep.Notes = append(rep.Notes, woke)
	rep.Notes = append(rep.Notes, warm(ctx, c, targets[:], opts.request, opts.Concurrency, warmupRequests(opts)))
	if opts.SplitRequests >= 0 {
		split, err := checkSplit(ctx, c, o, opts)
		if err != nil {
			return err
		}
		rep.Split = split
		if !split.OK {
			return fmt.Errorf("the user host's split is not the deployed one, so the stack is not at the step it says: %s", split.Detail)
		}
	}
	probe := &probe{
		client: c, request: opts.request, concurrency: opts.Concurrency, progress: opts.Progress, targets: targets,
	}
	budget := opts.Settings.MaxRequests
	if budget == 0 {
		budget = gate.NewJudge(opts.Settings, rep.Candidate, rep.Baseline).FixedN()
	}
	opts.Progress.Start(fmt.Sprintf("gate %s vs %s", rep.Candidate, rep.Baseline), 2*budget)
	res, err := gate.Run(ctx, opts.Settings, rep.Candidate, rep.Baseline, probe, nil)
	opts.Progress.Finish()
	if err != nil {
		return err
	}
	rep.Result = res
	rep.Notes = append(rep.Notes, probe.notes()...)
	return nil
}

type target struct{ version, host string }

// request is one probe of host: GET Path, or Body sent to it.
func (opts CheckOptions) request(host string) measure.Request {
	method := opts.Method
	if method == "" {
		method = http.MethodGet
		if opts.Body != nil {
			method = http.MethodPost
		}
	}
	return measure.Request{Method: method, Host: host, Path: opts.Path, Body: opts.Body}
}

// wake sends each host one request at a time until one is answered (not
// with a 5xx), before anything is measured: Knative starts a pod for a
// version scaled to zero (a candidate at 0% without min-scale) only when
// a request comes, and that cold start says nothing about the version's
// answers. The answers are not counted; the note says how long each took.
func wake(ctx context.Context, c *client, targets []target, request func(host string) measure.Request, timeout time.Duration) (string, error) {
	if timeout <= 0 {
		timeout = DefaultWakeTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	reqs := make([]measure.Request, len(targets))
	for i, t := range targets {
		reqs[i] = request(t.host)
	}
	answered := func(a answer) bool { return a.Status != 0 && !failed(a) }
	took := make([]string, len(targets))
	var errs []error
	for i, w := range measure.WaitAll(ctx, c, reqs, measure.DefaultBackoff, answered) {
		t := targets[i]
		if !w.OK {
			errs = append(errs, fmt.Errorf("%s (%s) gave no answer within %s (last: %s): the gate judges only what answers; raise --wake-timeout for a slow cold start", t.version, t.host, timeout, w.Last.Problem()))
			continue
		}
		took[i] = fmt.Sprintf("%s after %s", t.version, w.Ready.Round(time.Millisecond))
		if w.Attempts > 1 {
			took[i] += fmt.Sprintf(" (%d attempts)", w.Attempts)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return "", err
	}
	return "before measuring, each host was woken by one answered request, not counted (a version scaled to zero starts a pod then): " + strings.Join(took, ", "), nil
}

// warmupRequests is the warm-up per version: the flag's, else the
// stack's, else the default.
func warmupRequests(opts CheckOptions) int {
	if opts.WarmupRequests != nil {
		return *opts.WarmupRequests
	}
	if r := opts.Outputs.Rollout; r != nil && r.Gate.WarmupRequests != nil {
		return *r.Gate.WarmupRequests
	}
	return stacks.DefaultWarmupRequests
}

// warm sends candidate and baseline the same uncounted requests, n each
// at the gate's concurrency, before anything is measured. A version just
// woken from zero is a fresh process behind fresh connections, and its
// first answers are slower for that alone: the journey tier measured a
// freshly started candidate at p50 3.3 ms against a warm baseline's
// 1.2 ms with no warm-up, and at +70% over its first 100 measured
// requests after a warm-up of 32, the same code both times; the latency
// rule rolled it back. Both versions get the warm-up, so neither is
// measured colder than the other.
func warm(ctx context.Context, c *client, targets []target, request func(host string) measure.Request, concurrency, n int) string {
	if concurrency < 1 {
		concurrency = 1
	}
	if n == 0 {
		return "no warm-up (warmupRequests 0): a version just started is measured from its first answers"
	}
	var wg sync.WaitGroup
	for _, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Send(ctx, measure.Batch{N: n, Concurrency: concurrency, Request: func(int) measure.Request { return request(t.host) }},
				func(int, measure.Answer) bool { return true })
		}()
	}
	wg.Wait()
	return fmt.Sprintf("then each version got %d uncounted requests at the gate's concurrency, so a version just started is not measured colder than the other", n)
}

// probe is the gate's Sampler: it GETs path on each version's own host,
// candidate and baseline interleaved.
type probe struct {
	client      *client
	request     func(host string) measure.Request
	concurrency int
	progress    *progress
	targets     [2]target // candidate, baseline

	mu       sync.Mutex
	sent     [2]int
	unnamed  [2]int
	client4x [2]int
	first4x  [2]string
}

// Sample sends n requests to each version. An answer from another version
// than the host's is an error: it is not evidence about either.
func (p *probe) Sample(ctx context.Context, n int) ([]gate.Outcome, []gate.Outcome, error) {
	outs := [2][]gate.Outcome{make([]gate.Outcome, 0, n), make([]gate.Outcome, 0, n)}
	var (
		mu       sync.Mutex
		misroute error
		wg       sync.WaitGroup
		next     = make(chan int)
	)
	go func() {
		defer close(next)
		for i := range 2 * n {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range max(1, min(p.concurrency, 2*n)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				k := i % 2
				t := p.targets[k]
				a := p.client.Do(ctx, p.request(t.host))
				p.progress.Add(1)
				if ctx.Err() != nil && a.Status == 0 {
					continue // cut off by the deadline: no evidence
				}
				mu.Lock()
				switch {
				case a.Version != "" && a.Version != t.version:
					if misroute == nil {
						misroute = fmt.Errorf("%s's own host %s was answered by version %q (%s): the gate only judges answers it can attribute, so fix the route before judging",
							t.version, t.host, a.Version, modelapi.HeaderModelVersion)
					}
				default:
					outs[k] = append(outs[k], gate.Outcome{OK: !failed(a), Latency: a.Latency})
					p.count(k, a)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if misroute != nil {
		return nil, nil, misroute
	}
	for k, t := range p.targets {
		if err := p.checkReached(k, t); err != nil {
			return nil, nil, err
		}
	}
	return outs[0], outs[1], nil
}

func (p *probe) count(k int, a answer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent[k]++
	if a.Status != 0 && a.Version == "" {
		p.unnamed[k]++
	}
	if a.Status >= 400 && a.Status < 500 {
		p.client4x[k]++
		if p.first4x[k] == "" {
			p.first4x[k] = a.Problem()
		}
	}
}

// checkReached refuses to judge a host that mostly answers 4xx: the probe
// is not reaching a model there (a wrong path, or no route for the host),
// and 4xx answers are not failures of the version.
func (p *probe) checkReached(k int, t target) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sent[k] >= 10 && 2*p.client4x[k] > p.sent[k] {
		return fmt.Errorf("%d of %d probes of %s (%s) answered 4xx (first: %s): the probe is not reaching the model; check --path and the route",
			p.client4x[k], p.sent[k], t.host, t.version, p.first4x[k])
	}
	return nil
}

// notes say which answers could not be attributed to their version.
func (p *probe) notes() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for k, t := range p.targets {
		if p.unnamed[k] > 0 {
			out = append(out, fmt.Sprintf("%d of %d answers from %s's host carried no %s header: the gate could not confirm they came from %s (only the route says so)",
				p.unnamed[k], p.sent[k], t.version, modelapi.HeaderModelVersion, t.version))
		}
	}
	return out
}

// checkSplit measures the user host's split against the deployed one with
// the exact binomial test, as smoke does.
func checkSplit(ctx context.Context, c *client, o *stacks.Outputs, opts CheckOptions) (*SplitCheck, error) {
	names := sortedKeys(o.Versions)
	shares := make([]float64, len(names))
	expected := map[string]int{}
	for i, name := range names {
		expected[name] = o.Split[name]
		shares[i] = float64(o.Split[name]) / 100
	}
	plan := planSplit(shares, opts.Settings.Power)
	n := opts.SplitRequests
	if n == 0 {
		n = plan.requests
	}
	observed := map[string]int{}
	var mu sync.Mutex
	unnamed, failures := 0, 0
	opts.Progress.Start("split on "+o.Host, n)
	sendN(ctx, n, opts.Concurrency, func(ctx context.Context) {
		a := c.Do(ctx, opts.request(o.Host))
		opts.Progress.Add(1)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case a.Version != "":
			// A failed answer that names its version was routed there: a
			// failing candidate must not look like a wrong split.
			observed[a.Version]++
		case failed(a) || a.Status != http.StatusOK:
			failures++
		default:
			unnamed++
		}
	})
	opts.Progress.Finish()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("split check: %w", context.Cause(ctx))
	}
	sc := &SplitCheck{Requests: n, Expected: expected, Observed: observed, Method: plan.method(n)}
	if unnamed > 0 {
		sc.Detail = fmt.Sprintf("%d of %d user-host answers named no version (%s), so the split cannot be measured; skip it with --split-requests -1", unnamed, n, modelapi.HeaderModelVersion)
		sc.OK = true
		return sc, nil
	}
	counts := make([]int, len(names))
	var parts, bad []string
	total := 0
	for i, name := range names {
		counts[i] = observed[name]
		total += counts[i]
	}
	for v := range observed {
		if !slices.Contains(names, v) {
			bad = append(bad, fmt.Sprintf("answers from %q, which is not in the stack", v))
		}
	}
	oks, ivs := testShares(counts, shares, plan.testAlpha)
	for i, name := range names {
		parts = append(parts, fmt.Sprintf("%s %d/%d (deployed %d%%, accepted %s)", name, counts[i], total, expected[name], ivs[i]))
		if !oks[i] {
			bad = append(bad, fmt.Sprintf("%s got %d of %d, outside %s", name, counts[i], total, ivs[i]))
		}
	}
	sc.OK = len(bad) == 0
	sc.Detail = strings.Join(parts, ", ")
	if failures > 0 {
		sc.Detail += fmt.Sprintf("; %d failed answers named no version and are left out", failures)
	}
	if !sc.OK && failures > 0 && splitFitsWith(counts, shares, failures, plan.testAlpha) {
		// Answers the mesh failed before any version named itself (a 503
		// of a crashing version) may be the missing ones: the split is
		// unconfirmed, not wrong, and the per-version probes judge the
		// failing version.
		sc.OK, sc.Unconfirmed = true, true
		sc.Detail += "; " + strings.Join(bad, "; ") + "; counted where they fit, those failures would make it the deployed split, so it is unconfirmed rather than wrong"
		return sc, nil
	}
	if !sc.OK {
		sc.Detail += "; " + strings.Join(bad, "; ")
	}
	return sc, nil
}

// splitFitsWith says whether some attribution of extra answers of unknown
// version makes counts pass the split test: each version short of its
// accepted interval gets what it lacks first, the rest goes where there
// is room.
func splitFitsWith(counts []int, shares []float64, extra int, alpha float64) bool {
	total := extra
	for _, c := range counts {
		total += c
	}
	ivs := make([]measure.Interval, len(shares))
	for i, p := range shares {
		ivs[i] = measure.AcceptInterval(total, p, alpha)
	}
	got := slices.Clone(counts)
	for i, iv := range ivs {
		if got[i] < iv.Lo {
			give := min(extra, iv.Lo-got[i])
			got[i] += give
			extra -= give
		}
	}
	for i, iv := range ivs {
		if give := min(extra, max(0, iv.Hi-got[i])); give > 0 {
			got[i] += give
			extra -= give
		}
	}
	if extra > 0 {
		return false
	}
	_, oks := measure.TestShares(got, shares, alpha)
	return !slices.Contains(oks, false)
}

// sendN runs do n times on at most concurrency goroutines.
func sendN(ctx context.Context, n, concurrency int, do func(context.Context)) {
	var wg sync.WaitGroup
	next := make(chan struct{})
	go func() {
		defer close(next)
		for range n {
			select {
			case next <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range max(1, min(concurrency, n)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				do(ctx)
			}
		}()
	}
	wg.Wait()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func cmp(override, fromStack string) string {
	if override != "" {
		return override
	}
	return fromStack
}
