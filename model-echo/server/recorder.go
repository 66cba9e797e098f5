package server

import (
	"sync"
	"time"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// recorder is a fixed-size ring of the most recent records. Records are
// stored by value in one preallocated slice: no allocation per request.
type recorder struct {
	mu   sync.Mutex
	buf  []modelapi.RequestRecord
	next uint64 // Seq of the next record; buf[(seq-1)%len] holds seq
}

func newRecorder(size int) *recorder {
	return &recorder{buf: make([]modelapi.RequestRecord, size), next: 1}
}

func (r *recorder) add(rec *modelapi.RequestRecord) {
	r.mu.Lock()
	rec.Seq = r.next
	r.buf[(r.next-1)%uint64(len(r.buf))] = *rec
	r.next++
	r.mu.Unlock()
}

// recordFilter selects records; zero values select everything.
type recordFilter struct {
	since     uint64 // only Seq > since
	sinceTime time.Time
	requestID string
	limit     int // at most the newest limit records
}

// snapshot returns matching records, oldest first.
func (r *recorder) snapshot(f recordFilter) []modelapi.RequestRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	size := uint64(len(r.buf))
	first := uint64(1)
	if r.next-1 > size {
		first = r.next - size
	}
	first = max(first, f.since+1)
	out := make([]modelapi.RequestRecord, 0, min(r.next-first, size))
	for seq := first; seq < r.next; seq++ {
		rec := &r.buf[(seq-1)%size]
		if f.requestID != "" && rec.RequestID != f.requestID {
			continue
		}
		if !f.sinceTime.IsZero() && rec.Time.Before(f.sinceTime) {
			continue
		}
		out = append(out, *rec)
	}
	if f.limit > 0 && len(out) > f.limit {
		out = out[len(out)-f.limit:]
	}
	return out
}
