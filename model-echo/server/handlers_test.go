package server

import (
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

func TestRootAnswersTargetWithVersionHeader(t *testing.T) {
	t.Parallel()
	e := start(t, Config{Target: "Hello canary", Version: "v7"})
	a := e.do(t, "GET", "/", "")
	if a.status != 200 || string(a.body) != "Hello canary" {
		t.Fatalf("GET / = %d %q", a.status, a.body)
	}
	if got := a.header.Get(modelapi.HeaderModelVersion); got != "v7" {
		t.Fatalf("%s = %q, want v7", modelapi.HeaderModelVersion, got)
	}
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("Content-Type = %q", ct)
	}
	if h := e.do(t, "HEAD", "/", ""); h.status != 200 || len(h.body) != 0 || h.header.Get("Content-Length") != "12" {
		t.Fatalf("HEAD / = %d %q %v", h.status, h.body, h.header)
	}
	if cl := a.header.Get("Content-Length"); cl != "12" {
		t.Fatalf("Content-Length = %q, want 12", cl)
	}
	long := strings.Repeat("x", 5000) // beyond net/http's chunking buffer
	if a := start(t, Config{Target: long}).do(t, "GET", "/", ""); string(a.body) != long || a.header.Get("Content-Length") != "5000" {
		t.Fatalf("long GET / = %d bytes, Content-Length %q", len(a.body), a.header.Get("Content-Length"))
	}
}

func TestRequestIDEchoedOrGenerated(t *testing.T) {
	t.Parallel()
	e := start(t, Config{})
	a := e.do(t, "GET", "/", "", "x-request-id", "abc-123")
	if got := a.header.Get(modelapi.HeaderRequestID); got != "abc-123" {
		t.Fatalf("echoed %s = %q", modelapi.HeaderRequestID, got)
	}
	ids := map[string]bool{}
	for i := 0; i < 3; i++ {
		id := e.do(t, "GET", "/", "").header.Get(modelapi.HeaderRequestID)
		if len(id) != 36 || id[14] != '4' || ids[id] {
			t.Fatalf("generated id %q is not a fresh UUIDv4", id)
		}
		ids[id] = true
	}
	// An id unfit for logs is replaced, not echoed.
	if got := e.do(t, "GET", "/", "", "X-Request-Id", strings.Repeat("x", 200)).header.Get(modelapi.HeaderRequestID); len(got) != 36 {
		t.Fatalf("overlong id answered as %q", got)
	}
}

func TestEveryRouteCarriesVersionAndRequestID(t *testing.T) {
	t.Parallel()
	e := start(t, Config{Version: "v3"})
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/", ""}, {"GET", "/v2", ""}, {"GET", "/v2/health/live", ""}, {"GET", "/v2/health/ready", ""},
		{"GET", "/v2/models/model-echo", ""}, {"GET", "/v2/models/model-echo/ready", ""},
		{"POST", "/v2/models/model-echo/infer", `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}`},
		{"POST", "/v2/models/model-echo/infer", `{`}, {"GET", "/metrics", ""}, {"GET", "/debug/requests", ""},
		{"GET", "/nope", ""}, {"DELETE", "/", ""},
	} {
		a := e.do(t, c.method, c.path, c.body, "X-Request-Id", "rid-1")
		if a.header.Get(modelapi.HeaderModelVersion) != "v3" || a.header.Get(modelapi.HeaderRequestID) != "rid-1" {
			t.Errorf("%s %s: headers %v", c.method, c.path, a.header)
		}
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	e := start(t, Config{})
	var m map[string]bool
	a := e.do(t, "GET", "/v2/health/live", "")
	a.json(t, &m)
	if a.status != 200 || !m["live"] {
		t.Fatalf("live = %d %s", a.status, a.body)
	}
	if a := e.do(t, "GET", "/v2/health/ready", ""); a.status != 200 {
		t.Fatalf("ready = %d", a.status)
	}
	e.srv.SetReady(false)
	a = e.do(t, "GET", "/v2/health/ready", "")
	m = nil
	a.json(t, &m)
	if a.status != 503 || m["ready"] {
		t.Fatalf("not ready = %d %s", a.status, a.body)
	}
	if a := e.do(t, "GET", "/v2/models/model-echo/ready", ""); a.status != 503 {
		t.Fatalf("model ready while not ready = %d", a.status)
	}
	// Liveness does not follow readiness: a draining server is alive.
	if a := e.do(t, "GET", "/v2/health/live", ""); a.status != 200 {
		t.Fatalf("live while not ready = %d", a.status)
	}
}

