package rollout

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/modelrollouts/modelrollouts/internal/gate"
	"github.com/modelrollouts/modelrollouts/stacks"
)

// Querier evaluates an instant PromQL query to a vector.
type Querier interface {
	Query(ctx context.Context, query string, ts time.Time) (model.Vector, error)
}

// MeshMetrics names the request counts and duration histograms by
// revision that a flavour of mesh metrics keeps.
type MeshMetrics struct {
	Name string
	// Count and Bucket are the histogram's _count and _bucket series.
	Count, Bucket string
	// Version selects one version's series (a label matcher list without
	// braces), given its Knative Configuration's name.
	Version func(configuration string) string
	// Failed selects failed answers (5xx).
	Failed string
	// BucketScale turns the le label into seconds.
	BucketScale float64
}

// Knative's queue-proxy, in every revision's pod (Knative ≥ 1.19 exports
// OpenTelemetry's kn.serving.invocation.duration, in seconds).
var KnativeMetrics = MeshMetrics{
	Name:   "knative",
	Count:  "kn_serving_invocation_duration_seconds_count",
	Bucket: "kn_serving_invocation_duration_seconds_bucket",
	Version: func(configuration string) string {
		return fmt.Sprintf("kn_configuration_name=%q", configuration)
	},
	Failed:      `http_response_status_code=~"5.."`,
	BucketScale: 1,
}

// Istio's standard metrics as the ingress gateway reports them: Knative
// routes a version to its revisions' Services, named <configuration>-00001
// (and -private behind the activator). Durations are in milliseconds.
var IstioMetrics = MeshMetrics{
	Name:   "istio",
	Count:  "istio_request_duration_milliseconds_count",
	Bucket: "istio_request_duration_milliseconds_bucket",
	Version: func(configuration string) string {
		return fmt.Sprintf(`reporter="source",destination_service_name=~%q`, configuration+`-[0-9]+(-private)?`)
	},
	Failed:      `response_code=~"5.."`,
	BucketScale: 0.001,
}

// Prometheus judges versions from a Prometheus server's mesh metrics
// over the window ending now.
type Prometheus struct {
	URL     string
	Querier Querier
	Metrics MeshMetrics
	Window  time.Duration
	// Service is the Knative Route's name; a version's Configuration is
	// <service>-<version>.
	Service string
	Now     func() time.Time
}

// NewPrometheus reads the metrics of the stack o from the server at url.
func NewPrometheus(url, flavour string, window time.Duration, o *stacks.Outputs) (*Prometheus, error) {
	var m MeshMetrics
	switch flavour {
	case KnativeMetrics.Name:
		m = KnativeMetrics
	case IstioMetrics.Name:
		m = IstioMetrics
	default:
		return nil, fmt.Errorf("unknown --metrics %q, want knative or istio", flavour)
	}
	if window < time.Minute {
		return nil, fmt.Errorf("--window %s is too short for rate windows, want at least 1m", window)
	}
	c, err := promapi.NewClient(promapi.Config{Address: url, RoundTripper: &http.Transport{Proxy: http.ProxyFromEnvironment}})
	if err != nil {
		return nil, fmt.Errorf("prometheus %s: %w", url, err)
	}
	service, _, _ := strings.Cut(o.Host, ".")
	return &Prometheus{URL: url, Querier: apiQuerier{promv1.NewAPI(c)}, Metrics: m, Window: window, Service: service, Now: time.Now}, nil
}

func (p *Prometheus) String() string {
	return fmt.Sprintf("%s %s metrics over the last %s", p.URL, p.Metrics.Name, p.Window)
}

// Queries are the three PromQL queries that measure one version.
func (p *Prometheus) Queries(version string) (requests, failures, buckets string) {
	sel := p.Metrics.Version(p.Service + "-" + version)
	w := model.Duration(p.Window).String()
	requests = fmt.Sprintf("sum(increase(%s{%s}[%s]))", p.Metrics.Count, sel, w)
	failures = fmt.Sprintf("sum(increase(%s{%s,%s}[%s]))", p.Metrics.Count, sel, p.Metrics.Failed, w)
	buckets = fmt.Sprintf("sum by (le) (increase(%s{%s}[%s]))", p.Metrics.Bucket, sel, w)
	return
}

// Arms measures both versions.
func (p *Prometheus) Arms(ctx context.Context, candidate, baseline string, s gate.Settings) (gate.Arm, gate.Arm, error) {
	c, err := p.arm(ctx, candidate, s)
	if err != nil {
		return gate.Arm{}, gate.Arm{}, err
	}
	b, err := p.arm(ctx, baseline, s)
	return c, b, err
}

func (p *Prometheus) arm(ctx context.Context, version string, s gate.Settings) (gate.Arm, error) {
	now := p.Now()
	qr, qf, qb := p.Queries(version)
	requests, err := p.scalar(ctx, qr, now)
	if err != nil {
		return gate.Arm{}, err
	}
	failures, err := p.scalar(ctx, qf, now)
	if err != nil {
		return gate.Arm{}, err
	}
	vec, err := p.Querier.Query(ctx, qb, now)
	if err != nil {
		return gate.Arm{}, fmt.Errorf("prometheus query %s: %w", qb, err)
	}
	var buckets []gate.Bucket
	for _, smp := range vec {
		le, err := strconv.ParseFloat(string(smp.Metric[model.BucketLabel]), 64)
		if err != nil {
			return gate.Arm{}, fmt.Errorf("prometheus query %s: bucket with le %q: %w", qb, smp.Metric[model.BucketLabel], err)
		}
		if !math.IsInf(le, 1) {
			le *= p.Metrics.BucketScale
		}
		buckets = append(buckets, gate.Bucket{UpperBound: le, Count: math.Round(float64(smp.Value))})
	}
	sort.Slice(buckets, func(i, j int) bool { return buckets[i].UpperBound < buckets[j].UpperBound })
	n := int(math.Round(requests))
	if n > 0 && len(buckets) == 0 {
		return gate.Arm{}, fmt.Errorf("prometheus has %d requests of %s but no duration buckets (%s)", n, version, qb)
	}
	return gate.HistogramArm(version, n, int(math.Round(failures)), buckets, s.MaxP99), nil
}

// scalar runs a query of one sum; no series means no traffic (0).
func (p *Prometheus) scalar(ctx context.Context, q string, ts time.Time) (float64, error) {
	vec, err := p.Querier.Query(ctx, q, ts)
	if err != nil {
		return 0, fmt.Errorf("prometheus query %s: %w", q, err)
	}
	switch len(vec) {
	case 0:
		return 0, nil
	case 1:
		return float64(vec[0].Value), nil
	}
	return 0, fmt.Errorf("prometheus query %s returned %d series, want one sum", q, len(vec))
}

// apiQuerier asks a Prometheus server's HTTP API.
type apiQuerier struct{ api promv1.API }

func (a apiQuerier) Query(ctx context.Context, q string, ts time.Time) (model.Vector, error) {
	v, _, _, err := a.api.Query(ctx, q, ts)
	if err != nil {
		return nil, err
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("got a %s, want a vector", v.Type())
	}
	return vec, nil
}
