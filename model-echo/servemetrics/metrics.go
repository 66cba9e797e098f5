// Package servemetrics is the model contract's request metrics
// (modelapi.MetricRequests, MetricMirrored, MetricInFlight, MetricDuration
// and MetricInfo, with modelapi's labels), kept by model-echo and by
// model-agent in front of any model, so a dashboard, smoke and the gate
// read both alike.
package servemetrics

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// Sub-millisecond buckets matter here: model-echo answers in
// microseconds, and injected latency reaches seconds.
var durationBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Metrics holds one private registry per server, so several can run in
// one process (tests) without colliding on the default registry.
type Metrics struct {
	reg      *prometheus.Registry
	version  string
	requests *prometheus.CounterVec
	mirrored *prometheus.CounterVec
	inFlight *prometheus.GaugeVec
	duration *prometheus.HistogramVec
}

// New registers the series of a process serving model at version;
// hostname tells pods of one version apart in the info metric.
func New(model, version, hostname string) *Metrics {
	m := &Metrics{
		reg:     prometheus.NewRegistry(),
		version: version,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: modelapi.MetricRequests,
			Help: "HTTP requests answered, by model version, route pattern and status code (499: the caller left first).",
		}, []string{modelapi.LabelVersion, modelapi.LabelRoute, modelapi.LabelCode}),
		mirrored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: modelapi.MetricMirrored,
			Help: "Mirrored copies (Istio shadow traffic) among the requests answered, by model version, route pattern and status code.",
		}, []string{modelapi.LabelVersion, modelapi.LabelRoute, modelapi.LabelCode}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: modelapi.MetricInFlight,
			Help: "Requests being answered, by model version, route pattern and whether they are mirrored copies.",
		}, []string{modelapi.LabelVersion, modelapi.LabelRoute, modelapi.LabelMirrored}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    modelapi.MetricDuration,
			Help:    "HTTP request latency in seconds, by model version and route pattern.",
			Buckets: durationBuckets,
		}, []string{modelapi.LabelVersion, modelapi.LabelRoute}),
	}
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: modelapi.MetricInfo,
		Help: "Always 1; labels say which model and version this process serves.",
		ConstLabels: prometheus.Labels{"model": model, modelapi.LabelVersion: version,
			modelapi.LabelHostname: hostname},
	})
	info.Set(1)
	m.reg.MustRegister(m.requests, m.mirrored, m.inFlight, m.duration, info,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the private registry; owners add their own series to it.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry (GET /metrics).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Route is one route's series, looked up once, so the request path
// hashes no label values: the histogram child is fixed, and counters per
// status code live in a copy-on-write map read without locks.
type Route struct {
	Label    string // the route label: a contract pattern, never a raw path
	m        *Metrics
	inFlight [2]prometheus.Gauge // direct, mirrored
	observe  prometheus.Observer
	ok       prometheus.Counter // code 200, the common case: no map lookup
	mu       sync.Mutex         // serialises writers of codes
	codes    atomic.Pointer[map[int]prometheus.Counter]
}

// ForRoute makes the series of one route label.
func (m *Metrics) ForRoute(label string) *Route {
	rt := &Route{
		Label: label, m: m,
		inFlight: [2]prometheus.Gauge{
			m.inFlight.WithLabelValues(m.version, label, "false"),
			m.inFlight.WithLabelValues(m.version, label, "true"),
		},
		observe: m.duration.WithLabelValues(m.version, label),
	}
	empty := map[int]prometheus.Counter{}
	rt.codes.Store(&empty)
	rt.ok = rt.counter(http.StatusOK) // also exports a zero series, so rate() works from the start
	return rt
}

// InFlight is the gauge of requests being answered, direct or mirrored.
func (rt *Route) InFlight(mirrored bool) prometheus.Gauge {
	if mirrored {
		return rt.inFlight[1]
	}
	return rt.inFlight[0]
}

// Done counts an answered request: its status, its latency and, for a
// mirrored copy, the mirrored counter.
func (rt *Route) Done(status int, elapsed time.Duration, mirrored bool) {
	rt.counter(status).Inc()
	rt.observe.Observe(elapsed.Seconds())
	if mirrored {
		// Rare enough that the label lookup per call does not matter.
		rt.m.mirrored.WithLabelValues(rt.m.version, rt.Label, strconv.Itoa(status)).Inc()
	}
}

func (rt *Route) counter(code int) prometheus.Counter {
	if code == http.StatusOK && rt.ok != nil {
		return rt.ok
	}
	if c, ok := (*rt.codes.Load())[code]; ok {
		return c
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	old := *rt.codes.Load()
	if c, ok := old[code]; ok {
		return c
	}
	c := rt.m.requests.WithLabelValues(rt.m.version, rt.Label, strconv.Itoa(code))
	next := make(map[int]prometheus.Counter, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[code] = c
	rt.codes.Store(&next)
	return c
}
