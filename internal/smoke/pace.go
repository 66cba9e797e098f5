package smoke

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/measure"
)

// shadowPacer holds the shadow check's user requests back while the
// shadow has limit or more mirrored copies in flight. Smoke's requests are
// the shadow's whole load: a slow shadow flooded with copies it cannot
// answer fails its readiness probe, leaves its Service and loses copies
// (Envoy answers them "no healthy upstream"), a failure smoke itself would
// have caused. Paced, the users' requests go at the rate the shadow
// answers their copies.
type shadowPacer struct {
	limit, share float64

	mu       sync.Mutex
	inFlight float64 // copies in flight at the last read
	since    int     // requests let through since that read

	held atomic.Int64 // nanoseconds requests were held back, summed over clients
	peak atomic.Int64 // the most copies read in flight at once
	stop context.CancelFunc
	done sync.WaitGroup
}

// pacerPoll is how often the shadow's in-flight copies are read. Between
// two reads every request let through counts as in flight, so a shadow
// that keeps up is never held below limit/share requests per pacerPoll
// (1,280 a second at the default 8 clients and 50%).
const pacerPoll = 25 * time.Millisecond

// startShadowPacer reads inFlight on every shadow pod each pacerPoll until
// finished. share is the mirrored share of user requests: between reads,
// each request let through counts as share of a copy more in flight. A
// read that fails leaves the pace as it was: the counter's own reads
// report scrape problems.
func startShadowPacer(ctx context.Context, pods measure.Pods, counter, inFlight measure.Series, limit, share float64) *shadowPacer {
	ctx, cancel := context.WithCancel(ctx)
	p := &shadowPacer{limit: limit, share: share, stop: cancel}
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		t := time.NewTicker(pacerPoll)
		defer t.Stop()
		for {
			if r, err := measure.Read(ctx, pods, counter, inFlight); err == nil {
				p.mu.Lock()
				p.inFlight, p.since = r.InFlight, 0
				p.mu.Unlock()
				if n := int64(r.InFlight); n > p.peak.Load() {
					p.peak.Store(n)
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return p
}

// wait returns when one more request may go (or ctx ended).
func (p *shadowPacer) wait(ctx context.Context) {
	var start time.Time
	for ctx.Err() == nil {
		p.mu.Lock()
		ok := p.inFlight+float64(p.since)*p.share < p.limit
		if ok {
			p.since++
		}
		p.mu.Unlock()
		if ok {
			break
		}
		if start.IsZero() {
			start = time.Now()
		}
		time.Sleep(pacerPoll / 5)
	}
	if !start.IsZero() {
		p.held.Add(int64(time.Since(start)))
	}
}

// finish stops the reads.
func (p *shadowPacer) finish() {
	p.stop()
	p.done.Wait()
}
