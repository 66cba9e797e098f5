package labtest

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
	"github.com/modelrollouts/modelrollouts/model-echo/server"
	"github.com/modelrollouts/modelrollouts/stacks"
)

// Version is one model version of the lab, served by Replicas model-echo
// servers (pods).
type Version struct {
	Name      string
	Target    string
	Bias      float64
	Latency   time.Duration
	ErrorRate float64
	Replicas  int // default 1
}

// Proxy routes by Host: the user host to a weighted pick (canary) or to
// the primary with a mirrored copy (shadow), each version's host to that
// version. Fields may be changed between requests through the setters.
type Proxy struct {
	UserHost string

	mu       sync.Mutex
	rng      *rand.Rand
	backends map[string][]string // version → base URL of each pod
	hosts    map[string]string   // version host → version
	order    []string            // versions in a fixed order, for weighted picks
	weights  map[string]float64
	primary  string
	shadow   string
	mirror   float64 // share of user requests copied to the shadow
	leak     float64 // share of user requests answered by the shadow
	coldTill time.Time
	coldHits int
	coldHit  time.Time // when the first request was turned away cold
	// podRng picks a pod of the chosen version, apart from rng so that
	// the split a seed gives does not depend on how requests interleave.
	podRng *rand.Rand
	// seen counts requests per host; disrupted says which of them (by
	// number, from 1) the proxy breaks, and how.
	seen      map[string]int
	disrupted map[string]map[int]Disruption
	// header routing: a user-host request whose header names a version
	// goes there, unmirrored unless headerMirror (a broken route order).
	header       string
	headerRoutes map[string]string // header value → version
	headerMirror bool
	// ingressFailures makes a version's 5xx on the user host the
	// ingress's own 503, which names no version.
	ingressFailures bool

	client *http.Client
	copies sync.WaitGroup
}

// SetWeights sets the canary split the proxy really applies (any scale).
func (p *Proxy) SetWeights(w map[string]float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.weights = w
}

// SetMirror sets the share of user requests really mirrored to the shadow.
func (p *Proxy) SetMirror(share float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mirror = share
}

// SetLeak makes the shadow answer this share of user requests (a broken
// mirror configuration that users would see).
func (p *Proxy) SetLeak(share float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.leak = share
}

// ColdFor answers 503 (as an ingress with no ready upstream does) for d.
func (p *Proxy) ColdFor(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.coldTill = time.Now().Add(d)
}

// ColdHits is how many requests were turned away cold.
func (p *Proxy) ColdHits() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.coldHits
}

// ColdWindow is when the first request was turned away cold and when the
// cold period ended: a client that started waiting with that request saw
// at least till-first of cold start, however late it started.
func (p *Proxy) ColdWindow() (first, till time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.coldHit, p.coldTill
}

// Disruption is how the proxy breaks one request.
type Disruption int

const (
	// Reset closes the connection before any answer (a pod dying, an
	// ingress restarting).
	Reset Disruption = iota + 1
	// Unavailable answers the ingress's own 503, without X-Model-Version
	// (no model answered).
	Unavailable
)

// Disrupt breaks the nth requests (counting from 1) the proxy gets for
// host from now on.
func (p *Proxy) Disrupt(host string, how Disruption, nth ...int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen[host] = 0
	p.disrupted[host] = map[int]Disruption{}
	for _, n := range nth {
		p.disrupted[host][n] = how
	}
}

// RouteByHeader sends a user-host request carrying name: value to version
// values[value], unmirrored, as the lab's header routing does; any other
// value gets the users' route.
func (p *Proxy) RouteByHeader(name string, values map[string]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.header, p.headerRoutes = name, values
}

// MirrorHeaderRoutes makes header-routed requests mirrored as well (the
// users' route placed before the header routes, say).
func (p *Proxy) MirrorHeaderRoutes(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.headerMirror = on
}

// AnswerFailuresAtTheIngress makes a version's failures on the user host
// come back as the ingress's own 503 without X-Model-Version, as a live
// ingress (Envoy, Knative's activator) answers for a failing pod; on a
// version's own host its answers pass through.
func (p *Proxy) AnswerFailuresAtTheIngress(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ingressFailures = on
}

