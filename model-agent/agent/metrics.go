package agent

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// durationBuckets are model-echo's, so a dashboard reads both alike.
var durationBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// metrics are model-echo's series (modelapi's names and labels) in a
// private registry per Agent, so tests can run several in one process.
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
			Help:    "HTTP request latency in seconds through the agent, by model version and route pattern.",
			Buckets: durationBuckets,
		}, []string{modelapi.LabelVersion, modelapi.LabelRoute}),
	}
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: modelapi.MetricInfo,
		Help: "Always 1; labels say which model and version this process serves.",
		ConstLabels: prometheus.Labels{"model": cfg.ModelName, modelapi.LabelVersion: cfg.Version,
			modelapi.LabelHostname: cfg.Hostname},
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

// routeMetrics are one route's series, looked up once: the request path
// hashes no label values except for a status code seen the first time.
type routeMetrics struct {
	label    string
	version  string
	m        *metrics
	inFlight [2]prometheus.Gauge // direct, mirrored
	observe  prometheus.Observer
	codes    sync.Map // int -> prometheus.Counter
}

func (m *metrics) forRoute(version, label string) *routeMetrics {
	rm := &routeMetrics{
		label: label, version: version, m: m,
		inFlight: [2]prometheus.Gauge{
			m.inFlight.WithLabelValues(version, label, "false"),
			m.inFlight.WithLabelValues(version, label, "true"),
		},
		observe: m.duration.WithLabelValues(version, label),
	}
	rm.counter(http.StatusOK) // a zero series from the start, so rate() works
	return rm
}

func (rm *routeMetrics) counter(code int) prometheus.Counter {
	if c, ok := rm.codes.Load(code); ok {
		return c.(prometheus.Counter)
	}
	c, _ := rm.codes.LoadOrStore(code, rm.m.requests.WithLabelValues(rm.version, rm.label, strconv.Itoa(code)))
	return c.(prometheus.Counter)
}

// countMirrored counts a mirrored copy; rare enough for a lookup per call.
func (rm *routeMetrics) countMirrored(code int) {
	rm.m.mirrored.WithLabelValues(rm.version, rm.label, strconv.Itoa(code)).Inc()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
