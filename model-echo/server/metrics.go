package server

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// Sub-millisecond buckets matter here: the service itself answers in
// microseconds, and injected latency reaches seconds.
var durationBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// metrics holds one private registry per Server, so several servers can
// run in one process (tests) without colliding on the default registry.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	mirrored *prometheus.CounterVec
	inFlight *prometheus.GaugeVec
	duration *prometheus.HistogramVec
}

func newMetrics(cfg Config) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: modelapi.MetricRequests,
			Help: "HTTP requests served, by model version, route pattern and status code.",
		}, []string{"version", "route", "code"}),
		mirrored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: modelapi.MetricMirrored,
			Help: "Mirrored copies (Istio shadow traffic) among the requests served, by model version, route pattern and status code.",
		}, []string{modelapi.LabelVersion, modelapi.LabelRoute, modelapi.LabelCode}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: modelapi.MetricInFlight,
			Help: "Requests being served, by model version, route pattern and whether they are mirrored copies.",
		}, []string{modelapi.LabelVersion, modelapi.LabelRoute, modelapi.LabelMirrored}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    modelapi.MetricDuration,
			Help:    "HTTP request latency in seconds, by model version and route pattern.",
			Buckets: durationBuckets,
		}, []string{"version", "route"}),
	}
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        modelapi.MetricInfo,
		Help:        "Always 1; labels say which model and version this process serves.",
		ConstLabels: prometheus.Labels{"model": cfg.ModelName, "version": cfg.Version, modelapi.LabelHostname: cfg.Hostname},
	})
	info.Set(1)
	m.reg.MustRegister(m.requests, m.mirrored, m.inFlight, m.duration, info,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// routeMetrics caches the label lookups of one route, so the hot path does
// no hashing of label values: the histogram child is fixed, and counters
// per status code live in a copy-on-write map read without locks.
type routeMetrics struct {
	version, route string
	requests       *prometheus.CounterVec
	mirrored       *prometheus.CounterVec
	inFlight       [2]prometheus.Gauge // direct, mirrored
	observe        prometheus.Observer
	ok             prometheus.Counter // code 200, the common case: no map lookup
	mu             sync.Mutex         // serialises writers of codes
	codes          atomic.Pointer[map[int]prometheus.Counter]
}

func (m *metrics) forRoute(version, route string) *routeMetrics {
	rm := &routeMetrics{
		version:  version,
		route:    route,
		requests: m.requests,
		mirrored: m.mirrored,
		inFlight: [2]prometheus.Gauge{m.inFlight.WithLabelValues(version, route, "false"), m.inFlight.WithLabelValues(version, route, "true")},
		observe:  m.duration.WithLabelValues(version, route),
	}
	empty := map[int]prometheus.Counter{}
	rm.codes.Store(&empty)
	rm.ok = rm.counter(http.StatusOK) // also exports a zero series, so rate() works from the start
	return rm
}

func (rm *routeMetrics) counter(code int) prometheus.Counter {
	if code == http.StatusOK && rm.ok != nil {
		return rm.ok
	}
	if c, ok := (*rm.codes.Load())[code]; ok {
		return c
	}
	rm.mu.Lock()
	defer rm.mu.Unlock()
	old := *rm.codes.Load()
	if c, ok := old[code]; ok {
		return c
	}
	c := rm.requests.WithLabelValues(rm.version, rm.route, strconv.Itoa(code))
	next := make(map[int]prometheus.Counter, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[code] = c
	rm.codes.Store(&next)
	return c
}

// countMirrored counts a mirrored copy; rare enough that the label lookup
// per call does not matter.
func (rm *routeMetrics) countMirrored(code int) {
	rm.mirrored.WithLabelValues(rm.version, rm.route, strconv.Itoa(code)).Inc()
}
