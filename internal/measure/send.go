package measure

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Batch is a run of requests: N of them, request i built by Request(i),
// at most Concurrency in flight.
type Batch struct {
	N           int
	Concurrency int
	Request     func(i int) Request
	// Progress, when set, is started with Label and N and finished at the
	// end of the batch.
	Progress *Progress
	Label    string
	// Pace, when set, is called before each request and holds it back
	// until it returns (back-pressure from the system under test).
	Pace func(ctx context.Context)
}

// Send sends the batch. observe is called once per answer, one call at a
// time (no locking needed in it), in the order answers arrive; returning
// false stops the batch early (a sequential test that has decided):
// requests already in flight still finish and are observed. Send returns
// how many answers were observed; fewer than N when observe stopped it or
// ctx ended.
func (c *Client) Send(ctx context.Context, b Batch, observe func(i int, a Answer) bool) int {
	var (
		next     atomic.Int64
		stopped  atomic.Bool
		mu       sync.Mutex
		observed int
		wg       sync.WaitGroup
	)
	b.Progress.Start(b.Label, b.N)
	defer b.Progress.Finish()
	for range max(1, min(b.Concurrency, b.N)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && !stopped.Load() {
				if b.Pace != nil {
					b.Pace(ctx)
				}
				i := int(next.Add(1) - 1)
				if i >= b.N {
					return
				}
				a := c.Do(ctx, b.Request(i))
				if ctx.Err() != nil && a.Status == 0 {
					return // cut off by the deadline: not evidence about the route
				}
				mu.Lock()
				observed++
				if !observe(i, a) {
					stopped.Store(true)
				}
				mu.Unlock()
				b.Progress.Add(1)
			}
		}()
	}
	wg.Wait()
	return observed
}

// Progress shows how far sending got: a redrawn bar on a terminal, plain
// periodic lines otherwise (CI logs do not render carriage returns).
type Progress struct {
	w     io.Writer
	tty   bool
	every time.Duration
	label string
	total int
	done  atomic.Int64
	stop  chan struct{}
	wg    sync.WaitGroup
}

// NewProgress writes to w; nil w disables progress.
func NewProgress(w io.Writer, tty bool) *Progress {
	every := 2 * time.Second
	if tty {
		every = 100 * time.Millisecond
	}
	return &Progress{w: w, tty: tty, every: every}
}

// IsTerminal reports whether f is a character device (a terminal).
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Start begins a phase of total requests. A nil *Progress does nothing.
func (p *Progress) Start(label string, total int) {
	if p == nil || p.w == nil {
		return
	}
	p.label, p.total = label, total
	p.done.Store(0)
	p.stop = make(chan struct{})
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(p.every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.draw(false)
			}
		}
	}()
}

// Add counts finished requests.
func (p *Progress) Add(k int) {
	if p != nil {
		p.done.Add(int64(k))
	}
}

// Finish ends the phase with a final line.
func (p *Progress) Finish() {
	if p == nil || p.w == nil || p.stop == nil {
		return
	}
	close(p.stop)
	p.wg.Wait()
	p.stop = nil
	p.draw(true)
}

func (p *Progress) draw(final bool) {
	done := int(p.done.Load())
	if !p.tty {
		fmt.Fprintf(p.w, "%s: %d/%d requests\n", p.label, done, p.total)
		return
	}
	const width = 30
	fill := 0
	if p.total > 0 {
		fill = width * done / p.total
	}
	bar := strings.Repeat("#", fill) + strings.Repeat(".", width-fill)
	end := ""
	if final {
		end = "\n"
	}
	fmt.Fprintf(p.w, "\r%s [%s] %d/%d%s", p.label, bar, done, p.total, end)
}