// Wait blocks until every mirrored copy in flight is delivered.
func (p *Proxy) Wait() { p.copies.Wait() }

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	if now := time.Now(); now.Before(p.coldTill) {
		if p.coldHits == 0 {
			p.coldHit = now
		}
		p.coldHits++
		p.mu.Unlock()
		http.Error(w, "no healthy upstream", http.StatusServiceUnavailable)
		return
	}
	p.seen[r.Host]++
	switch p.disrupted[r.Host][p.seen[r.Host]] {
	case Reset:
		p.mu.Unlock()
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
		return
	case Unavailable:
		p.mu.Unlock()
		http.Error(w, "no healthy upstream", http.StatusServiceUnavailable)
		return
	}
	target, mirror := "", false
	ingressFailures := p.ingressFailures && r.Host == p.UserHost
	byHeader := ""
	if p.header != "" {
		byHeader = p.headerRoutes[r.Header.Get(p.header)]
	}
	switch {
	case r.Host == p.UserHost && byHeader != "":
		target = byHeader
		mirror = p.headerMirror && p.primary != "" && p.rng.Float64() < p.mirror
	case r.Host == p.UserHost && p.primary != "":
		target = p.primary
		if p.rng.Float64() < p.leak {
			target = p.shadow
		}
		mirror = p.rng.Float64() < p.mirror
	case r.Host == p.UserHost:
		target = weightedPick(p.rng, p.order, p.weights)
	default:
		target = p.hosts[r.Host]
	}
	p.mu.Unlock()
	if target == "" {
		http.Error(w, "no route for host "+r.Host, http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if mirror {
		// Envoy gives user requests an id before routing; the copy keeps it.
		if r.Header.Get(modelapi.HeaderRequestID) == "" {
			r.Header.Set(modelapi.HeaderRequestID, fmt.Sprintf("proxy-%d", rand.Uint64()))
		}
		hdr := r.Header.Clone()
		p.copies.Add(1)
		go func() {
			defer p.copies.Done()
			resp, err := p.forward(p.shadow, r.Method, r.Host+modelapi.MirroredHostSuffix, r.URL.RequestURI(), hdr, body)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	resp, err := p.forward(target, r.Method, r.Host, r.URL.RequestURI(), r.Header, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	if ingressFailures && resp.StatusCode >= 500 {
		io.Copy(io.Discard, resp.Body)
		http.Error(w, "no healthy upstream", http.StatusServiceUnavailable)
		return
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// pick draws a version by weight; p.mu is held.
func (p *Proxy) forward(version, method, host, uri string, hdr http.Header, body []byte) (*http.Response, error) {
	p.mu.Lock()
	pods := p.backends[version]
	pod := pods[p.podRng.IntN(len(pods))]
	p.mu.Unlock()
	req, err := http.NewRequest(method, pod+uri, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = hdr.Clone()
	req.Host = host
	return p.client.Do(req)
}

// Lab is a running set of versions and the proxy in front of them.
type Lab struct {
	Proxy *Proxy
	// Pods are each version's servers, in pod order.
	Pods    map[string][]*Pod
	Outputs *stacks.Outputs
}

// Pod is one model-echo server of a version.
type Pod struct {
	Name   string // also its hostname in model-echo's info metric
	URL    string
	Server *server.Server
}

func start(t testing.TB, versions []Version, seed uint64) *Lab {
	t.Helper()
	backends := make([]Backend, len(versions))
	pods := map[string][]*Pod{}
	for i, v := range versions {
		backends[i] = Backend{Name: v.Name, Target: v.Target}
		for j := range max(v.Replicas, 1) {
			name := fmt.Sprintf("model-%s-%d", v.Name, j)
			// Request ids seeded by the lab's seed, version and pod, so
			// the requests ERROR_RATE fails are the same on every run.
			srv := server.New(server.Config{Target: v.Target, ModelName: "echo", Version: v.Name, Bias: v.Bias,
				Latency: v.Latency, ErrorRate: v.ErrorRate, Hostname: name,
				RequestIDSeed: (seed*0x9e3779b97f4a7c15 + uint64(i)<<32 + uint64(j)) | 1}, slog.New(slog.DiscardHandler))
			ts := httptest.NewServer(srv) // listens on 127.0.0.1
			t.Cleanup(ts.Close)
			pods[v.Name] = append(pods[v.Name], &Pod{Name: name, URL: ts.URL, Server: srv})
			if j == 0 {
				backends[i].URL = ts.URL
			} else {
				backends[i].MorePods = append(backends[i].MorePods, ts.URL)
			}
		}
	}
	lab := startProxy(t, backends, seed)
	lab.Pods = pods
	return lab
}

// Backend is a version already serving at URL: a model-echo process, say.
// MorePods are the URLs of its further pods; the proxy picks one at
// random per request.
type Backend struct {
	Name, Target, URL string
	MorePods          []string
	// ReadinessPath, when set, says the backend is a model behind
	// model-agent answering only there (stack output agent/readinessPath).
	ReadinessPath string
}

// startProxy starts the proxy in front of running versions.
func startProxy(t testing.TB, backends []Backend, seed uint64) *Lab {
	t.Helper()
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64}
	p := &Proxy{
		UserHost:  "model.lab.test",
		rng:       rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		podRng:    rand.New(rand.NewPCG(seed+1, seed)),
		seen:      map[string]int{},
		disrupted: map[string]map[int]Disruption{},
		backends:  map[string][]string{},
		hosts:     map[string]string{},
		client:    &http.Client{Transport: tr, Timeout: 10 * time.Second},
	}
	lab := &Lab{Proxy: p}
	o := &stacks.Outputs{Namespace: "smoke", Host: p.UserHost, Versions: map[string]stacks.VersionOutput{}}
	for _, b := range backends {
		host := b.Name + "-" + p.UserHost
		p.backends[b.Name] = append([]string{b.URL}, b.MorePods...)
		p.hosts[host] = b.Name
		p.order = append(p.order, b.Name)
		replicas := len(p.backends[b.Name])
		o.Versions[b.Name] = stacks.VersionOutput{Target: b.Target, Host: host, URL: "http://" + host,
			Replicas: &replicas, PodSelector: "app=model,version=" + b.Name,
			Agent: b.ReadinessPath != "", ReadinessPath: b.ReadinessPath}
	}
	slices.Sort(p.order)
	ps := httptest.NewServer(p)
	t.Cleanup(func() {
		p.Wait()
		ps.Close()
		tr.CloseIdleConnections()
	})
	o.IngressURL = ps.URL
	lab.Outputs = o
	return lab
}

// NewCanary starts versions split by percent; the proxy applies exactly
// that split until SetWeights changes it.
func NewCanary(t testing.TB, versions []Version, percent map[string]int, seed uint64) *Lab {
	return canaryLab(start(t, versions, seed), percent)
}

// NewCanaryProxy puts the canary proxy in front of versions already
// running (real model servers behind model-agent, say), split by percent.
func NewCanaryProxy(t testing.TB, backends []Backend, percent map[string]int, seed uint64) *Lab {
	return canaryLab(startProxy(t, backends, seed), percent)
}

func canaryLab(lab *Lab, percent map[string]int) *Lab {
	o := lab.Outputs
	o.Strategy = stacks.StrategyCanary
	o.Split = map[string]int{}
	w := map[string]float64{}
	for name, vo := range o.Versions {
		pc := percent[name]
		vo.Tag, vo.Percent = name, &pc
		o.Versions[name] = vo
		o.Split[name] = pc
		w[name] = float64(pc)
	}
	lab.Proxy.SetWeights(w)
	return lab
}

// NewShadow starts a primary and a shadow mirrored at mirrorPercent.
func NewShadow(t testing.TB, primary, shadow Version, mirrorPercent float64, seed uint64) *Lab {
	return shadowLab(start(t, []Version{primary, shadow}, seed), primary.Name, shadow.Name, mirrorPercent)
}

// NewShadowProxy puts the shadow proxy in front of versions already
// running (model-echo processes), mirroring mirrorPercent to the shadow.
func NewShadowProxy(t testing.TB, primary, shadow Backend, mirrorPercent float64, seed uint64) *Lab {
	return shadowLab(startProxy(t, []Backend{primary, shadow}, seed), primary.Name, shadow.Name, mirrorPercent)
}

func shadowLab(lab *Lab, primary, shadow string, mirrorPercent float64) *Lab {
	o := lab.Outputs
	o.Strategy = stacks.StrategyShadow
	o.Primary, o.Shadow, o.MirrorPercent = primary, shadow, &mirrorPercent
	for name, role := range map[string]string{primary: "primary", shadow: "shadow"} {
		vo := o.Versions[name]
		vo.Role = role
		o.Versions[name] = vo
	}
	lab.Proxy.primary, lab.Proxy.shadow = primary, shadow
	lab.Proxy.SetMirror(mirrorPercent / 100)
	return lab
}

// EnableHeaderRouting publishes a routing header for every version (its
// name as the value, which is also its tag here) and makes the proxy route
// by it.
func (lab *Lab) EnableHeaderRouting(name string) {
	values := map[string]string{}
	for v, vo := range lab.Outputs.Versions {
		vo.RouteHeader = &stacks.HeaderMatch{Name: name, Value: v}
		lab.Outputs.Versions[v] = vo
		values[v] = v
	}
	lab.Proxy.RouteByHeader(name, values)
}
