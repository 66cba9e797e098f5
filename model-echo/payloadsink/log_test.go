package payloadsink

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// lockedBuffer is a writer tests read while the log writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// events decodes every line as a contract event, refusing unknown members.
func events(t *testing.T, out string) []modelapi.PayloadEvent {
	t.Helper()
	var evs []modelapi.PayloadEvent
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		var ev modelapi.PayloadEvent
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("line %s: %v", line, err)
		}
		evs = append(evs, ev)
	}
	return evs
}

func warnings(out string) int { return strings.Count(out, `"level":"WARN"`) }

func exchange(id string, in, out string) Exchange {
	return Exchange{RequestID: id, Start: time.Now(), Latency: time.Millisecond, Status: 200,
		Input: []byte(in), Output: []byte(out)}
}

// A full queue drops events and counts them (two per exchange); so does a
// body over the byte budget with room in the queue; a warning says so.
func TestAFullQueueDropsAndCountsTwoEventsAnExchange(t *testing.T) {
	t.Parallel()
	var out, warn lockedBuffer
	l := New(&out, Options{Model: "m", Version: "v", QueueLen: 2, Warn: slog.New(slog.NewJSONHandler(&warn, nil))})
	for range 5 { // nothing consumes yet
		l.Offer(exchange("r", `{}`, ""))
	}
	go l.Run()
	l.Flush()
	l.Offer(Exchange{RequestID: "big", Input: make([]byte, QueueBytes+1)})
	l.Close()
	if d := l.Dropped(QueueLog); d != 2*3+2 {
		t.Fatalf("dropped = %d, want 8 (3 exchanges beyond a queue of 2, one too big)", d)
	}
	if n := len(events(t, out.String())); n != 4 || warnings(warn.String()) == 0 {
		t.Fatalf("%d events and %d warnings, want 4 and a warning", n, warnings(warn.String()))
	}
}

// Bodies keep their meaning on one line: a server's trailing newline goes,
// pretty-printed JSON is compacted, anything else and a cut body is base64,
// a cut one with the truncated flag.
func TestBodiesStayOneLineAndCutOnesSaySo(t *testing.T) {
	t.Parallel()
	var out lockedBuffer
	l := New(&out, Options{Model: "m", Version: "v"})
	go l.Run()
	l.Offer(exchange("pretty", "{\n  \"a\": [1, 2]\n}\n", `{"b":1}`+"\n"))
	l.Offer(exchange("binary", "not json\n{", ""))
	cut := exchange("cut", `{"a":`, `{"b"`)
	cut.InputCut, cut.OutputCut = true, true
	l.Offer(cut)
	l.Close()
	evs := events(t, out.String())
	if len(evs) != 6 || strings.Count(out.String(), "\n") != 6 {
		t.Fatalf("want 6 one-line events, got:\n%s", out.String())
	}
	if string(evs[0].Data) != `{"a":[1,2]}` || string(evs[1].Data) != `{"b":1}` || evs[0].Truncated {
		t.Errorf("JSON bodies: %s and %s", evs[0].Data, evs[1].Data)
	}
	if string(evs[2].DataBase64) != "not json\n{" || evs[2].DataContentType != "application/octet-stream" ||
		evs[3].Body() != nil || evs[3].DataContentType != "" || evs[3].Status != 200 {
		t.Errorf("binary and empty bodies: %+v %+v", evs[2], evs[3])
	}
	if string(evs[4].DataBase64) != `{"a":` || !evs[4].Truncated || string(evs[5].DataBase64) != `{"b"` || !evs[5].Truncated {
		t.Errorf("cut bodies: %+v %+v", evs[4], evs[5])
	}
}

// sink is a KServe-compatible receiver that never answers until released.
type sink struct {
	mu      sync.Mutex
	headers []http.Header
	hold    chan struct{}
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.hold != nil {
		<-s.hold
	}
	io.Copy(io.Discard, r.Body)
	s.mu.Lock()
	s.headers = append(s.headers, r.Header.Clone())
	s.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

// The sink gets each event in binary mode, the cut flag as a header.
func TestASinkGetsBinaryModeEventsWithTheTruncatedHeader(t *testing.T) {
	t.Parallel()
	var k sink
	ks := httptest.NewServer(&k)
	defer ks.Close()
	l := New(io.Discard, Options{Model: "m", Version: "v", LoggerURL: ks.URL})
	go l.Run()
	cut := exchange("cut", `{"a":`, `{"b":1}`)
	cut.InputCut = true
	l.Offer(cut)
	l.Flush()
	l.Close()
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.headers) != 2 {
		t.Fatalf("sink got %d events, want 2", len(k.headers))
	}
	for _, h := range k.headers {
		req := h.Get("Ce-Type") == modelapi.EventTypeRequest
		wantCut, wantType := "", "application/json"
		if req {
			wantCut, wantType = "true", "application/octet-stream"
		}
		if h.Get("Ce-Truncated") != wantCut || h.Get("Content-Type") != wantType || h.Get("Ce-Id") != "cut" {
			t.Errorf("headers of %s: %v", h.Get("Ce-Type"), h)
		}
	}
}

// A sink that never answers must not hold shutdown: Close gives it
// PostDrain (shortened here) to take what is queued, then cancels the
// POSTs in flight and counts what it did not take as dropped. Kubernetes
// kills a pod 30 s after SIGTERM; without the bound a hanging sink held
// Close for (queued events / workers) × 5 s.
func TestCloseIsNotHeldByAHangingSink(t *testing.T) {
	t.Parallel()
	hanging := &sink{hold: make(chan struct{})}
	hs := httptest.NewServer(hanging)
	defer hs.Close()
	defer close(hanging.hold)
	var out, warn lockedBuffer
	const drain = 100 * time.Millisecond
	l := New(&out, Options{Model: "m", Version: "v", LoggerURL: hs.URL, PostDrain: drain,
		Warn: slog.New(slog.NewJSONHandler(&warn, nil))})
	go l.Run()
	const n = 50
	for range n {
		l.Offer(exchange("r", `{"a":1}`, `{"b":2}`))
	}
	l.FlushLog()
	t0 := time.Now()
	l.Close()
	if took := time.Since(t0); took < drain || took > drain+time.Second {
		t.Fatalf("Close took %v with a hanging sink, want about the %v drain", took, drain)
	}
	if got := len(events(t, out.String())); got != 2*n {
		t.Errorf("%d events in the log, want all %d", got, 2*n)
	}
	if d := l.Dropped(QueueHTTP); d != 2*n {
		t.Errorf("http drops %d, want all %d events the sink never took", d, 2*n)
	}
	if !strings.Contains(warn.String(), "not delivered") {
		t.Errorf("no warning that events were not delivered:\n%s", warn.String())
	}
}

// Collectors export the drop counts by queue and the post failures.
func TestCollectorsExportDropsByQueueAndPostFailures(t *testing.T) {
	t.Parallel()
	l := New(io.Discard, Options{Model: "m", Version: "v", QueueLen: 1})
	l.Offer(exchange("a", "{}", "{}"))
	l.Offer(exchange("b", "{}", "{}")) // full: 2 dropped
	reg := prometheus.NewRegistry()
	reg.MustRegister(l.Collectors()...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			if len(m.GetLabel()) > 0 {
				key += "/" + m.GetLabel()[0].GetValue()
			}
			got[key] = m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{
		modelapi.MetricPayloadDropped + "/log": 2, modelapi.MetricPayloadDropped + "/http": 0,
		modelapi.MetricPayloadPostFailures: 0,
	}
	if len(got) != len(want) {
		t.Fatalf("series %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	go l.Run()
	l.Close()
}
