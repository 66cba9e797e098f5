package graceful

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// The order a pod needs: not ready, the delay (still serving), in-flight
// requests finished, then Stopped; a clean shutdown returns nil.
func TestServeTurnsNotReadyWaitsTheDelayThenDrainsInFlightRequests(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	inside, release := make(chan struct{}), make(chan struct{})
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(inside)
			<-release
		}
		io.WriteString(w, "answered")
	})}
	var (
		mu    sync.Mutex
		steps []string
	)
	step := func(s string) { mu.Lock(); steps = append(steps, s); mu.Unlock() }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, hs, ln, Shutdown{
			Delay: time.Hour, Timeout: 10 * time.Second,
			NotReady: func() { step("not ready") },
			Wait: func(d time.Duration) {
				step("delay " + d.String())
				defer close(release) // then the in-flight request may finish
				// Still serving during the delay.
				resp, err := http.Get(base + "/")
				if err != nil {
					t.Errorf("during the delay: %v", err)
					return
				}
				resp.Body.Close()
				step("served during the delay")
				step("released")
			},
			Stopped: func() { step("stopped") },
		})
	}()
	slow := make(chan string, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			slow <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slow <- string(b)
	}()
	<-inside
	cancel()
	if got := <-slow; got != "answered" {
		t.Fatalf("in-flight request: %q", got)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	want := "not ready, delay 1h0m0s, served during the delay, released, stopped"
	if got := strings.Join(steps, ", "); got != want {
		t.Fatalf("steps: %s\nwant:  %s", got, want)
	}
}

// A server that cannot serve returns the error, after Stopped.
func TestServeReturnsAServeErrorAfterStopped(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close() // Serve fails at once
	var stopped bool
	err = Serve(context.Background(), &http.Server{}, ln, Shutdown{
		NotReady: func() { t.Error("NotReady called without a shutdown") },
		Stopped:  func() { stopped = true },
	})
	if err == nil || !strings.HasPrefix(err.Error(), "serve: ") || !stopped {
		t.Fatalf("err %v, stopped %v", err, stopped)
	}
}
