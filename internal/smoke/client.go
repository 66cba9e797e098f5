package smoke

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

// maxBody bounds what is read of any answer: model-echo's answers are
// small, and a misrouted request must not make the client read forever.
const maxBody = 1 << 20

// Client sends requests to the ingress, choosing the route by Host header
// exactly as users and the mesh do.
type Client struct {
	HTTP    *http.Client
	Ingress *url.URL
	// Timeout bounds each request, including a cold start held by the
	// Knative activator.
	Timeout time.Duration
}

// NewClient builds a client for the ingress at rawURL.
func NewClient(rawURL string, timeout time.Duration, concurrency int) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("ingress URL %q is not an http(s) URL", rawURL)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // the ingress is local to the lab; an HTTP_PROXY must not reroute it
	tr.MaxIdleConnsPerHost = max(concurrency, 2)
	return &Client{HTTP: &http.Client{Transport: tr}, Ingress: u, Timeout: timeout}, nil
}

// Answer is what one request got back.
type Answer struct {
	Status    int // 0 when no HTTP answer came
	Version   string
	RequestID string
	Body      []byte
	Latency   time.Duration
	Err       error
}

// OK reports a 200 answer.
func (a Answer) OK() bool { return a.Err == nil && a.Status == http.StatusOK }

// Problem describes a failed answer in a few words.
func (a Answer) Problem() string {
	if a.Err != nil {
		return a.Err.Error()
	}
	if a.Status != http.StatusOK {
		return fmt.Sprintf("HTTP %d: %s", a.Status, truncate(strings.TrimSpace(string(a.Body)), 120))
	}
	return ""
}

// Do sends one request to path on the route selected by host. requestID,
// when set, is sent as X-Request-Id.
func (c *Client) Do(ctx context.Context, method, host, path string, body []byte, requestID string) Answer {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	u := *c.Ingress
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	if i := strings.IndexByte(path, '?'); i >= 0 {
		u.Path = strings.TrimSuffix(c.Ingress.Path, "/") + path[:i]
		u.RawQuery = path[i+1:]
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return Answer{Err: err}
	}
	req.Host = host
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if requestID != "" {
		req.Header.Set(modelapi.HeaderRequestID, requestID)
	}
	start := time.Now()
	resp, err := c.HTTP.Do(req)
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

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
