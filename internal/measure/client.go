package measure

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// maxBody bounds what is read of any answer: model answers are small, and
// a misrouted request must not make the client read forever.
const maxBody = 1 << 20

// Client sends requests to the ingress, choosing the route by Host header
// exactly as users and the mesh do.
type Client struct {
	http    *http.Client
	ingress *url.URL
	opts    ClientOptions
}

// ClientOptions tune a Client. The zero value of a field takes its default.
type ClientOptions struct {
	// Timeout bounds each attempt, including a cold start held by the
	// Knative activator. Default 30 s.
	Timeout time.Duration
	// Retries is how many more attempts a request gets after one that
	// got no HTTP answer at all (connection refused or reset, timeout).
	// An HTTP answer, 5xx included, is evidence and never retried.
	Retries int
	// RetryBackoff spaces the retries; default DefaultBackoff.
	RetryBackoff Backoff
	// MaxConns is the idle connections kept to the ingress (set it to the
	// concurrency); default 8.
	MaxConns int
	// Transport, when set, carries the requests instead of a direct
	// connection to the ingress (e.g. a tunnel into the cluster); it gets
	// requests for the ingress URL with Host set to the route's host.
	Transport http.RoundTripper
}

// NewClient builds a client for the ingress at rawURL.
func NewClient(rawURL string, opts ClientOptions) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("ingress URL %q is not an http(s) URL", rawURL)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.RetryBackoff == (Backoff{}) {
		opts.RetryBackoff = DefaultBackoff
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 8
	}
	rt := opts.Transport
	if rt == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = nil // the ingress is the lab's own; an HTTP_PROXY must not reroute it
		tr.MaxIdleConnsPerHost = max(opts.MaxConns, 2)
		rt = tr
	}
	return &Client{http: &http.Client{Transport: rt}, ingress: u, opts: opts}, nil
}

// Ingress is the ingress URL requests go to.
func (c *Client) Ingress() string { return c.ingress.String() }

// Request is one request to send: Host picks the route, Path may carry a
// query. RequestID, when set, is sent as X-Request-Id.
type Request struct {
	Method    string
	Host      string
	Path      string
	Body      []byte
	RequestID string
	Header    http.Header
}

// Get is a GET of path on host.
func Get(host, path string) Request { return Request{Method: http.MethodGet, Host: host, Path: path} }

// Answer is what one request got back.
type Answer struct {
	// Status is the HTTP status; 0 when no HTTP answer came (Err says why).
	Status int
	// Version is the answering version from X-Model-Version ("" when the
	// server does not name itself, or no model answered).
	Version   string
	RequestID string
	Body      []byte
	// Latency is the last attempt's, from sending to the whole body read.
	Latency time.Duration
	// Attempts is 1 plus the retries it took.
	Attempts int
	Err      error
}

// OK reports a 200 answer.
func (a Answer) OK() bool { return a.Err == nil && a.Status == http.StatusOK }

// Failed reports a failure as error budgets count it: no HTTP answer, or
// a 5xx. A 4xx is the caller's mistake (or a wrong route), not a failure
// of the version; checks that need exactly 200 use OK.
func (a Answer) Failed() bool { return a.Status == 0 || a.Status >= 500 }

// Problem describes a non-200 answer in a few words.
func (a Answer) Problem() string {
	if a.Err != nil {
		return a.Err.Error()
	}
	if a.Status != http.StatusOK {
		return fmt.Sprintf("HTTP %d: %s", a.Status, Truncate(strings.TrimSpace(string(a.Body)), 120))
	}
	return ""
}

// Do sends one request, retrying attempts that got no HTTP answer up to
// the client's Retries.
func (c *Client) Do(ctx context.Context, r Request) Answer {
	var a Answer
	for i := 0; ; i++ {
		a = c.once(ctx, r)
		a.Attempts = i + 1
		if a.Status != 0 || i >= c.opts.Retries || ctx.Err() != nil {
			return a
		}
		t := time.NewTimer(c.opts.RetryBackoff.Delay(i))
		select {
		case <-ctx.Done():
			t.Stop()
			return a
		case <-t.C:
		}
	}
}

func (c *Client) once(ctx context.Context, r Request) Answer {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	u := *c.ingress
	path, query, _ := strings.Cut(r.Path, "?")
	u.Path = strings.TrimSuffix(c.ingress.Path, "/") + path
	u.RawQuery = query
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return Answer{Err: err}
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	req.Host = r.Host
	if r.Body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.RequestID != "" {
		req.Header.Set(modelapi.HeaderRequestID, r.RequestID)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return Answer{Err: err, Latency: time.Since(start)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	return Answer{
		Status:    resp.StatusCode,
		Version:   resp.Header.Get(modelapi.HeaderModelVersion),
		RequestID: resp.Header.Get(modelapi.HeaderRequestID),
		Body:      b,
		Latency:   time.Since(start),
		Err:       err,
	}
}

// Truncate shortens s to n bytes for messages.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
