package agent

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// ring keeps the newest records for GET /debug/requests, by value in one
// preallocated slice, as model-echo's does: smoke joins a primary's and a
// shadow's records by request id.
type ring struct {
	mu   sync.Mutex
	buf  []modelapi.RequestRecord
	next uint64 // Seq of the next record
}

func newRing(size int) *ring { return &ring{buf: make([]modelapi.RequestRecord, size), next: 1} }

func (r *ring) add(rec *modelapi.RequestRecord) {
	r.mu.Lock()
	rec.Seq = r.next
	r.buf[(r.next-1)%uint64(len(r.buf))] = *rec
	r.next++
	r.mu.Unlock()
}

// filter selects records; zero values select everything.
type filter struct {
	since     uint64
	sinceTime time.Time
	requestID string
	limit     int
}

func (r *ring) snapshot(f filter) []modelapi.RequestRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	size := uint64(len(r.buf))
	first := uint64(1)
	if r.next-1 > size {
		first = r.next - size
	}
	first = max(first, f.since+1)
	out := []modelapi.RequestRecord{}
	for seq := first; seq < r.next; seq++ {
		rec := &r.buf[(seq-1)%size]
		if (f.requestID != "" && rec.RequestID != f.requestID) || (!f.sinceTime.IsZero() && rec.Time.Before(f.sinceTime)) {
			continue
		}
		out = append(out, *rec)
	}
	if f.limit > 0 && len(out) > f.limit {
		out = out[len(out)-f.limit:]
	}
	return out
}

// parseFilter reads model-echo's query parameters; a bad one is a 400
// naming it.
func parseFilter(r *http.Request) (filter, string) {
	var f filter
	q := r.URL.Query()
	if s := q.Get(modelapi.QuerySince); s != "" {
		if n, err := strconv.ParseUint(s, 10, 64); err == nil {
			f.since = n
		} else if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			f.sinceTime = t
		} else {
			return f, modelapi.QuerySince + ": " + strconv.Quote(s) + " is neither a sequence number nor an RFC 3339 time"
		}
	}
	if s := q.Get(modelapi.QueryLimit); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return f, modelapi.QueryLimit + ": " + strconv.Quote(s) + " is not a positive count"
		}
		f.limit = n
	}
	f.requestID = q.Get(modelapi.QueryRequestID)
	return f, ""
}

func (a *Agent) handleDebugRequests(x *exchange, r *http.Request) {
	f, problem := parseFilter(r)
	if problem != "" {
		writeJSON(x, http.StatusBadRequest, modelapi.ErrorResponse{Error: problem})
		return
	}
	writeJSON(x, http.StatusOK, a.ring.snapshot(f))
}

// writeJSON answers the agent's own routes.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"encoding the answer failed"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}
