package server

import (
	"sync"
	"time"
)

// RequestRecord is one served request, as logged and as returned by
// GET /debug/requests. A smoke test joins primary and shadow records by
// RequestID and compares OutputDigest.
type RequestRecord struct {
	Seq       uint64    `json:"seq"` // per-server, increasing; ?since= filters on it
	Time      time.Time `json:"time"`
	RequestID string    `json:"request_id"`
	Model     string    `json:"model"`
	Version   string    `json:"version"`
	Method    string    `json:"method"`
	Route     string    `json:"route"` // the route pattern, e.g. "POST /v2/models/{name}/infer"
	Path      string    `json:"path"`
	Host      string    `json:"host"`
	// Mirrored is true for Istio shadow copies (Host ends in "-shadow").
	Mirrored bool `json:"mirrored"`
	Status   int  `json:"status"`
	// InputDigest is the hex sha256 of the request body.
	InputDigest string `json:"input_sha256"`
	// OutputDigest is the hex sha256 of the answer: for infer only of the
	// JSON "outputs" array (so equal bias gives equal digests across
	// versions and request ids), otherwise of the response body.
	OutputDigest string  `json:"output_sha256"`
	Output       string  `json:"output,omitempty"` // the text answer of GET /
	Error        string  `json:"error,omitempty"`
	LatencyMS    float64 `json:"latency_ms"`
}

// recorder is a fixed-size ring of the most recent records. Records are
// stored by value in one preallocated slice: no allocation per request.
type recorder struct {
	mu   sync.Mutex
	buf  []RequestRecord
	next uint64 // Seq of the next record; buf[(seq-1)%len] holds seq
}

func newRecorder(size int) *recorder {
	return &recorder{buf: make([]RequestRecord, size), next: 1}
}

func (r *recorder) add(rec *RequestRecord) {
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
func (r *recorder) snapshot(f recordFilter) []RequestRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	size := uint64(len(r.buf))
	first := uint64(1)
	if r.next-1 > size {
		first = r.next - size
	}
	first = max(first, f.since+1)
	out := make([]RequestRecord, 0, min(r.next-first, size))
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
