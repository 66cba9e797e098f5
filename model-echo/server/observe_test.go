package server

import (
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

func TestRequestLogLine(t *testing.T) {
	t.Parallel()
	t.Run("NewLogger", func(t *testing.T) { testRequestLogLine(t, NewLogger) })
	t.Run("slog.JSONHandler", func(t *testing.T) { testRequestLogLine(t, slogJSON) })
}

func testRequestLogLine(t *testing.T, newLogger func(io.Writer) *slog.Logger) {
	e := startLogging(t, Config{Version: "v4", Bias: 2}, newLogger)
	body := inferBody("b1", 1, 2)
	e.do(t, "POST", "/v2/models/model-echo/infer", body, "X-Request-Id", "log-1", "Host", "model-echo.default.svc.cluster.local-shadow:8080")
	e.do(t, "GET", "/", "", "X-Request-Id", "log-2")
	e.do(t, "POST", "/v2/models/model-echo/infer", "{", "X-Request-Id", "log-3")

	lines := e.requestLines(t)
	if len(lines) != 3 {
		t.Fatalf("want one line per request, got %d: %v", len(lines), lines)
	}
	l := lines[0]
	want := map[string]any{
		"level": "INFO", "request_id": "log-1", "model": "model-echo", "version": "v4", "method": "POST",
		"route": modelapi.RouteInfer, "path": "/v2/models/model-echo/infer", "host": "model-echo.default.svc.cluster.local-shadow:8080",
		"mirrored": true, "status": float64(200), "input_sha256": digest([]byte(body)),
	}
	for k, v := range want {
		if l[k] != v {
			t.Errorf("log %s = %v (%T), want %v", k, l[k], l[k], v)
		}
	}
	if d, _ := l["output_sha256"].(string); len(d) != 64 {
		t.Errorf("output_sha256 = %v", l["output_sha256"])
	}
	if ms, ok := l["latency_ms"].(float64); !ok || ms < 0 {
		t.Errorf("latency_ms = %v", l["latency_ms"])
	}
	if l := lines[1]; l["output"] != "hello" || l["route"] != modelapi.RouteRoot || l["mirrored"] != false || l["input_sha256"] != emptyDigest {
		t.Errorf("GET / line %v", l)
	}
	if l := lines[2]; l["status"] != float64(400) || !strings.Contains(fmt.Sprint(l["error"]), "malformed JSON") {
		t.Errorf("bad request line %v", l)
	}
}

func scrape(t *testing.T, e *testEnv) map[string]*dto.MetricFamily {
	t.Helper()
	a := e.do(t, "GET", "/metrics", "", "Accept", "text/plain")
	if a.status != 200 {
		t.Fatalf("/metrics = %d", a.status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(a.body)))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	e := start(t, Config{Version: "v9"})
	for i := 0; i < 3; i++ {
		e.do(t, "GET", "/", "")
	}
	e.do(t, "POST", "/v2/models/model-echo/infer", inferBody("", 1))
	e.do(t, "POST", "/v2/models/model-echo/infer", "{")
	e.do(t, "POST", "/v2/models/model-echo/infer", "{")
	e.do(t, "DELETE", "/", "")
	e.do(t, "GET", "/random/path/1", "")
	e.do(t, "GET", "/random/path/2", "")
	e.do(t, "GET", "/v2/health/ready", "")

	fams := scrape(t, e)
	counts := map[string]float64{}
	for _, m := range fams[modelapi.MetricRequests].GetMetric() {
		l := labels(m)
		if l["version"] != "v9" {
			t.Errorf("series with version %q", l["version"])
		}
		if strings.Contains(l["route"], "random") || strings.Contains(l["route"], "model-echo") {
			t.Errorf("raw path in route label: %q", l["route"])
		}
		counts[l["route"]+" "+l["code"]] = m.GetCounter().GetValue()
	}
	for key, want := range map[string]float64{
		"/ 200": 3, "/ 405": 1, modelapi.RouteInfer + " 200": 1, modelapi.RouteInfer + " 400": 2,
		modelapi.RouteUnmatched + " 404": 2, "/v2/health/ready 200": 1,
		"/metrics 200": 0, // the scrape being served is counted after it is answered
	} {
		if counts[key] != want {
			t.Errorf("%s{route,code=%q} = %v, want %v (all: %v)", modelapi.MetricRequests, key, counts[key], want, counts)
		}
	}
	var rootCount uint64
	for _, m := range fams[modelapi.MetricDuration].GetMetric() {
		if l := labels(m); l["route"] == "/" && l["version"] == "v9" {
			rootCount = m.GetHistogram().GetSampleCount()
		}
	}
	if rootCount != 4 {
		t.Errorf("%s{route=/} count = %d, want 4", modelapi.MetricDuration, rootCount)
	}
	info := fams[modelapi.MetricInfo].GetMetric()
	if len(info) != 1 || labels(info[0])["version"] != "v9" || info[0].GetGauge().GetValue() != 1 {
		t.Errorf("%s = %v", modelapi.MetricInfo, info)
	}
	if d := fams[modelapi.MetricLogDropped].GetMetric(); len(d) != 1 || d[0].GetCounter().GetValue() != 0 {
		t.Errorf("%s = %v, want one series at 0", modelapi.MetricLogDropped, d)
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("Go runtime metrics missing")
	}
	// The scrape itself is counted once answered.
	if got := scrape(t, e); got[modelapi.MetricRequests] == nil {
		t.Fatal("second scrape lacks requests")
	}
}

func TestPrivateRegistriesPerServer(t *testing.T) {
	t.Parallel()
	a, b := start(t, Config{Version: "a"}), start(t, Config{Version: "b"})
	a.do(t, "GET", "/", "")
	for _, m := range scrape(t, b)[modelapi.MetricRequests].GetMetric() {
		if labels(m)["version"] != "b" {
			t.Fatalf("server b exports %v", labels(m))
		}
	}
}

func TestDebugRequests(t *testing.T) {
	t.Parallel()
	e := start(t, Config{Version: "v5"})
	e.do(t, "GET", "/", "", "X-Request-Id", "d-1")
	e.do(t, "POST", "/v2/models/model-echo/infer", inferBody("x", 1), "X-Request-Id", "d-2", "Host", "svc-shadow")
	e.do(t, "GET", "/v2/health/ready", "", "X-Request-Id", "probe")
	e.do(t, "GET", "/metrics", "", "X-Request-Id", "scrape")
	e.do(t, "GET", "/v2/models/model-echo", "", "X-Request-Id", "d-3")

	var recs []modelapi.RequestRecord
	e.do(t, "GET", "/debug/requests", "").json(t, &recs)
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.RequestID)
	}
	if strings.Join(ids, ",") != "d-1,d-2,d-3" {
		t.Fatalf("ring ids %v (probes, metrics and debug must be excluded)", ids)
	}
	r := recs[1]
	if r.Version != "v5" || r.Route != modelapi.RouteInfer || r.Status != 200 || !r.Mirrored || r.LatencyMS <= 0 ||
		len(r.OutputDigest) != 64 || r.InputDigest != digest([]byte(inferBody("x", 1))) || r.Seq != recs[0].Seq+1 {
		t.Fatalf("record %+v", r)
	}
	if recs[0].Output != "hello" || recs[0].Mirrored {
		t.Fatalf("GET / record %+v", recs[0])
	}

	var one []modelapi.RequestRecord
	e.do(t, "GET", "/debug/requests?id=d-2", "").json(t, &one)
	if len(one) != 1 || one[0].RequestID != "d-2" {
		t.Fatalf("?id= gave %+v", one)
	}
	var since []modelapi.RequestRecord
	e.do(t, "GET", fmt.Sprintf("/debug/requests?since=%d", recs[1].Seq), "").json(t, &since)
	if len(since) != 1 || since[0].RequestID != "d-3" {
		t.Fatalf("?since= gave %+v", since)
	}
	var byTime []modelapi.RequestRecord
	e.do(t, "GET", "/debug/requests?since="+url.QueryEscape(recs[2].Time.Format("2006-01-02T15:04:05.999999999Z07:00")), "").json(t, &byTime)
	if len(byTime) != 1 || byTime[0].RequestID != "d-3" {
		t.Fatalf("?since=time gave %+v", byTime)
	}
	var last []modelapi.RequestRecord
	e.do(t, "GET", "/debug/requests?limit=2", "").json(t, &last)
	if len(last) != 2 || last[1].RequestID != "d-3" {
		t.Fatalf("?limit= gave %+v", last)
	}
	for _, q := range []string{"since=yesterday", "limit=0", "limit=x"} {
		a := e.do(t, "GET", "/debug/requests?"+q, "")
		if a.status != 400 || !strings.HasPrefix(a.errorText(t), strings.Split(q, "=")[0]+":") {
			t.Errorf("?%s = %d %s", q, a.status, a.body)
		}
	}
	var none []modelapi.RequestRecord
	a := e.do(t, "GET", "/debug/requests?id=nope", "")
	a.json(t, &none)
	if string(a.body) != "[]\n" {
		t.Fatalf("no match must be an empty array, got %q", a.body)
	}
}

