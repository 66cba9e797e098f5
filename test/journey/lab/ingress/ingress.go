package ingress

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// Activator is the knative stand-in's autoscaler: Served records a request
// a revision served (what the autoscaler's metrics would show), Activate
// scales a revision up from zero.
type Activator interface {
	Served(namespace, revision string)
	Activate(namespace, revision string)
}

// Options configures a Gateway.
type Options struct {
	Client    kubernetes.Interface
	Dynamic   dynamic.Interface
	Activator Activator
	// Seed seeds the traffic split, the mirror draws and request ids.
	Seed uint64
	// ColdStart bounds how long a request waits for a revision scaled to
	// zero (Knative's activator: its request timeout).
	ColdStart time.Duration
	Log       io.Writer
}

// Gateway routes HTTP requests by the API server's objects.
type Gateway struct {
	opts Options
	mu   sync.Mutex
	// routing draws the splits and the mirror decisions; other draws the
	// request ids and the pods. Apart, a given seed routes the k-th
	// request the same way however concurrent requests interleave.
	routing   *rand.Rand
	other     *rand.Rand
	exchanges map[string]*Exchange
	table     *table
	counts    Counts
	copies    sync.WaitGroup
	client    *http.Client
	stop      context.CancelFunc
	done      chan struct{}
}

// Counts is what the gateway saw: requests per Host as sent (port and
// all), answers per version (X-Model-Version) and mirrored copies.
type Counts struct {
	Requests map[string]int
	Answered map[string]int
	// Mirrored counts copies sent, per destination version label of the
	// mirror's pods; MirrorAnswered the copies a pod answered (any status).
	Mirrored       map[string]int
	MirrorAnswered map[string]int
	NoRoute        int
	ColdStarts     int
}

// Start reads the API server's routing objects now and every 250 ms.
func Start(ctx context.Context, opts Options) (*Gateway, error) {
	if opts.ColdStart <= 0 {
		opts.ColdStart = 60 * time.Second
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	g := &Gateway{
		opts: opts, routing: rand.New(rand.NewPCG(opts.Seed, 1)), other: rand.New(rand.NewPCG(opts.Seed, 2)),
		exchanges: map[string]*Exchange{},
		counts:    Counts{Requests: map[string]int{}, Answered: map[string]int{}, Mirrored: map[string]int{}, MirrorAnswered: map[string]int{}},
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		done: make(chan struct{}),
	}
	t, err := load(ctx, opts.Client, opts.Dynamic)
	if err != nil {
		return nil, err
	}
	g.table = t
	ctx, g.stop = context.WithCancel(ctx)
	go g.refresh(ctx)
	return g, nil
}

// Stop ends the refreshing and waits for mirrored copies in flight.
func (g *Gateway) Stop() {
	g.stop()
	<-g.done
	g.copies.Wait()
}

// Counts returns a copy of what the gateway has seen so far, after every
// mirrored copy in flight has been answered.
func (g *Gateway) Counts() Counts {
	g.copies.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	c := Counts{NoRoute: g.counts.NoRoute, ColdStarts: g.counts.ColdStarts,
		Requests: map[string]int{}, Answered: map[string]int{}, Mirrored: map[string]int{}, MirrorAnswered: map[string]int{}}
	for dst, src := range map[*map[string]int]map[string]int{&c.Requests: g.counts.Requests, &c.Answered: g.counts.Answered,
		&c.Mirrored: g.counts.Mirrored, &c.MirrorAnswered: g.counts.MirrorAnswered} {
		for k, v := range src {
			(*dst)[k] = v
		}
	}
	return c
}

func (g *Gateway) refresh(ctx context.Context) {
	defer close(g.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(250 * time.Millisecond):
		}
		t, err := load(ctx, g.opts.Client, g.opts.Dynamic)
		if err != nil {
			if ctx.Err() == nil {
				fmt.Fprintf(g.opts.Log, "[ingress] reading routes: %v\n", err)
			}
			continue
		}
		g.mu.Lock()
		g.table = t
		g.mu.Unlock()
	}
}

func (g *Gateway) snapshot() *table {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.table
}

// ServeHTTP routes one request.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Request-Id") == "" {
		g.mu.Lock()
		id := fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", g.other.Uint32(), g.other.Uint32()&0xffff, g.other.Uint32()&0xfff, g.other.Uint32()&0xfff, g.other.Uint64()&0xffffffffffff)
		g.mu.Unlock()
		r.Header.Set("X-Request-Id", id)
	}
	g.mu.Lock()
	g.counts.Requests[r.Host]++
	g.mu.Unlock()
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	t := g.snapshot()
	d, ok := t.decide(r, g.draw)
	if !ok {
		g.mu.Lock()
		g.counts.NoRoute++
		g.mu.Unlock()
		w.WriteHeader(http.StatusNotFound) // Envoy: no virtual host or route
		return
	}
	if d.mirror != nil {
		g.sendCopy(r, body, *d.mirror)
	}
	endpoints := d.target.endpoints(t)
	if d.target.revision != "" && g.opts.Activator != nil {
		g.opts.Activator.Served(d.target.namespace, d.target.revision)
		if len(endpoints) == 0 {
			endpoints = g.activate(r.Context(), d.target)
		}
	}
	if len(endpoints) == 0 {
		http.Error(w, "no healthy upstream", http.StatusServiceUnavailable)
		return
	}
	tried := []string{g.pick(endpoints)}
	resp, err := g.forward(r, body, r.Host, tried[0])
	for retry := 0; retry < connectRetries && connectFailure(err); retry++ {
		tried = append(tried, g.pick(untried(endpoints, tried)))
		resp, err = g.forward(r, body, r.Host, tried[len(tried)-1])
	}
	if err != nil {
		http.Error(w, "upstream connect error or disconnect/reset before headers: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	g.mu.Lock()
	g.counts.Answered[resp.Header.Get("X-Model-Version")]++
	if isInfer(r.URL.Path) {
		g.exchange(r.Header.Get("X-Request-Id"), r.Host).Primary = &Answer{Version: resp.Header.Get("X-Model-Version"), Status: resp.StatusCode, Body: answer}
	}
	g.mu.Unlock()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(answer)
}

// An Exchange is one inference request the gateway routed: what the user
// got and, when it was mirrored, what the copy got (nobody sees it).
type Exchange struct {
	Host            string
	Primary, Mirror *Answer
	Mirrored        bool // a copy was sent
}

// An Answer is an upstream's reply.
type Answer struct {
	Version string
	Status  int
	Body    []byte
}

// Exchanges returns the inference requests by request id, once every
// mirrored copy in flight has been answered.
func (g *Gateway) Exchanges() map[string]Exchange {
	g.copies.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]Exchange{}
	for id, e := range g.exchanges {
		out[id] = *e
	}
	return out
}

