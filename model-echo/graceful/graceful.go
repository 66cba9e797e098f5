// Package graceful serves HTTP until a context ends, then stops the way a
// pod should, for model-echo and model-agent alike: readiness off first,
// then a delay while still serving (so load balancers stop routing here),
// then in-flight requests finish within a timeout, then the owner writes
// what it has queued.
package graceful

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Shutdown says how to stop.
type Shutdown struct {
	// Delay keeps serving, not ready, after ctx ends (SHUTDOWN_DELAY_MS).
	Delay time.Duration
	// Timeout bounds how long in-flight requests may take to finish;
	// then the stragglers are cut.
	Timeout time.Duration
	// NotReady is called as soon as ctx ends, before the delay.
	NotReady func()
	// Wait waits out Delay; nil means time.Sleep (tests hold it).
	Wait func(time.Duration)
	// Stopped is called once no request is being served, also when the
	// server failed: write queued logs there.
	Stopped func()
}

// Serve serves hs on ln until ctx ends, then shuts down as s says. It
// returns nil after a clean shutdown.
func Serve(ctx context.Context, hs *http.Server, ln net.Listener, s Shutdown) error {
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		s.Stopped() // write the queued log lines before the caller exits
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.NotReady()
	if s.Delay > 0 {
		wait := s.Wait
		if wait == nil {
			wait = time.Sleep
		}
		wait(s.Delay)
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.Timeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if err != nil {
		hs.Close() // deadline passed: cut the stragglers
		err = fmt.Errorf("graceful shutdown: %w", err)
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = fmt.Errorf("serve: %w", serr)
	}
	s.Stopped()
	return err
}
