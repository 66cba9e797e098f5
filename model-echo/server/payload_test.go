package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
	"github.com/modelrollouts/modelrollouts/model-echo/payloadsink"
)

// payloadEvents decodes the payload event lines written so far.
func (e *testEnv) payloadEvents(t *testing.T) []modelapi.PayloadEvent {
	t.Helper()
	e.srv.FlushLogs()
	e.logs.lines(t) // every line is JSON
	e.logs.mu.Lock()
	raw := bytes.Clone(e.logs.buf.Bytes())
	e.logs.mu.Unlock()
	var out []modelapi.PayloadEvent
	for _, b := range bytes.Split(raw, []byte("\n")) {
		if !bytes.Contains(b, []byte(`"specversion"`)) {
			continue
		}
		var ev modelapi.PayloadEvent
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields() // every member is in the contract
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("payload line %s: %v", b, err)
		}
		out = append(out, ev)
	}
	return out
}

func TestPayloadEventsAreKServeCloudEvents(t *testing.T) {
	t.Parallel()
	e := start(t, Config{ModelName: "iris", Version: "v2", Bias: 0.5, PayloadLog: true})
	in := `{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1,2]}]}`
	before := time.Now()
	a := e.do(t, "POST", "/v2/models/iris/infer", in, "X-Request-Id", "req-1", "Host", "model-shadow:80")
	if a.status != 200 {
		t.Fatalf("infer: %d %s", a.status, a.body)
	}
	evs := e.payloadEvents(t)
	if len(evs) != 2 {
		t.Fatalf("want a request and a response event, got %+v", evs)
	}
	req, resp := evs[0], evs[1]
	for _, ev := range evs {
		if ev.SpecVersion != "1.0" || ev.ID != "req-1" || ev.Source != "v2" || ev.ModelName != "iris" ||
			ev.ModelVersion != "v2" || ev.Component != "predictor" || !ev.Mirrored || ev.DataContentType != "application/json" {
			t.Errorf("attributes: %+v", ev)
		}
		if ev.Time.Before(before.Add(-time.Second)) || ev.Time.After(time.Now()) {
			t.Errorf("time %v is not when the request was served", ev.Time)
		}
	}
	if req.Type != "org.kubeflow.serving.inference.request" || resp.Type != "org.kubeflow.serving.inference.response" {
		t.Fatalf("types %q, %q", req.Type, resp.Type)
	}
	if string(req.Data) != in {
		t.Errorf("request data %s, want the body %s", req.Data, in)
	}
	if string(resp.Data) != strings.TrimSpace(string(a.body)) {
		t.Errorf("response data %s, want the answer %s", resp.Data, a.body)
	}
	if req.Status != 0 || resp.Status != 200 || resp.LatencyMicros < 0 || resp.Time.Before(req.Time) {
		t.Errorf("status/latency/time: request %+v response %+v", req, resp)
	}
	// Plain GET / and probes are not inference: no payload events.
	e.do(t, "GET", "/", "")
	e.do(t, "GET", "/v2/health/ready", "")
	if n := len(e.payloadEvents(t)); n != 2 {
		t.Fatalf("%d events after GET / and a probe, want still 2", n)
	}
}

// Bodies keep their meaning on one line: pretty-printed JSON is compacted,
// anything else is base64; failures are logged with their status.
func TestPayloadBodiesStayOneLine(t *testing.T) {
	t.Parallel()
	e := start(t, Config{PayloadLog: true, ErrorRate: 1})
	pretty := "{\n  \"inputs\": [\n    {\"name\": \"x\", \"shape\": [1], \"datatype\": \"FP64\", \"data\": [3]}\n  ]\n}\n"
	e.do(t, "POST", "/v2/models/model-echo/infer", pretty, "X-Request-Id", "injected")
	e.do(t, "POST", "/v2/models/model-echo/infer", "not json\n{", "X-Request-Id", "garbage")
	e.do(t, "GET", "/v2/models/model-echo/infer", "", "X-Request-Id", "wrong-method")

	evs := e.payloadEvents(t)
	if len(evs) != 6 {
		t.Fatalf("want 6 events, got %d: %+v", len(evs), evs)
	}
	byID := map[string][]modelapi.PayloadEvent{}
	for _, ev := range evs {
		byID[ev.ID] = append(byID[ev.ID], ev)
	}
	if got := byID["injected"]; string(got[0].Data) != `{"inputs":[{"name":"x","shape":[1],"datatype":"FP64","data":[3]}]}` || got[1].Status != 500 {
		t.Errorf("pretty body, injected failure: %+v", got)
	}
	if got := byID["garbage"]; got[0].Data != nil || string(got[0].DataBase64) != "not json\n{" ||
		got[0].DataContentType != "application/octet-stream" || got[1].Status != 400 {
		t.Errorf("non-JSON body: %+v", got)
	}
	if got := byID["wrong-method"]; got[0].Body() != nil || got[0].DataContentType != "" || got[1].Status != 405 {
		t.Errorf("bodiless request: %+v", got)
	}
	// The raw lines say the same: base64 in data_base64, one event a line.
	if !strings.Contains(e.logs.buf.String(), `"data_base64":"`+base64.StdEncoding.EncodeToString([]byte("not json\n{"))+`"`) {
		t.Errorf("log lacks the base64 body:\n%s", e.logs.buf.String())
	}
}

