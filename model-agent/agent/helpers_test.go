package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// startModel runs a stand-in model server on 127.0.0.1.
func startModel(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// lockedBuffer collects payload events written by the agent's goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) events(t *testing.T) []modelapi.PayloadEvent {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []modelapi.PayloadEvent
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	sc.Buffer(nil, 8<<20)
	for sc.Scan() {
		var ev modelapi.PayloadEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("payload line is not an event: %v: %.200s", err, sc.Text())
		}
		out = append(out, ev)
	}
	return out
}

// startAgent runs an agent through its own Serve (its timeouts, its
// shutdown) on 127.0.0.1 in front of upstream; it returns the agent, its
// base URL and the payload writer.
func startAgent(t *testing.T, cfg Config) (*Agent, string, *lockedBuffer) {
	t.Helper()
	events := &lockedBuffer{}
	a, err := NewWithPayloadWriter(cfg, nil, events)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent shutdown: %v", err)
		}
	})
	return a, "http://" + ln.Addr().String(), events
}

func hostOf(u string) string { return strings.TrimPrefix(u, "http://") }

// do sends one request and reads the whole answer.
func do(t *testing.T, method, url, host string, body io.Reader, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	return resp, b
}

// counter reads one series of a counter or gauge from the registry; 0
// when it does not exist.
func metricValue(t *testing.T, a *Agent, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := a.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if matches(m, labels) {
				switch {
				case m.Counter != nil:
					return m.Counter.GetValue()
				case m.Gauge != nil:
					return m.Gauge.GetValue()
				}
			}
		}
	}
	return 0
}

func matches(m *dto.Metric, labels map[string]string) bool {
	got := map[string]string{}
	for _, l := range m.GetLabel() {
		got[l.GetName()] = l.GetValue()
	}
	for k, v := range labels {
		if got[k] != v {
			return false
		}
	}
	return true
}

func series(version, route, code string) map[string]string {
	return map[string]string{modelapi.LabelVersion: version, modelapi.LabelRoute: route, modelapi.LabelCode: code}
}

func hexOf(b []byte) string { return fmt.Sprintf("%x", b) }
