package agent

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
	"github.com/modelrollouts/modelrollouts/model-echo/payloadsink"
)

// stuckWriter is a stdout nobody reads: every write blocks until release.
type stuckWriter struct{ release chan struct{} }

func (s stuckWriter) Write(p []byte) (int, error) {
	<-s.release
	return len(p), nil
}

func TestLoggingThatCannotKeepUpDropsAndCountsButNeverHoldsARequest(t *testing.T) {
	model := startModel(t, func(w http.ResponseWriter, r *http.Request) {
		http.NewResponseController(w).EnableFullDuplex()
		io.Copy(w, r.Body)
	})
	// The sink hangs too: LOGGER_URL's queue fills behind it.
	sinkRelease := make(chan struct{})
	sink := startModel(t, func(w http.ResponseWriter, r *http.Request) { <-sinkRelease })
	stuck := stuckWriter{release: make(chan struct{})}
	a, err := NewWithPayloadWriter(Config{Upstream: hostOf(model.URL), PayloadLog: true, LoggerURL: sink.URL}, nil, stuck)
	if err != nil {
		t.Fatal(err)
	}
	srv := startModel(t, a.ServeHTTP)
	t.Cleanup(func() {
		close(stuck.release)
		close(sinkRelease)
		a.Close()
	})

	// Each exchange holds two cut bodies (512 KiB) in the queue: the 8 MiB
	// bound is reached after 16, whatever the count bound.
	body := bytes.Repeat([]byte("x"), modelapi.PayloadMaxBodyBytes+1)
	const requests = 40
	for i := range requests {
		resp, got := do(t, http.MethodPost, srv.URL+"/v2/models/m/infer", "", bytes.NewReader(body), nil)
		if resp.StatusCode != 200 || len(got) != len(body) {
			t.Fatalf("request %d with the log stuck: %d, %d bytes", i, resp.StatusCode, len(got))
		}
	}
	dropped := metricValue(t, a, modelapi.MetricPayloadDropped, map[string]string{"queue": payloadsink.QueueLog})
	// At most one exchange is out of the queue (being written); 16 fit.
	if dropped < 2*(requests-17) || dropped > 2*requests {
		t.Errorf("%s{queue=log} = %g, want between %d and %d", modelapi.MetricPayloadDropped, dropped, 2*(requests-17), 2*requests)
	}
	if !strings.Contains(metricsText(t, srv.URL), modelapi.MetricPayloadPostFailures) {
		t.Errorf("/metrics lacks %s", modelapi.MetricPayloadPostFailures)
	}
}

func metricsText(t *testing.T, base string) string {
	_, b := do(t, http.MethodGet, base+modelapi.PathMetrics, "", nil, nil)
	return string(b)
}

func TestLoggerURLGetsEachEventInCloudEventsBinaryMode(t *testing.T) {
	type posted struct {
		header http.Header
		body   string
	}
	var mu sync.Mutex
	var got []posted
	sink := startModel(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, posted{r.Header.Clone(), string(b)})
		mu.Unlock()
	})
	model := startModel(t, iris(t, nil))
	a, url, _ := startAgent(t, Config{Upstream: hostOf(model.URL), Version: "v2", ModelName: "iris", PayloadLog: true, LoggerURL: sink.URL})
	do(t, http.MethodPost, url+"/v2/models/iris/infer", "model-shadow", strings.NewReader(`{"inputs":[]}`), map[string]string{modelapi.HeaderRequestID: "ce-1"})
	a.FlushLogs()
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("sink got %d events, want 2", len(got))
	}
	req, resp := got[0], got[1]
	if req.header.Get("Ce-Type") == modelapi.EventTypeResponse {
		req, resp = resp, req
	}
	for name, want := range map[string]string{
		"Ce-Id": "ce-1", "Ce-Type": modelapi.EventTypeRequest, "Ce-Source": "v2", "Ce-Specversion": "1.0",
		"Ce-" + modelapi.ExtMirrored: "true", "Ce-" + modelapi.ExtInferenceService: "iris", "Content-Type": "application/json",
	} {
		if g := req.header.Get(name); g != want {
			t.Errorf("request event %s = %q, want %q", name, g, want)
		}
	}
	if req.body != `{"inputs":[]}` || resp.header.Get("Ce-"+modelapi.ExtStatus) != "200" || !strings.Contains(resp.body, `"predict"`) {
		t.Errorf("request body %q, response status %q body %q", req.body, resp.header.Get("Ce-"+modelapi.ExtStatus), resp.body)
	}
}

func TestOnlyInferenceIsPayloadLogged(t *testing.T) {
	model := startModel(t, iris(t, nil))
	a, url, events := startAgent(t, Config{Upstream: hostOf(model.URL), PayloadLog: true})
	do(t, http.MethodGet, url+"/", "", nil, nil)
	do(t, http.MethodGet, url+"/v2/models/iris", "", nil, nil)
	do(t, http.MethodPost, url+"/v2/models/iris/versions/7/infer", "", strings.NewReader(`{}`), nil)
	a.FlushLogs()
	if evs := events.events(t); len(evs) != 2 {
		t.Errorf("%d events, want 2 (the one infer call; versioned infer counts)", len(evs))
	}
}
