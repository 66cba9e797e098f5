package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// logBuffer collects the JSON log lines a server writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// lines decodes every log line; a line that is not JSON fails the test.
func (l *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(l.buf.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// requestLines are the "request" log lines.
func (l *logBuffer) requestLines(t *testing.T) []map[string]any {
	var out []map[string]any
	for _, m := range l.lines(t) {
		if m["msg"] == "request" {
			out = append(out, m)
		}
	}
	return out
}

type testEnv struct {
	srv  *Server
	ts   *httptest.Server
	logs *logBuffer
}

// start runs a Server behind httptest (which listens on 127.0.0.1 only),
// logging as main does (NewLogger).
func start(t *testing.T, cfg Config) *testEnv {
	t.Helper()
	return startLogging(t, cfg, NewLogger)
}

// slogJSON is a plain slog JSON logger: request lines take the generic
// path through its handler instead of the server's own encoder.
func slogJSON(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }

func startLogging(t *testing.T, cfg Config, newLogger func(io.Writer) *slog.Logger) *testEnv {
	t.Helper()
	if cfg.Target == "" {
		cfg.Target = "hello"
	}
	logs := &logBuffer{}
	return serveTest(t, New(cfg, newLogger(logs)), logs)
}

// serveTest serves srv, whose logger writes to logs, behind httptest.
func serveTest(t *testing.T, srv *Server, logs *logBuffer) *testEnv {
	t.Helper()
	ts := httptest.NewServer(srv)
	t.Cleanup(srv.Close) // runs after ts.Close
	t.Cleanup(ts.Close)
	return &testEnv{srv: srv, ts: ts, logs: logs}
}

// latencyHold stands in for a server's injected latency: the first pass
// requests go through at once, later ones signal entered and wait there
// until release is closed or their context ends. A test sees a request
// in flight as soon as it is, instead of sleeping and hoping.
type latencyHold struct {
	pass    int32
	calls   atomic.Int32
	entered chan struct{}
	release chan struct{}
}

// holdLatency installs a latencyHold on s; call it before s serves.
func holdLatency(s *Server, pass int) *latencyHold {
	h := &latencyHold{pass: int32(pass), entered: make(chan struct{}, 64), release: make(chan struct{})}
	s.waitLatency = func(ctx context.Context, _ time.Duration) bool {
		if h.calls.Add(1) <= h.pass {
			return true
		}
		h.entered <- struct{}{}
		select {
		case <-h.release:
			return true
		case <-ctx.Done():
			return false
		}
	}
	return h
}

// waitEntered waits for a held request to reach the latency.
func (h *latencyHold) waitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-h.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no request reached the injected latency within 10s")
	}
}

// eventually polls cond until it holds, failing after 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
	}
}

// requestLines are the "request" log lines of every request answered so
// far (request lines are written asynchronously).
func (e *testEnv) requestLines(t *testing.T) []map[string]any {
	t.Helper()
	e.srv.FlushLogs()
	return e.logs.requestLines(t)
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("body %q is not the expected JSON: %v", a.body, err)
	}
}

// errorText decodes a {"error": ...} body.
func (a answer) errorText(t *testing.T) string {
	t.Helper()
	var e modelapi.ErrorResponse
	a.json(t, &e)
	if e.Error == "" {
		t.Fatalf("error body %q has no error text", a.body)
	}
	return e.Error
}

func (e *testEnv) do(t *testing.T, method, path, body string, hdr ...string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, b}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