func TestMetadata(t *testing.T) {
	t.Parallel()
	e := start(t, Config{ModelName: "iris", Version: "v2"})
	var sm modelapi.ServerMetadata
	e.do(t, "GET", "/v2", "").json(t, &sm)
	if sm.Name != "iris" || sm.Version != "v2" {
		t.Fatalf("server metadata %+v", sm)
	}
	for _, path := range []string{"/v2/models/iris", "/v2/models/iris/versions/v2"} {
		var md modelapi.ModelMetadata
		a := e.do(t, "GET", path, "")
		a.json(t, &md)
		if a.status != 200 || md.Name != "iris" || !reflect.DeepEqual(md.Versions, []string{"v2"}) ||
			md.Platform == "" || len(md.Inputs) != 1 || len(md.Outputs) != 1 || md.Outputs[0].Name != modelapi.OutputName(0) {
			t.Fatalf("GET %s = %d %+v", path, a.status, md)
		}
	}
	var ready struct {
		Name  string
		Ready bool
	}
	e.do(t, "GET", "/v2/models/iris/versions/v2/ready", "").json(t, &ready)
	if ready.Name != "iris" || !ready.Ready {
		t.Fatalf("model ready %+v", ready)
	}
}

func TestUnknownModelOrVersionIs404(t *testing.T) {
	t.Parallel()
	e := start(t, Config{ModelName: "iris", Version: "v2"})
	infer := `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}`
	for _, c := range []struct{ method, path, body, want string }{
		{"GET", "/v2/models/other", "", `unknown model "other"`},
		{"GET", "/v2/models/other/ready", "", `unknown model "other"`},
		{"POST", "/v2/models/other/infer", infer, `unknown model "other"`},
		{"GET", "/v2/models/iris/versions/v1", "", `unknown version "v1"`},
		{"POST", "/v2/models/iris/versions/v1/infer", infer, `unknown version "v1"`},
	} {
		a := e.do(t, c.method, c.path, c.body)
		if a.status != 404 || !strings.Contains(a.errorText(t), c.want) {
			t.Errorf("%s %s = %d %s", c.method, c.path, a.status, a.body)
		}
	}
}

func TestUnknownPathIsJSON404(t *testing.T) {
	t.Parallel()
	e := start(t, Config{})
	for _, m := range []string{"GET", "POST", "PROPFIND"} {
		a := e.do(t, m, "/v2/nothing/here", "")
		if a.status != 404 || !strings.Contains(a.errorText(t), "no route for "+m+" /v2/nothing/here") {
			t.Errorf("%s = %d %s", m, a.status, a.body)
		}
	}
}

func TestWrongMethodIs405WithAllow(t *testing.T) {
	t.Parallel()
	e := start(t, Config{})
	for _, c := range []struct{ method, path, allow string }{
		{"POST", "/", "GET, HEAD"},
		{"DELETE", "/v2/health/live", "GET, HEAD"},
		{"GET", "/v2/models/model-echo/infer", "POST"},
		{"PUT", "/v2/models/model-echo/infer", "POST"},
		{"POST", "/metrics", "GET, HEAD"},
		{"POST", "/debug/requests", "GET, HEAD"},
	} {
		a := e.do(t, c.method, c.path, "")
		if a.status != 405 || a.header.Get("Allow") != c.allow || !strings.Contains(a.errorText(t), "method "+c.method+" not allowed") {
			t.Errorf("%s %s = %d Allow=%q %s", c.method, c.path, a.status, a.header.Get("Allow"), a.body)
		}
	}
}

func inferBody(id string, data ...float64) string {
	return fmt.Sprintf(`{"id":%q,"inputs":[{"name":"x","shape":[%d],"datatype":"FP32","data":%s}]}`,
		id, len(data), strings.ReplaceAll(fmt.Sprint(data), " ", ","))
}

