package join

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/modelrollouts/modelrollouts/internal/shadow/events"
)

// Source is one log's events, in the order the log has them.
type Source interface {
	Next() (*events.Event, error)
}

// NamedSource is a source and the name its errors carry.
type NamedSource struct {
	Name string
	Source
}

const mergeBatch = 512

type batch struct {
	evs []*events.Event
	err error // set on the last batch of a source that failed
}

// Merge reads every source on its own goroutine (so parsing uses every
// CPU) and calls f with the events of all sources in time order, each
// source's own order kept: a k-way merge on the head of each source. Logs
// are written in time order, give or take a log batch, so the join sees
// one time line and its window bounds memory. An error of one source ends
// that source only; Merge returns them all, joined, once every other
// source is read.
func Merge(ctx context.Context, sources []NamedSource, f func(*events.Event)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chans := make([]chan batch, len(sources))
	for i, s := range sources {
		chans[i] = make(chan batch, 4)
		go read(ctx, s, chans[i])
	}
	h := &heads{}
	var errs []error
	next := func(i int) {
		for {
			b, ok := <-chans[i]
			if !ok {
				return
			}
			if b.err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", sources[i].Name, b.err))
			}
			if len(b.evs) > 0 {
				heap.Push(h, &head{src: i, evs: b.evs})
				return
			}
		}
	}
	for i := range sources {
		next(i)
	}
	for h.Len() > 0 {
		top := (*h)[0]
		f(top.evs[top.pos])
		top.pos++
		if top.pos < len(top.evs) {
			heap.Fix(h, 0)
			continue
		}
		heap.Pop(h)
		next(top.src)
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func read(ctx context.Context, s NamedSource, out chan<- batch) {
	defer close(out)
	evs := make([]*events.Event, 0, mergeBatch)
	for {
		ev, err := s.Next()
		if ev != nil {
			evs = append(evs, ev)
		}
		if err != nil || len(evs) == mergeBatch {
			b := batch{evs: evs}
			if err != nil && !errors.Is(err, io.EOF) {
				b.err = err
			}
			select {
			case out <- b:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
			evs = make([]*events.Event, 0, mergeBatch)
		}
	}
}

type head struct {
	src int
	evs []*events.Event
	pos int
}

type heads []*head

func (h heads) Len() int { return len(h) }
func (h heads) Less(a, b int) bool {
	ta, tb := h[a].evs[h[a].pos].Time, h[b].evs[h[b].pos].Time
	if ta.Equal(tb) {
		return h[a].src < h[b].src
	}
	return ta.Before(tb)
}
func (h heads) Swap(a, b int) { h[a], h[b] = h[b], h[a] }
func (h *heads) Push(x any)   { *h = append(*h, x.(*head)) }
func (h *heads) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
