// Package recordring keeps the newest request records for GET
// /debug/requests, model-echo's and model-agent's alike: smoke joins a
// primary's and a shadow's records by request id, so both must filter and
// order them the same way.
package recordring

import (
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// Ring is a fixed-size ring of the most recent records, stored by value in
// one preallocated slice: no allocation per request. It is safe for
// concurrent use.
type Ring struct {
	mu   sync.Mutex
	buf  []modelapi.RequestRecord
	next uint64 // Seq of the next record; buf[(seq-1)%len] holds seq
}

// New makes a ring of size records.
func New(size int) *Ring {
	return &Ring{buf: make([]modelapi.RequestRecord, size), next: 1}
}

// Add stores rec, numbering it (rec.Seq) in arrival order.
func (r *Ring) Add(rec *modelapi.RequestRecord) {
	r.mu.Lock()
	rec.Seq = r.next
	r.buf[(r.next-1)%uint64(len(r.buf))] = *rec
	r.next++
	r.mu.Unlock()
}

// Filter selects records; zero values select everything.
type Filter struct {
	Since     uint64 // only Seq > Since
	SinceTime time.Time
	RequestID string
	Limit     int // at most the newest Limit records
}

// ParseFilter reads the contract's query parameters (modelapi.QuerySince,
// QueryLimit, QueryRequestID); the error names the bad parameter.
func ParseFilter(q url.Values) (Filter, error) {
	var f Filter
	if v := q.Get(modelapi.QuerySince); v != "" {
		if n, err := strconv.ParseUint(v, 10, 64); err == nil {
			f.Since = n
		} else if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			f.SinceTime = t
		} else {
			return f, fmt.Errorf("%s: %q is neither a sequence number nor an RFC 3339 time", modelapi.QuerySince, v)
		}
	}
	if v := q.Get(modelapi.QueryLimit); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return f, fmt.Errorf("%s: %q is not a positive count", modelapi.QueryLimit, v)
		}
		f.Limit = n
	}
	f.RequestID = q.Get(modelapi.QueryRequestID)
	return f, nil
}

// Snapshot returns the matching records, oldest first (never nil, so an
// empty answer is the JSON array []).
func (r *Ring) Snapshot(f Filter) []modelapi.RequestRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	size := uint64(len(r.buf))
	first := uint64(1)
	if r.next-1 > size {
		first = r.next - size
	}
	first = max(first, f.Since+1)
	out := make([]modelapi.RequestRecord, 0, min(r.next-min(first, r.next), size))
	for seq := first; seq < r.next; seq++ {
		rec := &r.buf[(seq-1)%size]
		if f.RequestID != "" && rec.RequestID != f.RequestID {
			continue
		}
		if !f.SinceTime.IsZero() && rec.Time.Before(f.SinceTime) {
			continue
		}
		out = append(out, *rec)
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[len(out)-f.Limit:]
	}
	return out
}