func TestInferAddsBiasAndCarriesVersion(t *testing.T) {
	t.Parallel()
	e := start(t, Config{Version: "v2", Bias: 0.5})
	a := e.do(t, "POST", "/v2/models/model-echo/infer",
		`{"id":"req-9","inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","data":[[1,2],[3,4.25]]},
		  {"name":"n","shape":[1],"datatype":"INT64","data":[-3]}]}`)
	if a.status != 200 {
		t.Fatalf("infer = %d %s", a.status, a.body)
	}
	var resp modelapi.InferResponse
	a.json(t, &resp)
	want := modelapi.InferResponse{ModelName: "model-echo", ModelVersion: "v2", ID: "req-9", Outputs: []modelapi.InferOutput{
		{Name: "output-0", Shape: []int64{2, 2}, Datatype: "FP64", Data: []float64{1.5, 2.5, 3.5, 4.75}},
		{Name: "output-1", Shape: []int64{1}, Datatype: "FP64", Data: []float64{-2.5}},
	}}
	if !reflect.DeepEqual(resp, want) {
		t.Fatalf("got %+v\nwant %+v", resp, want)
	}
	if a.header.Get(modelapi.HeaderModelVersion) != "v2" || a.header.Get("Content-Type") != "application/json" {
		t.Fatalf("headers %v", a.header)
	}
}

func TestInferDeterministicAndVersionsDisagree(t *testing.T) {
	t.Parallel()
	v1 := start(t, Config{Version: "v1"})
	v2 := start(t, Config{Version: "v2", Bias: 1})
	v1b := start(t, Config{Version: "v1b"})
	body := inferBody("same", 1, 2, 3)
	a1, a1again := v1.do(t, "POST", "/v2/models/model-echo/infer", body), v1.do(t, "POST", "/v2/models/model-echo/infer", body)
	if string(a1.body) != string(a1again.body) {
		t.Fatalf("not deterministic:\n%s\n%s", a1.body, a1again.body)
	}
	var r1, r2 modelapi.InferResponse
	a1.json(t, &r1)
	v2.do(t, "POST", "/v2/models/model-echo/infer", body).json(t, &r2)
	if r1.Outputs[0].Data[0] != 1 || r2.Outputs[0].Data[0] != 2 {
		t.Fatalf("bias not applied: v1 %v v2 %v", r1.Outputs[0].Data, r2.Outputs[0].Data)
	}
	v1b.do(t, "POST", "/v2/models/model-echo/infer", body)

	// Output digests: equal for equal bias across versions, different otherwise.
	d := func(e *testEnv) string { r := e.srv.Records(); return r[len(r)-1].OutputDigest }
	if d(v1) != d(v1b) || d(v1) == d(v2) {
		t.Fatalf("digests v1 %s v1b %s v2 %s", d(v1), d(v1b), d(v2))
	}
}

func TestInferIDFallsBackToRequestID(t *testing.T) {
	t.Parallel()
	e := start(t, Config{})
	var r modelapi.InferResponse
	e.do(t, "POST", "/v2/models/model-echo/infer", `{"inputs":[{"name":"x","shape":[1],"datatype":"FP64","data":[1]}]}`,
		"X-Request-Id", "hdr-id").json(t, &r)
	if r.ID != "hdr-id" {
		t.Fatalf("id = %q, want the X-Request-Id", r.ID)
	}
}

func TestInferRequestedOutputs(t *testing.T) {
	t.Parallel()
	e := start(t, Config{})
	two := `"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]},{"name":"b","shape":[1],"datatype":"FP32","data":[2]}]`
	var r modelapi.InferResponse
	e.do(t, "POST", "/v2/models/model-echo/infer", `{`+two+`,"outputs":[{"name":"output-1"}]}`).json(t, &r)
	if len(r.Outputs) != 1 || r.Outputs[0].Name != "output-1" || r.Outputs[0].Data[0] != 2 {
		t.Fatalf("requested outputs: %+v", r)
	}
	a := e.do(t, "POST", "/v2/models/model-echo/infer", `{`+two+`,"outputs":[{"name":"output-2"}]}`)
	if a.status != 400 || !strings.HasPrefix(a.errorText(t), `outputs[0].name: unknown output "output-2"`) {
		t.Fatalf("unknown output = %d %s", a.status, a.body)
	}
}

func TestInferBadInputs(t *testing.T) {
	t.Parallel()
	e := start(t, Config{Bias: math.MaxFloat64})
	for _, c := range []struct{ body, want string }{
		{`not json`, "malformed JSON"},
		{`{"inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[1,2]}]}`, "inputs[0].shape: [3] holds 3 elements but data has 2"},
		{`{"inputs":[{"name":"x","shape":[1],"datatype":"STRING","data":[1]}]}`, `inputs[0].datatype: unsupported datatype "STRING"`},
		{`{"inputs":[{"name":"x","shape":[1],"datatype":"INT32","data":["a"]}]}`, "inputs[0].data[0]: expected a number"},
		{`{"inputs":[{"name":"x","shape":[1],"datatype":"FP64","data":[1.7e308]}]}`, "inputs[0].data[0]: 1.7e+308 plus bias"},
		{``, "empty body"},
	} {
		a := e.do(t, "POST", "/v2/models/model-echo/infer", c.body)
		if a.status != 400 || !strings.Contains(a.errorText(t), c.want) {
			t.Errorf("%q = %d %s, want 400 containing %q", c.body, a.status, a.body, c.want)
		}
	}
	// The server survives all of it.
	if a := e.do(t, "GET", "/", ""); a.status != 200 {
		t.Fatalf("after bad inputs GET / = %d", a.status)
	}
}

