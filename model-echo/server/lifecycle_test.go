package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// serveOn starts Serve on a 127.0.0.1 listener and returns its base URL
// and the channel Serve's result arrives on.
func serveOn(t *testing.T, ctx context.Context, s *Server) (string, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	return "http://" + ln.Addr().String(), done
}

func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	t.Parallel()
	s := New(Config{Target: "slow", Latency: 300 * time.Millisecond, ShutdownDelay: 100 * time.Millisecond}, nil)
	slow := holdLatency(s, 0)
	// The test looks at the server during the shutdown delay, then lets
	// it go on: no race between its checks and a real 100 ms.
	inDelay, delayOver := make(chan time.Duration, 1), make(chan struct{})
	s.waitShutdownDelay = func(d time.Duration) {
		inDelay <- d
		<-delayOver
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, done := serveOn(t, ctx, s)

	type result struct {
		status int
		body   string
		err    error
	}
	inflight := make(chan result, 1)
	go func() {
		resp, err := http.Get(base + "/")
		if err != nil {
			inflight <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		inflight <- result{resp.StatusCode, string(b), nil}
	}()
	slow.waitEntered(t) // the request is now in the handler
	cancel()

	// During the shutdown delay the listener still answers, with ready=false.
	if d := <-inDelay; d != 100*time.Millisecond {
		t.Fatalf("shutdown delay %v, want the configured 100ms", d)
	}
	resp, err := http.Get(base + "/v2/health/ready")
	if err != nil {
		t.Fatalf("readiness during shutdown delay: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readiness during shutdown = %d, want 503", resp.StatusCode)
	}
	close(delayOver)
	// Shutdown now waits for the request held in the handler.
	eventually(t, "listener closed after the delay", func() bool {
		resp, err := http.Get(base + "/v2/health/ready")
		if err == nil {
			resp.Body.Close()
		}
		return err != nil
	})
	select {
	case err := <-done:
		t.Fatalf("Serve returned %v before the in-flight request finished", err)
	default:
	}

	close(slow.release)
	r := <-inflight
	if r.err != nil || r.status != 200 || r.body != "slow" {
		t.Fatalf("in-flight request: %+v", r)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after shutdown")
	}
	if s.Ready() {
		t.Fatal("ready after shutdown")
	}
	if _, err := http.Get(base + "/"); err == nil {
		t.Fatal("still accepting after shutdown")
	}
}

func TestShutdownWithoutDelayStillDrains(t *testing.T) {
	t.Parallel()
	s := New(Config{Target: "t", Latency: 200 * time.Millisecond}, nil)
	slow := holdLatency(s, 0)
	ctx, cancel := context.WithCancel(context.Background())
	base, done := serveOn(t, ctx, s)
	status := make(chan int, 1)
	go func() {
		resp, err := http.Get(base + "/")
		if err != nil {
			status <- -1
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	slow.waitEntered(t)
	cancel()
	// Handler view while Shutdown waits for the held request: not ready.
	eventually(t, "ready answers 503 during shutdown", func() bool {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", "/v2/health/ready", nil))
		return rec.Code == 503
	})
	select {
	case err := <-done:
		t.Fatalf("Serve returned %v before the in-flight request finished", err)
	default:
	}
	close(slow.release)
	if got := <-status; got != 200 {
		t.Fatalf("in-flight status %d", got)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestShutdownTimeoutCutsStragglers(t *testing.T) {
	t.Parallel()
	s := New(Config{Target: "t", Latency: 5 * time.Second, ShutdownTimeout: 100 * time.Millisecond}, nil)
	slow := holdLatency(s, 0) // never released: a straggler
	ctx, cancel := context.WithCancel(context.Background())
	base, done := serveOn(t, ctx, s)
	go http.Get(base + "/")
	slow.waitEntered(t)
	cancel()
	select {
	case err := <-done:
		if err == nil || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Serve = %v, want a graceful shutdown deadline error", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("shutdown did not respect ShutdownTimeout")
	}
}

func TestListenAndServeBadAddress(t *testing.T) {
	t.Parallel()
	err := New(Config{Target: "t"}, nil).ListenAndServe(context.Background(), "127.0.0.1:-1")
	if err == nil || !strings.Contains(err.Error(), "listen on 127.0.0.1:-1") {
		t.Fatalf("got %v", err)
	}
}

func TestSlowBodyGets408(t *testing.T) {
	t.Parallel()
	s := New(Config{Target: "t", ReadTimeout: 200 * time.Millisecond}, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, _ := serveOn(t, ctx, s)
	addr := strings.TrimPrefix(base, "http://")

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Announce 100 bytes, send 10, then stall.
	io.WriteString(conn, "POST /v2/models/model-echo/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"inputs\":")
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(b), `"error":"timed out reading the request body"`) {
		t.Fatalf("stalled body: %d %s", resp.StatusCode, b)
	}
	// Others are still served.
	if r, err := http.Get(base + "/"); err != nil || r.StatusCode != 200 {
		t.Fatalf("server blocked after a stalled client: %v", err)
	}
}

func TestStalledHeadersAreCut(t *testing.T) {
	t.Parallel()
	s := New(Config{Target: "t", ReadHeaderTimeout: 150 * time.Millisecond}, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, _ := serveOn(t, ctx, s)
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n") // headers never end
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	// net/http closes the connection without a response on header
	// timeouts; what matters is that it does so, well before our deadline.
	n, err := conn.Read(make([]byte, 1))
	if err == nil {
		t.Fatalf("read %d bytes from a stalled header connection", n)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("server kept a stalled header connection open")
	}
	if r, err := http.Get(base + "/"); err != nil || r.StatusCode != 200 {
		t.Fatalf("server blocked after a stalled client: %v", err)
	}
}

func TestHTTPServerTimeouts(t *testing.T) {
	t.Parallel()
	hs := New(Config{Target: "t"}, nil).HTTPServer(":0")
	if hs.ReadHeaderTimeout != DefaultReadHeaderTimeout || hs.ReadTimeout != DefaultReadTimeout ||
		hs.WriteTimeout != DefaultWriteTimeout || hs.IdleTimeout != DefaultIdleTimeout || hs.MaxHeaderBytes == 0 {
		t.Fatalf("timeouts not set: %+v", hs)
	}
}

func TestHandlerPanicIsAnswered(t *testing.T) {
	t.Parallel()
	e := start(t, Config{})
	e.srv.route("/boom", []string{"GET"}, kindAPI, func(*exchange, *http.Request) { panic("boom") })
	a := e.do(t, "GET", "/boom", "")
	if a.status != 500 || a.errorText(t) != "internal error" {
		t.Fatalf("panic answered %d %s", a.status, a.body)
	}
	if a := e.do(t, "GET", "/", ""); a.status != 200 {
		t.Fatal("server broken after a panic")
	}
}

func TestLogWriterFlushes(t *testing.T) {
	t.Parallel()
	var out logBuffer
	lw := NewLogWriter(&out, 20*time.Millisecond)
	NewLogger(lw).Info("request", "request_id", "x")
	deadline := time.Now().Add(2 * time.Second)
	for len(out.lines(t)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("buffered line never flushed by the timer")
		}
		time.Sleep(5 * time.Millisecond)
	}
	NewLogger(lw).Info("last")
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	if l := out.lines(t); len(l) != 2 || l[1]["msg"] != "last" {
		t.Fatalf("Close did not flush: %v", l)
	}
	if err := lw.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
}
