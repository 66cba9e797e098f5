package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// iris answers infer like a model server that knows nothing of the
// contract: no version header, no metrics, its own readiness path.
func iris(t *testing.T, seenIDs chan<- string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			w.WriteHeader(http.StatusOK)
		case "/v2/models/iris/infer":
			if seenIDs != nil {
				seenIDs <- r.Header.Get(modelapi.HeaderRequestID)
			}
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"model_name":"iris","id":"x","outputs":[{"name":"predict","shape":[1],"datatype":"INT64","data":[2]}]}`)
		default:
			http.NotFound(w, r)
		}
	}
}

func TestAnswersCarryTheVersionAndTheCallersRequestID(t *testing.T) {
	ids := make(chan string, 1)
	model := startModel(t, iris(t, ids))
	_, url, _ := startAgent(t, Config{Upstream: hostOf(model.URL), Version: "v2", ReadinessPath: "/healthz"})

	resp, _ := do(t, http.MethodPost, url+"/v2/models/iris/infer", "", strings.NewReader(`{"inputs":[]}`),
		map[string]string{modelapi.HeaderRequestID: "caller-id-1"})
	if got := resp.Header.Get(modelapi.HeaderModelVersion); got != "v2" {
		t.Errorf("%s = %q, want v2", modelapi.HeaderModelVersion, got)
	}
	if got := resp.Header.Values(modelapi.HeaderRequestID); len(got) != 1 || got[0] != "caller-id-1" {
		t.Errorf("%s = %q, want the caller's caller-id-1 once", modelapi.HeaderRequestID, got)
	}
	if got := <-ids; got != "caller-id-1" {
		t.Errorf("the model saw request id %q, want the caller's", got)
	}

	// No id, or one unfit for a header: the agent makes one, and the model
	// and the caller see the same.
	for _, id := range []string{"", "has space"} {
		resp, _ = do(t, http.MethodPost, url+"/v2/models/iris/infer", "", strings.NewReader(`{}`), map[string]string{modelapi.HeaderRequestID: id})
		made := resp.Header.Get(modelapi.HeaderRequestID)
		if !modelapi.ValidRequestID(made) || made == id {
			t.Errorf("caller id %q: answer id %q, want a fresh valid one", id, made)
		}
		if seen := <-ids; seen != made {
			t.Errorf("caller id %q: the model saw %q, the caller %q", id, seen, made)
		}
	}
	// Every answer: a 404 of the model, and the agent's own routes.
	for _, path := range []string{"/nowhere", modelapi.PathMetrics, modelapi.PathDebugRequests, modelapi.PathReady} {
		resp, _ = do(t, http.MethodGet, url+path, "", nil, nil)
		if resp.Header.Get(modelapi.HeaderModelVersion) != "v2" || resp.Header.Get(modelapi.HeaderRequestID) == "" {
			t.Errorf("GET %s: headers %v, want %s and %s", path, resp.Header, modelapi.HeaderModelVersion, modelapi.HeaderRequestID)
		}
	}
}

func TestMetricsAreModelEchosByRouteCodeAndMirroring(t *testing.T) {
	model := startModel(t, iris(t, nil))
	a, url, _ := startAgent(t, Config{Upstream: hostOf(model.URL), Version: "v1", Hostname: "pod-a"})

	infer := url + "/v2/models/iris/infer"
	do(t, http.MethodPost, infer, "", strings.NewReader(`{}`), nil)
	do(t, http.MethodPost, infer, "model.example.com-shadow", strings.NewReader(`{}`), nil)
	do(t, http.MethodPost, infer, "model.example.com-shadow:8080", strings.NewReader(`{}`), nil)
	do(t, http.MethodGet, url+"/some/model/path", "", nil, nil)

	if got := metricValue(t, a, modelapi.MetricRequests, series("v1", modelapi.RouteInfer, "200")); got != 3 {
		t.Errorf("%s{route=infer,code=200} = %g, want 3", modelapi.MetricRequests, got)
	}
	if got := metricValue(t, a, modelapi.MetricMirrored, series("v1", modelapi.RouteInfer, "200")); got != 2 {
		t.Errorf("%s = %g, want 2 (a Host ending in -shadow, with and without a port)", modelapi.MetricMirrored, got)
	}
	if got := metricValue(t, a, modelapi.MetricRequests, series("v1", modelapi.RouteUnmatched, "404")); got != 1 {
		t.Errorf("a path outside the contract: %s{route=%s,code=404} = %g, want 1 (never the raw path)", modelapi.MetricRequests, modelapi.RouteUnmatched, got)
	}
	if got := metricValue(t, a, modelapi.MetricInFlight, map[string]string{modelapi.LabelRoute: modelapi.RouteInfer, modelapi.LabelMirrored: "true"}); got != 0 {
		t.Errorf("%s after the answers = %g, want 0", modelapi.MetricInFlight, got)
	}
	if got := metricValue(t, a, modelapi.MetricInfo, map[string]string{"model": DefaultModelName, modelapi.LabelVersion: "v1", modelapi.LabelHostname: "pod-a"}); got != 1 {
		t.Errorf("%s{hostname=pod-a} = %g, want 1", modelapi.MetricInfo, got)
	}
	// And the same through GET /metrics, as smoke reads it.
	_, body := do(t, http.MethodGet, url+modelapi.PathMetrics, "", nil, nil)
	want := modelapi.MetricMirrored + `{code="200",route="/v2/models/{name}/infer",version="v1"} 2`
	if !strings.Contains(string(body), want) {
		t.Errorf("GET /metrics lacks %s", want)
	}
}

func TestInFlightCountsARequestTheModelIsStillAnswering(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{})
	model := startModel(t, func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
	})
	a, url, _ := startAgent(t, Config{Upstream: hostOf(model.URL)})
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.Post(url+"/v2/models/m/infer", "application/json", strings.NewReader(`{}`))
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-arrived
	in := map[string]string{modelapi.LabelRoute: modelapi.RouteInfer, modelapi.LabelMirrored: "false"}
	if got := metricValue(t, a, modelapi.MetricInFlight, in); got != 1 {
		t.Errorf("%s while the model answers = %g, want 1", modelapi.MetricInFlight, got)
	}
	close(release)
	<-done
	if got := metricValue(t, a, modelapi.MetricInFlight, in); got != 0 {
		t.Errorf("%s after = %g, want 0", modelapi.MetricInFlight, got)
	}
}

func TestReadinessIsTheModelsOwnReadinessPath(t *testing.T) {
	status := make(chan int, 1)
	model := startModel(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			t.Errorf("readiness asked %s, want /healthz", r.URL.Path)
		}
		w.WriteHeader(<-status)
	})
	_, url, _ := startAgent(t, Config{Upstream: hostOf(model.URL), ReadinessPath: "/healthz"})
	for _, tt := range []struct{ model, want int }{{200, 200}, {503, 503}, {500, 503}, {204, 200}} {
		status <- tt.model
		resp, body := do(t, http.MethodGet, url+modelapi.PathReady, "", nil, nil)
		if resp.StatusCode != tt.want {
			t.Errorf("model says %d: agent readiness %d (%s), want %d", tt.model, resp.StatusCode, body, tt.want)
		}
	}
	model.Close()
	resp, body := do(t, http.MethodGet, url+modelapi.PathReady, "", nil, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "/healthz") {
		t.Errorf("model down: readiness %d %s, want 503 naming /healthz", resp.StatusCode, body)
	}
}

// closedPort is a 127.0.0.1 port nothing listens on.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// hangUpModel accepts connections and closes them without a word.
func hangUpModel(t *testing.T) string {
	return startRawModel(t, func(c net.Conn, _ *bufio.Reader, _ int64) {
		c.Read(make([]byte, 1024))
	}).addr()
}

func TestAModelDownOrHangingUpIsA502WithAJSONErrorCountedByStatus(t *testing.T) {
	for _, tt := range []struct {
		name, upstream string
		says           *regexp.Regexp
	}{
		{"nothing listens", closedPort(t), regexp.MustCompile(`refused`)},
		// A hang-up reads as EOF, or, when it comes while the body is
		// still being sent, as a write on a closed or reset connection.
		{"the model hangs up", hangUpModel(t), regexp.MustCompile(`EOF|use of closed network connection|connection reset|broken pipe`)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, url, events := startAgent(t, Config{Upstream: tt.upstream, Version: "v3", PayloadLog: true})
			resp, body := do(t, http.MethodPost, url+"/v2/models/m/infer", "", strings.NewReader(`{"inputs":[]}`),
				map[string]string{modelapi.HeaderRequestID: "r-502"})
			var e modelapi.ErrorResponse
			if resp.StatusCode != http.StatusBadGateway || json.Unmarshal(body, &e) != nil ||
				!strings.Contains(e.Error, tt.upstream) || !tt.says.MatchString(e.Error) {
				t.Fatalf("answer %d %s, want 502 with a JSON error naming %s and matching %s", resp.StatusCode, body, tt.upstream, tt.says)
			}
			if resp.Header.Get(modelapi.HeaderModelVersion) != "v3" || resp.Header.Get(modelapi.HeaderRequestID) != "r-502" {
				t.Errorf("502 headers %v lack the version or the caller's id", resp.Header)
			}
			if got := metricValue(t, a, modelapi.MetricRequests, series("v3", modelapi.RouteInfer, "502")); got != 1 {
				t.Errorf("%s{code=502} = %g, want 1", modelapi.MetricRequests, got)
			}
			recs := a.Records()
			if len(recs) != 1 || recs[0].Status != 502 || recs[0].Error == "" {
				t.Errorf("debug records %+v, want one 502 with its error", recs)
			}
			a.FlushLogs()
			evs := events.events(t)
			if len(evs) != 2 || evs[1].Status != 502 {
				t.Errorf("payload events %+v, want a request and a 502 response", evs)
			}
		})
	}
}

func TestASlowModelIsBoundByTheCallersTimeoutNotTheAgents(t *testing.T) {
	cancelled := make(chan struct{})
	model := startModel(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			// Far longer than every timeout the agent has (100 ms here).
			time.Sleep(400 * time.Millisecond)
			io.WriteString(w, "worth the wait")
		case "/forever":
			<-r.Context().Done() // the agent passes the caller's leaving on
			close(cancelled)
		}
	})
	a, url, _ := startAgent(t, Config{Upstream: hostOf(model.URL), ReadHeaderTimeout: 100 * time.Millisecond,
		IdleTimeout: 100 * time.Millisecond, ReadinessTimeout: 100 * time.Millisecond, DialTimeout: 100 * time.Millisecond})

	resp, body := do(t, http.MethodGet, url+"/slow", "", nil, nil)
	if resp.StatusCode != 200 || string(body) != "worth the wait" {
		t.Errorf("a model slower than the agent's timeouts: %d %q, want its answer", resp.StatusCode, body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/forever", nil)
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("caller's own timeout: err %v, want its deadline", err)
	}
	<-cancelled // would hang (and the test time out) if the agent held on
	// The agent accounts the request once its handler returns, just after
	// the model saw the cancellation.
	deadline := time.Now().Add(10 * time.Second)
	for metricValue(t, a, modelapi.MetricRequests, series(DefaultVersion, modelapi.RouteUnmatched, "499")) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%s{code=499} never counted the caller who left", modelapi.MetricRequests)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