// exchange is the record of request id; g.mu is held.
func (g *Gateway) exchange(id, host string) *Exchange {
	e := g.exchanges[id]
	if e == nil {
		e = &Exchange{Host: host}
		g.exchanges[id] = e
	}
	return e
}

// isInfer is the Open Inference Protocol's infer path, /v2/models/NAME/infer.
func isInfer(path string) bool {
	return strings.HasPrefix(path, "/v2/models/") && strings.HasSuffix(path, "/infer")
}

// activate holds the request while the revision scales from zero.
func (g *Gateway) activate(ctx context.Context, dst destination) []string {
	g.mu.Lock()
	g.counts.ColdStarts++
	g.mu.Unlock()
	deadline := time.Now().Add(g.opts.ColdStart)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		g.opts.Activator.Activate(dst.namespace, dst.revision)
		t, err := load(ctx, g.opts.Client, g.opts.Dynamic)
		if err == nil {
			if eps := dst.endpoints(t); len(eps) > 0 {
				return eps
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

func (g *Gateway) sendCopy(r *http.Request, body []byte, dst destination) {
	eps := dst.endpoints(g.snapshot())
	g.mu.Lock()
	g.counts.Mirrored[dst.version]++
	pick := ""
	if len(eps) > 0 {
		pick = eps[g.other.IntN(len(eps))]
	}
	g.mu.Unlock()
	if pick == "" {
		return
	}
	copyReq := r.Clone(context.WithoutCancel(r.Context()))
	id, infer := r.Header.Get("X-Request-Id"), isInfer(r.URL.Path)
	if infer {
		g.mu.Lock()
		g.exchange(id, r.Host).Mirrored = true
		g.mu.Unlock()
	}
	g.copies.Add(1)
	go func() {
		defer g.copies.Done()
		resp, err := g.forward(copyReq, body, shadowHost(r.Host), pick)
		if err != nil {
			return
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		g.mu.Lock()
		g.counts.MirrorAnswered[dst.version]++
		if infer {
			g.exchange(id, r.Host).Mirror = &Answer{Version: resp.Header.Get("X-Model-Version"), Status: resp.StatusCode, Body: answer}
		}
		g.mu.Unlock()
	}()
}

// shadowHost is Envoy's mirror Host: "-shadow" after the host, before a port.
func shadowHost(host string) string {
	if h, port, err := net.SplitHostPort(host); err == nil {
		return net.JoinHostPort(h+"-shadow", port)
	}
	return host + "-shadow"
}

func (g *Gateway) draw() float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.routing.Float64()
}

// connectRetries is Istio's default retry policy for every HTTP route
// (attempts: 2, retryOn: connect-failure,refused-stream,..., and the
// previous_hosts predicate): Envoy sends a request again, to another host,
// when it could not connect, as to a pod that is shutting down but still
// listed. The stand-in does the same for a refused or failed dial; nothing
// was sent, so it is safe for any method.
const connectRetries = 2

// untried is endpoints without those tried (all of them if none is left).
func untried(endpoints, tried []string) []string {
	var left []string
	for _, e := range endpoints {
		if !slices.Contains(tried, e) {
			left = append(left, e)
		}
	}
	if len(left) == 0 {
		return endpoints
	}
	return left
}

// connectFailure is a dial that failed: the request never left.
func connectFailure(err error) bool {
	var op *net.OpError
	return err != nil && errors.As(err, &op) && op.Op == "dial"
}

func (g *Gateway) pick(endpoints []string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return endpoints[g.other.IntN(len(endpoints))]
}

var hopByHop = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "Te", "Trailer"}

func (g *Gateway) forward(r *http.Request, body []byte, host, endpoint string) (*http.Response, error) {
	out, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+endpoint+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	out.Header = r.Header.Clone()
	for _, h := range hopByHop {
		out.Header.Del(h)
	}
	out.Header.Set("X-Forwarded-Proto", "http")
	out.Host = host
	out.ContentLength = int64(len(body))
	return g.client.Do(out)
}

// stripPort is the host a virtual host matches: the gateway's virtual
// hosts list every domain with and without ":*".
func stripPort(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return host
}