func TestOversizedBodyIs413(t *testing.T) {
	t.Parallel()
	e := start(t, Config{MaxBodyBytes: 1000})
	big := `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}],"id":"` + strings.Repeat("a", 2000) + `"}`
	a := e.do(t, "POST", "/v2/models/model-echo/infer", big)
	if a.status != 413 || !strings.Contains(a.errorText(t), "exceeds the limit of 1000 bytes") {
		t.Fatalf("declared length: %d %s", a.status, a.body)
	}
	// Without Content-Length (chunked) the limit applies while reading.
	req, _ := http.NewRequest("POST", e.ts.URL+"/v2/models/model-echo/infer", struct{ *strings.Reader }{strings.NewReader(big)})
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if req.ContentLength != -1 && req.ContentLength != 0 || resp.StatusCode != 413 {
		t.Fatalf("chunked: content length %d, status %d", req.ContentLength, resp.StatusCode)
	}
	// Default limit is 1 MiB.
	if New(Config{Target: "t"}, nil).Config().MaxBodyBytes != 1<<20 {
		t.Fatal("default body limit is not 1 MiB")
	}
}

// Not parallel: the probe's "not slowed down" bound is real time, kept
// honest by running while no other test of the package does.
func TestInjectedLatency(t *testing.T) {
	e := start(t, Config{Latency: 80 * time.Millisecond})
	t0 := time.Now()
	if a := e.do(t, "GET", "/", ""); a.status != 200 {
		t.Fatal(a.status)
	}
	if d := time.Since(t0); d < 80*time.Millisecond {
		t.Fatalf("GET / took %v, want >= 80ms", d)
	}
	// Probes are not slowed down: they never reach the latency wait
	// (counted rather than timed, so a loaded machine cannot fail it).
	logs := &logBuffer{}
	srv := New(Config{Target: "hello", Latency: time.Hour}, NewLogger(logs))
	h := holdLatency(srv, 1<<20)
	probe := serveTest(t, srv, logs)
	for _, path := range []string{"/v2/health/ready", "/v2/health/live"} {
		if a := probe.do(t, "GET", path, ""); a.status != 200 {
			t.Fatalf("%s: %d", path, a.status)
		}
	}
	if n := h.calls.Load(); n != 0 {
		t.Fatalf("probes waited for the injected latency %d times", n)
	}
	if probe.do(t, "GET", "/", ""); h.calls.Load() != 1 {
		t.Fatal("the counter missed a request that waits: the check above proves nothing")
	}
}

func TestInjectedErrorsAreDeterministic(t *testing.T) {
	t.Parallel()
	run := func(rate float64) []int {
		e := start(t, Config{ErrorRate: rate})
		var codes []int
		for i := 0; i < 200; i++ {
			path := "/"
			body := ""
			if i%2 == 1 {
				path, body = "/v2/models/model-echo/infer", inferBody("", 1)
			}
			a := e.do(t, map[bool]string{true: "POST", false: "GET"}[body != ""], path, body, "X-Request-Id", fmt.Sprintf("req-%d", i))
			if a.status == 500 && !strings.Contains(a.errorText(t), "injected failure") {
				t.Fatalf("500 without injected failure text: %s", a.body)
			}
			codes = append(codes, a.status)
		}
		return codes
	}
	count := func(codes []int) (n int) {
		for _, c := range codes {
			if c == 500 {
				n++
			}
		}
		return n
	}
	a, b := run(0.3), run(0.3)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same request ids failed differently on two servers")
	}
	if n := count(a); n < 35 || n > 85 {
		t.Fatalf("%d of 200 failed at ERROR_RATE=0.3", n)
	}
	if n := count(run(0)); n != 0 {
		t.Fatalf("%d failures at rate 0", n)
	}
	if n := count(run(1)); n != 200 {
		t.Fatalf("%d failures at rate 1", n)
	}
}
