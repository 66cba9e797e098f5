package rollout

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/storage"

	"github.com/modelrollouts/modelrollouts/internal/gate"
	"github.com/modelrollouts/modelrollouts/stacks"
)

// engineQuerier answers queries with Prometheus' own PromQL engine over
// synthetic series: the queries are tested as Prometheus runs them.
type engineQuerier struct {
	engine *promql.Engine
	store  storage.Queryable
}

func (e engineQuerier) Query(ctx context.Context, q string, ts time.Time) (model.Vector, error) {
	qry, err := e.engine.NewInstantQuery(ctx, e.store, nil, q, ts)
	if err != nil {
		return nil, err
	}
	defer qry.Close()
	res := qry.Exec(ctx)
	if res.Err != nil {
		return nil, res.Err
	}
	vec, err := res.Vector()
	if err != nil {
		return nil, err
	}
	out := make(model.Vector, 0, len(vec))
	for _, s := range vec {
		m := model.Metric{}
		s.Metric.Range(func(l labels.Label) { m[model.LabelName(l.Name)] = model.LabelValue(l.Value) })
		out = append(out, &model.Sample{Metric: m, Value: model.SampleValue(s.F), Timestamp: model.Time(s.T)})
	}
	return out, nil
}

// series writes promqltest load lines for one version's queue-proxy
// histogram: perMinute answers a minute for 20 minutes, failed of them
// 5xx, spread over buckets (seconds → share of answers at most that slow).
func knativeSeries(config string, perMinute, failedPerMinute int, cumulative map[string]float64) string {
	var b strings.Builder
	for _, code := range []struct {
		code string
		n    int
	}{{"200", perMinute - failedPerMinute}, {"500", failedPerMinute}} {
		lbl := fmt.Sprintf(`kn_configuration_name=%q,kn_revision_name="%s-00001",http_response_status_code=%q`, config, config, code.code)
		fmt.Fprintf(&b, "  kn_serving_invocation_duration_seconds_count{%s} 0+%dx20\n", lbl, code.n)
		for le, share := range cumulative {
			fmt.Fprintf(&b, "  kn_serving_invocation_duration_seconds_bucket{%s,le=%q} 0+%gx20\n", lbl, le, share*float64(code.n))
		}
	}
	return b.String()
}

// fast answers mostly within 25 ms; slow is the same shifted to twice the
// bounds.
var (
	fast = map[string]float64{"0.005": 0, "0.01": 0.05, "0.025": 0.9, "0.05": 0.99, "0.1": 1, "0.25": 1, "0.5": 1, "1": 1, "+Inf": 1}
	slow = map[string]float64{"0.005": 0, "0.01": 0, "0.025": 0.05, "0.05": 0.9, "0.1": 0.99, "0.25": 1, "0.5": 1, "1": 1, "+Inf": 1}
)

func promLab(t *testing.T, load string, m MeshMetrics) *Prometheus {
	t.Helper()
	store := promqltest.LoadedStorage(t, "load 1m\n"+load)
	engine := promqltest.NewTestEngine(t, false, 5*time.Minute, 1_000_000)
	return &Prometheus{
		URL: "engine", Querier: engineQuerier{engine, store}, Metrics: m, Window: 10 * time.Minute,
		Service: "model", Now: func() time.Time { return time.Unix(0, 0).Add(20 * time.Minute) },
	}
}

func promOutputs() *stacks.Outputs {
	ten, ninety := 10, 90
	return &stacks.Outputs{
		Strategy: stacks.StrategyCanary, IngressURL: "http://127.0.0.1:1", Host: "model.models.example.com",
		Versions: map[string]stacks.VersionOutput{"v1": {Percent: &ninety}, "v2": {Percent: &ten}},
		Split:    map[string]int{"v1": 90, "v2": 10},
		Rollout:  &stacks.RolloutOutput{Candidate: "v2", Baseline: "v1"},
	}
}