func TestPayloadLogOffByDefault(t *testing.T) {
	t.Parallel()
	e := start(t, Config{})
	e.do(t, "POST", "/v2/models/model-echo/infer", benchInferBody)
	if evs := e.payloadEvents(t); len(evs) != 0 || e.srv.payload != nil {
		t.Fatalf("payload log off, got %v", evs)
	}
	if _, ok := scrape(t, e)[modelapi.MetricPayloadDropped]; ok {
		t.Fatalf("%s exported with payload logging off", modelapi.MetricPayloadDropped)
	}
}

const benchInferBody = `{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1,2]}]}`

// The payload log's drop counters are exported by queue from the start
// (payloadsink's tests drop events and count them).
func TestPayloadDropsAreExportedByQueue(t *testing.T) {
	t.Parallel()
	e := start(t, Config{PayloadLog: true})
	m := scrape(t, e)[modelapi.MetricPayloadDropped].GetMetric()
	got := map[string]float64{}
	for _, s := range m {
		got[s.GetLabel()[0].GetValue()] = s.GetCounter().GetValue()
	}
	if v, ok := got["log"]; !ok || v != 0 || got["http"] != 0 || len(got) != 2 {
		t.Fatalf("%s = %v, want log 0, http 0", modelapi.MetricPayloadDropped, got)
	}
}

// sink is a KServe-compatible event receiver: it keeps each POST's
// CloudEvents headers and body.
type sink struct {
	mu     sync.Mutex
	events []http.Header
	bodies [][]byte
	status int
	hold   chan struct{} // when set, requests wait for it to close
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.hold != nil {
		<-s.hold
	}
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.events = append(s.events, r.Header.Clone())
	s.bodies = append(s.bodies, b)
	status := s.status
	s.mu.Unlock()
	if status == 0 {
		status = http.StatusAccepted
	}
	w.WriteHeader(status)
}

func TestPayloadEventsArePostedToLoggerURL(t *testing.T) {
	t.Parallel()
	var k sink
	ks := httptest.NewServer(&k)
	defer ks.Close()
	e := start(t, Config{ModelName: "iris", Version: "v1", PayloadLog: true, LoggerURL: ks.URL})
	a := e.do(t, "POST", "/v2/models/iris/infer", benchInferBody, "X-Request-Id", "abc")
	e.srv.FlushLogs()
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.events) != 2 {
		t.Fatalf("sink got %d events, want 2", len(k.events))
	}
	byType := map[string]int{}
	for i, h := range k.events {
		byType[h.Get("Ce-Type")] = i
		for name, want := range map[string]string{
			"Ce-Specversion": "1.0", "Ce-Id": "abc", "Ce-Source": "v1", "Ce-Inferenceservicename": "iris",
			"Ce-Modelversion": "v1", "Ce-Mirrored": "false", "Ce-Component": "predictor", "Content-Type": "application/json",
		} {
			if got := h.Get(name); got != want {
				t.Errorf("event %d: %s = %q, want %q", i, name, got, want)
			}
		}
		if _, err := time.Parse(time.RFC3339Nano, h.Get("Ce-Time")); err != nil {
			t.Errorf("event %d: Ce-Time: %v", i, err)
		}
	}
	req, ok1 := byType[modelapi.EventTypeRequest]
	resp, ok2 := byType[modelapi.EventTypeResponse]
	if !ok1 || !ok2 {
		t.Fatalf("event types %v", byType)
	}
	if string(k.bodies[req]) != benchInferBody || !bytes.Equal(k.bodies[resp], a.body) {
		t.Errorf("bodies: request %s, response %s", k.bodies[req], k.bodies[resp])
	}
	if k.events[resp].Get("Ce-Status") != "200" || k.events[resp].Get("Ce-Latencyus") == "" || k.events[req].Get("Ce-Status") != "" {
		t.Errorf("status/latency headers: request %v response %v", k.events[req], k.events[resp])
	}
	// stdout has both events too.
	if n := len(e.payloadEvents(t)); n != 2 {
		t.Errorf("%d events on stdout, want 2", n)
	}
}

