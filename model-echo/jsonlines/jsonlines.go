// Package jsonlines writes JSON lines off the request path, as model-echo's
// request log and the payload log of model-echo and model-agent do: a
// bounded queue drained in batches by one goroutine (a full queue refuses
// an item, never blocks a request), a warning when drops were counted, and
// a cheap JSON string encoder for hand-built lines.
package jsonlines

import (
	"encoding/json"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"
)

// Pause is how long the goroutine lets items gather between batches
// when busy, so it is not woken per request.
const Pause = 2 * time.Millisecond

// Queue hands items from the request path to one background goroutine:
// Offer never blocks, and the goroutine, idle until an item comes, then
// lets items gather for Pause between batches.
type Queue[T any] struct {
	queue   chan T
	flushes chan chan struct{}
	stop    chan struct{}
	done    chan struct{}
	closing sync.Once

	// emit handles one item on the goroutine. It takes the item by value:
	// a pointer through a func value would move every item to the heap.
	emit      func(T)
	batchDone func() // after each batch: write out what emit buffered
}

// NewQueue makes a queue of size items; Run starts its goroutine.
func NewQueue[T any](size int, emit func(T), batchDone func()) *Queue[T] {
	return &Queue[T]{
		queue:   make(chan T, size),
		flushes: make(chan chan struct{}),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		emit:    emit, batchDone: batchDone,
	}
}

// Offer queues v, or returns false when the queue is full.
func (q *Queue[T]) Offer(v T) bool {
	select {
	case q.queue <- v:
		return true
	default:
		return false
	}
}

// Run is the background goroutine; it returns once Close is called and
// what was queued is handled.
func (q *Queue[T]) Run() {
	defer close(q.done)
	pause := time.NewTimer(Pause)
	pause.Stop()
	for {
		select {
		case v := <-q.queue: // idle until a request comes
			q.emit(v)
			q.drain()
			// Busy: let items gather rather than being woken per request.
			pause.Reset(Pause)
			select {
			case <-pause.C:
			case ack := <-q.flushes:
				q.drain()
				close(ack)
			case <-q.stop: // handled below
			}
		case ack := <-q.flushes:
			q.drain()
			close(ack)
		case <-q.stop:
			q.drain()
			return
		}
	}
}

// drain handles every queued item, then ends the batch.
func (q *Queue[T]) drain() {
	for n := len(q.queue); n > 0; n-- {
		q.emit(<-q.queue)
	}
	q.batchDone()
}

// Flush returns once every item queued before the call is handled.
func (q *Queue[T]) Flush() {
	ack := make(chan struct{})
	select {
	case q.flushes <- ack:
		<-ack
	case <-q.done:
	}
}

// Close handles what is queued and stops the goroutine; it may be called
// more than once.
func (q *Queue[T]) Close() {
	q.closing.Do(func() {
		close(q.stop)
		<-q.done
	})
}

// DropReport warns once per batch in which new drops were counted.
type DropReport struct {
	Warn     *slog.Logger
	Msg      string
	reported uint64
}

// Report warns when dropped grew since the last report.
func (r *DropReport) Report(dropped uint64) {
	if dropped > r.reported {
		r.Warn.Warn(r.Msg, "dropped_total", dropped)
		r.reported = dropped
	}
}

// AppendString appends s as a JSON string. Ids, routes, hosts and
// versions are plain ASCII almost always: those are copied as they are,
// anything else goes through encoding/json.
func AppendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
