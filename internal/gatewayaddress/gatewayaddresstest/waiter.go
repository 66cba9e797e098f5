// Package gatewayaddresstest gives tests a gatewayaddress.Waiter whose
// clock moves on by itself whenever the Waiter sleeps, so minutes of
// waiting for a load balancer take no real time and no real-time race.
package gatewayaddresstest

import (
	"sync/atomic"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/modelrollouts/modelrollouts/internal/gatewayaddress"
)

// Waiter is a gatewayaddress.Waiter on a fake clock.
type Waiter struct {
	gatewayaddress.Waiter
	clock  *clocktesting.FakeClock
	start  time.Time
	sleeps atomic.Int32
}

// NewWaiter returns a Waiter polling every DefaultPollInterval on a fake
// clock that a goroutine advances one interval each time the Waiter
// sleeps. beforeStep, when not nil, runs before the n-th step (n = 1, 2,
// ...): there a test changes the cluster as time passes. The goroutine
// ends with the test.
func NewWaiter(t testing.TB, beforeStep func(n int)) *Waiter {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clocktesting.NewFakeClock(start)
	w := &Waiter{
		Waiter: gatewayaddress.Waiter{Clock: clk, PollInterval: gatewayaddress.DefaultPollInterval},
		clock:  clk,
		start:  start,
	}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-done:
				return
			default:
			}
			if !clk.HasWaiters() {
				time.Sleep(100 * time.Microsecond)
				continue
			}
			n := int(w.sleeps.Add(1))
			if beforeStep != nil {
				beforeStep(n)
			}
			clk.Step(gatewayaddress.DefaultPollInterval)
		}
	}()
	t.Cleanup(func() {
		close(done)
		<-stopped
	})
	return w
}

// Waited is how much fake time has passed.
func (w *Waiter) Waited() time.Duration { return w.clock.Since(w.start) }

// Sleeps is how many times the Waiter slept.
func (w *Waiter) Sleeps() int { return int(w.sleeps.Load()) }