func checkProm(t *testing.T, p *Prometheus) *Report {
	t.Helper()
	rep, err := Check(context.Background(), CheckOptions{Outputs: promOutputs(), Settings: gate.DefaultSettings, Metrics: p})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestPrometheusQueriesCountEachVersionsTrafficOverTheWindow(t *testing.T) {
	p := promLab(t, knativeSeries("model-v1", 1000, 0, fast)+knativeSeries("model-v2", 120, 3, fast), KnativeMetrics)
	c, b, err := p.Arms(context.Background(), "v2", "v1", gate.DefaultSettings)
	if err != nil {
		t.Fatal(err)
	}
	// 10 minutes of the 20: 1200 answers of v2, 30 of them 5xx.
	if c.Requests != 1200 || c.Failures != 30 || b.Requests != 10000 || b.Failures != 0 {
		t.Fatalf("candidate %d/%d failed, baseline %d/%d: want 30/1200 and 0/10000", c.Failures, c.Requests, b.Failures, b.Requests)
	}
}

func TestPrometheusVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name string
		v2   string
		want gate.Verdict
		crit string
	}{
		{"equal", knativeSeries("model-v2", 1000, 0, fast), gate.Promote, ""},
		{"2x slower", knativeSeries("model-v2", 1000, 0, slow), gate.Rollback, gate.CritLatency},
		{"3% failing", knativeSeries("model-v2", 1000, 30, fast), gate.Rollback, gate.CritSuccess},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := checkProm(t, promLab(t, knativeSeries("model-v1", 1000, 0, fast)+tc.v2, KnativeMetrics))
			if rep.Result.Verdict != tc.want {
				t.Fatalf("verdict %s (%s), want %s", rep.Result.Verdict, rep.Result.Reason, tc.want)
			}
			for _, c := range rep.Result.Criteria {
				if c.Name == tc.crit && c.State != gate.Rollback {
					t.Errorf("%s %s, want broken", c.Name, c.State)
				}
			}
			if !strings.HasPrefix(rep.Data, "metrics: engine knative metrics over the last 10m") {
				t.Errorf("data %q", rep.Data)
			}
		})
	}
}

func TestPrometheusWithoutEnoughTrafficIsInconclusive(t *testing.T) {
	// v2 got 3 requests a minute: 30 in the window, below minRequests.
	rep := checkProm(t, promLab(t, knativeSeries("model-v1", 1000, 0, fast)+knativeSeries("model-v2", 3, 0, fast), KnativeMetrics))
	if rep.Result.Verdict != gate.Inconclusive || rep.ExitCode() != ExitInconclusive {
		t.Fatalf("verdict %s, want inconclusive", rep.Result.Verdict)
	}
	if !strings.Contains(strings.Join(rep.Notes, " "), "more traffic, not more probes") {
		t.Errorf("notes %q", rep.Notes)
	}
}

func TestIstioMetricsAreInMillisecondsByDestinationService(t *testing.T) {
	var load strings.Builder
	for _, v := range []struct {
		svc  string
		code string
		n    int
	}{{"model-v1-00001", "200", 1000}, {"model-v2-00001-private", "200", 970}, {"model-v2-00001-private", "503", 30}, {"activator-service", "200", 500}} {
		lbl := fmt.Sprintf(`reporter="source",destination_service_name=%q,response_code=%q`, v.svc, v.code)
		fmt.Fprintf(&load, "  istio_request_duration_milliseconds_count{%s} 0+%dx20\n", lbl, v.n)
		for le, share := range map[string]float64{"10": 0.1, "25": 0.9, "50": 1, "500": 1, "1000": 1, "+Inf": 1} {
			fmt.Fprintf(&load, "  istio_request_duration_milliseconds_bucket{%s,le=%q} 0+%gx20\n", lbl, le, share*float64(v.n))
		}
	}
	p := promLab(t, load.String(), IstioMetrics)
	c, b, err := p.Arms(context.Background(), "v2", "v1", gate.DefaultSettings)
	if err != nil {
		t.Fatal(err)
	}
	if c.Requests != 10000 || c.Failures != 300 || b.Requests != 10000 {
		t.Fatalf("candidate %d/%d, baseline %d: want 300/10000 and 10000 (the activator's series are no version's)", c.Failures, c.Requests, b.Requests)
	}
	if c.Slow != 0 {
		t.Errorf("slow %d: le is in ms, nothing is above 500 ms", c.Slow)
	}
}