// Mirrored copies are counted apart from direct requests, the info metric
// names the process, and requests being served show in the in-flight
// gauge until they are answered: together they let a client count a
// shadow's copies over every pod and know when the count is final.
func TestMirroredInFlightAndHostnameMetrics(t *testing.T) {
	t.Parallel()
	logs := &logBuffer{}
	srv := New(Config{Target: "hello", Version: "v2", Hostname: "model-v2-7d9f-abcde", Latency: 300 * time.Millisecond}, NewLogger(logs))
	slow := holdLatency(srv, 3) // the fourth request stays in flight until released
	e := serveTest(t, srv, logs)
	shadowHost := "model.lab.test-shadow"
	e.do(t, "POST", "/v2/models/model-echo/infer", inferBody("", 1), "Host", shadowHost)
	e.do(t, "POST", "/v2/models/model-echo/infer", inferBody("", 1), "Host", shadowHost+":8080")
	e.do(t, "POST", "/v2/models/model-echo/infer", inferBody("", 1)) // direct, not mirrored

	done := make(chan struct{})
	go func() {
		defer close(done)
		e.do(t, "POST", "/v2/models/model-echo/infer", inferBody("", 1), "Host", shadowHost)
	}()
	slow.waitEntered(t)
	fams := scrape(t, e)
	sum := func(fams map[string]*dto.MetricFamily, name string) (s float64) {
		for _, m := range fams[name].GetMetric() {
			if labels(m)["route"] == modelapi.RouteInfer {
				s += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
		return s
	}
	if got := sum(fams, modelapi.MetricMirrored); got != 2 {
		t.Errorf("%s = %g while a third copy is in flight, want 2", modelapi.MetricMirrored, got)
	}
	for _, m := range fams[modelapi.MetricInFlight].GetMetric() {
		l := labels(m)
		if l["route"] != modelapi.RouteInfer {
			continue
		}
		want := map[string]float64{"true": 1, "false": 0}[l[modelapi.LabelMirrored]]
		if got := m.GetGauge().GetValue(); got != want {
			t.Errorf("%s%v = %g during a slow mirrored copy, want %g", modelapi.MetricInFlight, l, got, want)
		}
	}
	info := fams[modelapi.MetricInfo].GetMetric()
	if len(info) != 1 || labels(info[0])[modelapi.LabelHostname] != "model-v2-7d9f-abcde" {
		t.Errorf("info metric labels %v, want hostname", info)
	}
	close(slow.release)
	<-done
	fams = scrape(t, e)
	if got := sum(fams, modelapi.MetricMirrored); got != 3 {
		t.Errorf("%s = %g after the copy was answered, want 3", modelapi.MetricMirrored, got)
	}
	if got := sum(fams, modelapi.MetricInFlight); got != 0 {
		t.Errorf("%s = %g with nothing being served, want 0", modelapi.MetricInFlight, got)
	}
	if got := sum(fams, modelapi.MetricRequests); got != 4 {
		t.Errorf("%s = %g, want all 4 infer requests", modelapi.MetricRequests, got)
	}
}

func TestHostnameDefaultsToTheMachines(t *testing.T) {
	t.Parallel()
	want, _ := os.Hostname()
	if got := (Config{Target: "x"}).withDefaults().Hostname; got != want {
		t.Errorf("default hostname %q, want %q", got, want)
	}
}
