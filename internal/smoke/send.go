package smoke

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

// sendAll calls do for i in [0, n) on at most concurrency goroutines. It
// stops early when ctx ends and returns how many calls ran.
func sendAll(ctx context.Context, n, concurrency int, prog *Progress, do func(ctx context.Context, i int)) int {
	var next, ran atomic.Int64
	var wg sync.WaitGroup
	for range max(1, min(concurrency, n)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				do(ctx, i)
				ran.Add(1)
				prog.Add(1)
			}
		}()
	}
	wg.Wait()
	return int(ran.Load())
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

// Start begins a phase of total requests.
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
