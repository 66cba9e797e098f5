package server

import (
	"log/slog"
	"sync"
	"time"
)

// batchQueue hands items from the request path to one background
// goroutine, which the request log and the payload log each use: offer
// never blocks (a full queue refuses the item; the caller counts it as
// dropped), and the goroutine, idle until an item comes, then lets items
// gather for requestLogPause between batches, so it is not woken per
// request.
type batchQueue[T any] struct {
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

func newBatchQueue[T any](size int, emit func(T), batchDone func()) *batchQueue[T] {
	return &batchQueue[T]{
		queue:   make(chan T, size),
		flushes: make(chan chan struct{}),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		emit:    emit, batchDone: batchDone,
	}
}

// offer queues v, or returns false when the queue is full.
func (q *batchQueue[T]) offer(v T) bool {
	select {
	case q.queue <- v:
		return true
	default:
		return false
	}
}

// run is the background goroutine; it returns once close is called and
// what was queued is handled.
func (q *batchQueue[T]) run() {
	defer close(q.done)
	pause := time.NewTimer(requestLogPause)
	pause.Stop()
	for {
		select {
		case v := <-q.queue: // idle until a request comes
			q.emit(v)
			q.drain()
			// Busy: let items gather rather than being woken per request.
			pause.Reset(requestLogPause)
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
func (q *batchQueue[T]) drain() {
	for n := len(q.queue); n > 0; n-- {
		q.emit(<-q.queue)
	}
	q.batchDone()
}

// flush returns once every item queued before the call is handled.
func (q *batchQueue[T]) flush() {
	ack := make(chan struct{})
	select {
	case q.flushes <- ack:
		<-ack
	case <-q.done:
	}
}

// close handles what is queued and stops the goroutine; it may be called
// more than once.
func (q *batchQueue[T]) close() {
	q.closing.Do(func() {
		close(q.stop)
		<-q.done
	})
}

// dropReport warns once per batch in which new drops were counted.
type dropReport struct {
	warn     *slog.Logger
	msg      string
	reported uint64
}

func (r *dropReport) report(dropped uint64) {
	if dropped > r.reported {
		r.warn.Warn(r.msg, "dropped_total", dropped)
		r.reported = dropped
	}
}