// The real client against an HTTP endpoint that answers from the engine,
// in the Prometheus API's JSON.
func TestPrometheusHTTPClientReadsTheAPI(t *testing.T) {
	p := promLab(t, knativeSeries("model-v1", 1000, 0, fast)+knativeSeries("model-v2", 1000, 0, fast), KnativeMetrics)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		vec, err := p.Querier.Query(r.Context(), r.Form.Get("query"), p.Now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "vector", "result": vec}})
	}))
	defer srv.Close()
	real, err := NewPrometheus(srv.URL, "knative", 10*time.Minute, promOutputs())
	if err != nil {
		t.Fatal(err)
	}
	real.Now = p.Now
	c, b, err := real.Arms(context.Background(), "v2", "v1", gate.DefaultSettings)
	if err != nil {
		t.Fatal(err)
	}
	if c.Requests != 10000 || b.Requests != 10000 {
		t.Fatalf("requests %d and %d over HTTP, want 10000 each", c.Requests, b.Requests)
	}
	if _, err := NewPrometheus(srv.URL, "linkerd", 10*time.Minute, promOutputs()); err == nil || !strings.Contains(err.Error(), "want knative or istio") {
		t.Errorf("unknown flavour: %v", err)
	}
}

// Several pods per version: each pod's queue-proxy keeps its own series,
// and a pod that restarts starts its counters again at 0. The queries sum
// the pods and count across the restart.
func TestPrometheusSumsEveryPodOfAVersionAcrossARestart(t *testing.T) {
	var load strings.Builder
	load.WriteString(knativeSeries("model-v1", 1000, 0, fast))
	for _, pod := range []struct{ name, ok, failed string }{
		{"model-v2-00001-deployment-a", "0+60x20", "0+0x20"},
		// Restarted at minute 15: the counters begin again.
		{"model-v2-00001-deployment-b", "0+57x14 0+57x5", "0+3x14 0+3x5"},
	} {
		for _, code := range []struct{ code, series string }{{"200", pod.ok}, {"500", pod.failed}} {
			lbl := fmt.Sprintf(`kn_configuration_name="model-v2",kn_revision_name="model-v2-00001",k8s_pod_name=%q,http_response_status_code=%q`, pod.name, code.code)
			fmt.Fprintf(&load, "  kn_serving_invocation_duration_seconds_count{%s} %s\n", lbl, code.series)
			fmt.Fprintf(&load, "  kn_serving_invocation_duration_seconds_bucket{%s,le=\"+Inf\"} %s\n", lbl, code.series)
			fmt.Fprintf(&load, "  kn_serving_invocation_duration_seconds_bucket{%s,le=\"0.025\"} %s\n", lbl, code.series)
		}
	}
	p := promLab(t, load.String(), KnativeMetrics)
	c, _, err := p.Arms(context.Background(), "v2", "v1", gate.DefaultSettings)
	if err != nil {
		t.Fatal(err)
	}
	// 10 minutes of both pods: 1200 answers, 30 failed; the restart's
	// own minute is lost to increase(), so allow a tenth less.
	if c.Requests < 1080 || c.Requests > 1200 || c.Failures < 24 || c.Failures > 30 {
		t.Fatalf("candidate %d/%d failed, want about 30/1200 from both pods", c.Failures, c.Requests)
	}
}