// A sink that refuses counts failures; one that hangs neither slows nor
// fails requests: its queue fills, drops are counted, stdout keeps all.
func TestPayloadSinkTroubleNeverReachesRequests(t *testing.T) {
	t.Parallel()
	refusing := &sink{status: 500}
	rs := httptest.NewServer(refusing)
	defer rs.Close()
	e := start(t, Config{PayloadLog: true, LoggerURL: rs.URL})
	for i := 0; i < 3; i++ {
		if a := e.do(t, "POST", "/v2/models/model-echo/infer", benchInferBody); a.status != 200 {
			t.Fatalf("infer with a refusing sink: %d", a.status)
		}
	}
	e.srv.FlushLogs()
	if f := scrape(t, e)[modelapi.MetricPayloadPostFailures].GetMetric()[0].GetCounter().GetValue(); f != 6 {
		t.Fatalf("%s = %v, want 6", modelapi.MetricPayloadPostFailures, f)
	}

	hanging := &sink{hold: make(chan struct{})}
	hs := httptest.NewServer(hanging)
	defer hs.Close()
	defer close(hanging.hold) // before hs.Close: let the handlers return
	e2 := start(t, Config{PayloadLog: true, LoggerURL: hs.URL})
	// Fill the sink's queue (two events per exchange) the way the
	// handlers feed the payload log, without the thousand HTTP requests
	// that would take, then serve requests while it overflows.
	fill := payloadsink.PostQueueLen / 2
	for i := 0; i < fill; i++ {
		e2.srv.payload.Offer(payloadsink.Exchange{RequestID: "fill-" + strconv.Itoa(i), Start: time.Now(), Status: 200,
			Input: []byte(benchInferBody), InputJSON: true, Output: []byte(`{"model_name":"model-echo","outputs":[]}` + "\n"), OutputJSON: true})
	}
	const n = 32 // requests while the queue is full
	t0 := time.Now()
	for i := 0; i < n; i++ {
		if a := e2.do(t, "POST", "/v2/models/model-echo/infer", benchInferBody); a.status != 200 {
			t.Fatalf("infer with a hanging sink: %d", a.status)
		}
	}
	took := time.Since(t0)
	e2.srv.payload.FlushLog() // stdout side only: the sink still hangs
	if got, want := len(e2.logs.linesWith(t, "specversion")), 2*(fill+n); got != want {
		t.Errorf("%d events on stdout, want %d", got, want)
	}
	d := float64(e2.srv.payload.Dropped(payloadsink.QueueHTTP))
	if want := 2*(fill+n) - payloadsink.PostQueueLen - payloadsink.PostWorkers; d < float64(want) {
		t.Errorf("http drops = %v, want at least %d", d, want)
	}
	// The requests took no sink timeouts: far less than one 5 s POST.
	if took > payloadsink.PostTimeout {
		t.Errorf("%d requests took %v with a hanging sink", n, took)
	}
}

func (l *logBuffer) linesWith(t *testing.T, key string) []map[string]any {
	var out []map[string]any
	for _, m := range l.lines(t) {
		if _, ok := m[key]; ok {
			out = append(out, m)
		}
	}
	return out
}

// Shutdown writes every event of every request served.
func TestShutdownWritesEveryPayloadEvent(t *testing.T) {
	t.Parallel()
	var out logBuffer
	lw := NewLogWriter(&out, time.Hour) // only Close flushes
	s := New(Config{Target: "t", PayloadLog: true}, NewLogger(lw))
	ctx, cancel := context.WithCancel(context.Background())
	base, done := serveOn(t, ctx, s)
	const workers, each = 8, 40
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				resp, err := http.Post(base+"/v2/models/model-echo/infer", "application/json", strings.NewReader(benchInferBody))
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	lw.Close()
	if got := len(out.linesWith(t, "specversion")); got != 2*workers*each || s.payload.Dropped(payloadsink.QueueLog) != 0 {
		t.Fatalf("%d events, %d dropped after shutdown; want %d and 0", got, s.payload.Dropped(payloadsink.QueueLog), 2*workers*each)
	}
}

func TestPayloadConfigFromEnv(t *testing.T) {
	t.Parallel()
	cfg, err := ConfigFromEnv(env(map[string]string{"TARGET": "t", "PAYLOAD_LOG": "true", "LOGGER_URL": "http://sink.default:8080/events"}))
	if err != nil || !cfg.PayloadLog || cfg.LoggerURL != "http://sink.default:8080/events" {
		t.Fatalf("got %+v, %v", cfg, err)
	}
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"PAYLOAD_LOG": "yes please"}, `PAYLOAD_LOG: "yes please" is not true or false`},
		{map[string]string{"PAYLOAD_LOG": "true", "LOGGER_URL": "sink:8080"}, `LOGGER_URL: "sink:8080" is not an http or https URL`},
		{map[string]string{"PAYLOAD_LOG": "true", "LOGGER_URL": "ftp://sink/x"}, `LOGGER_URL: "ftp://sink/x" is not an http or https URL`},
		{map[string]string{"LOGGER_URL": "http://sink"}, "LOGGER_URL: set, but PAYLOAD_LOG is not true"},
		{map[string]string{"PAYLOAD_LOG": "false", "LOGGER_URL": "http://sink"}, "LOGGER_URL: set, but PAYLOAD_LOG is not true"},
	} {
		c.env["TARGET"] = "t"
		_, err := ConfigFromEnv(env(c.env))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want %q", c.env, err, c.want)
		}
	}
}
