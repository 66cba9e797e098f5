package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelrollouts/modelrollouts/model-echo/graceful"
	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
	"github.com/modelrollouts/modelrollouts/model-echo/payloadsink"
	"github.com/modelrollouts/modelrollouts/model-echo/recordring"
	"github.com/modelrollouts/modelrollouts/model-echo/servemetrics"
)

// Server is the model-echo HTTP handler plus its metrics, debug ring and
// readiness. Create it with New; it is safe for concurrent use.
type Server struct {
	cfg            Config
	logger         *slog.Logger
	reqLog         *requestLog      // nil when the logger discards Info
	payload        *payloadsink.Log // nil unless Config.PayloadLog
	mux            *http.ServeMux
	metrics        *servemetrics.Metrics
	metricsHandler http.Handler
	ring           *recordring.Ring
	ready          atomic.Bool
	root           *route // GET /, served without the mux (see ServeHTTP)
	// waitLatency waits out Config.Latency, or returns false when the
	// request is gone first. Tests replace it (before serving) to hold a
	// request exactly as long as they need instead of racing a timer.
	waitLatency func(ctx context.Context, d time.Duration) bool
	// waitShutdownDelay waits out Config.ShutdownDelay; tests replace it
	// to look at the server during the delay.
	waitShutdownDelay func(d time.Duration)

	// precomputed per-response values (the hot path allocates little)
	versionHeader []string
	targetBody    []byte
	targetLength  []string
	targetDigest  string

	// ids draws request ids when Config.RequestIDSeed is set; nil: random.
	ids *seededIDs
}

// New builds a Server. Zero optional Config fields get their defaults; an
// invalid Config (see Config.Validate) is a programming error and panics.
// The Server starts ready. A nil logger discards logs.
func New(cfg Config, logger *slog.Logger) *Server {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		panic("server.New: " + err.Error())
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:               cfg,
		logger:            logger,
		mux:               http.NewServeMux(),
		metrics:           servemetrics.New(cfg.ModelName, cfg.Version, cfg.Hostname),
		ring:              recordring.New(cfg.RingSize),
		versionHeader:     []string{cfg.Version},
		targetBody:        []byte(cfg.Target),
		targetLength:      []string{strconv.Itoa(len(cfg.Target))},
		targetDigest:      digest([]byte(cfg.Target)),
		waitLatency:       sleepUnlessDone,
		waitShutdownDelay: time.Sleep,
	}
	if cfg.RequestIDSeed != 0 {
		s.ids = newSeededIDs(cfg.RequestIDSeed)
	}
	if logger.Enabled(context.Background(), slog.LevelInfo) {
		s.reqLog = newRequestLog(logger, cfg, requestLogQueue)
		go s.reqLog.run()
	}
	s.metrics.Registry().MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: modelapi.MetricLogDropped,
		Help: "Request log lines dropped because the background logger's queue was full.",
	}, s.logDropped))
	if cfg.PayloadLog {
		s.startPayloadLog(logger)
	}
	s.metricsHandler = s.metrics.Handler()
	s.ready.Store(true)

	get, post := []string{http.MethodGet}, []string{http.MethodPost}
	s.root = s.route("/{$}", get, kindModel, s.handleRoot)
	s.route(modelapi.PathServerMetadata, get, kindAPI, s.handleServerMetadata)
	s.route(modelapi.PathLive, get, kindInfra, s.handleLive)
	s.route(modelapi.PathReady, get, kindInfra, s.handleReady)
	s.route("/v2/models/{name}", get, kindAPI, s.handleModelMetadata)
	s.route("/v2/models/{name}/ready", get, kindInfra, s.handleModelReady)
	s.route("/v2/models/{name}/infer", post, kindModel, s.handleInfer).payload = true
	s.route("/v2/models/{name}/versions/{version}", get, kindAPI, s.handleModelMetadata)
	s.route("/v2/models/{name}/versions/{version}/ready", get, kindInfra, s.handleModelReady)
	s.route("/v2/models/{name}/versions/{version}/infer", post, kindModel, s.handleInfer).payload = true
	s.route(modelapi.PathMetrics, get, kindInfra, s.handleMetrics)
	s.route(modelapi.PathDebugRequests, get, kindInfra, s.handleDebugRequests)
	s.route("/", nil, kindNoRoute, s.handleNotFound)
	return s
}

// route registers a pattern (without method: methods are checked by
// serve, so wrong ones get a JSON 405 with Allow rather than ServeMux's
// plain-text one).
func (s *Server) route(pattern string, methods []string, kind routeKind, h func(*exchange, *http.Request)) *route {
	label := strings.TrimSuffix(pattern, "{$}")
	allow := strings.Join(methods, ", ")
	if kind == kindNoRoute {
		label, methods = modelapi.RouteUnmatched, nil // any method gets the 404
	} else if len(methods) == 1 && methods[0] == http.MethodGet {
		allow = "GET, HEAD"
	}
	rt := &route{
		label:   label,
		methods: methods,
		allow:   allow,
		kind:    kind,
		handle:  h,
		metrics: s.metrics.ForRoute(label),
	}
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { s.serve(rt, w, r) })
	return rt
}

// ServeHTTP implements http.Handler. Path "/" can only match "/{$}", so
// the hot GET / skips the mux's matching (CONNECT aside, which the mux
// routes by host).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/" && r.Method != http.MethodConnect {
		s.serve(s.root, w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Config returns the effective configuration (defaults applied).
func (s *Server) Config() Config { return s.cfg }

// SetReady sets what /v2/health/ready answers.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// Ready reports readiness.
func (s *Server) Ready() bool { return s.ready.Load() }

// FlushLogs returns once every request finished before the call has been
// handed to the logger (whose writer may still buffer it: see LogWriter).
func (s *Server) FlushLogs() {
	if s.reqLog != nil {
		s.reqLog.flush()
	}
	if s.payload != nil {
		s.payload.Flush()
	}
}

// Close writes the queued request log lines and stops the background
// logger; Serve calls it after shutdown. Call it once no requests are
// being served: lines logged later are written synchronously, and one
// logged concurrently with Close may be lost. Close is idempotent.
func (s *Server) Close() {
	if s.reqLog != nil {
		s.reqLog.close()
	}
	if s.payload != nil {
		s.payload.Close()
	}
}

// startPayloadLog writes payload events where NewLogger's logger writes
// (stdout, batched, in main), or to os.Stdout under any other logger, and
// exports its drop and failure counts.
func (s *Server) startPayloadLog(logger *slog.Logger) {
	var w io.Writer = os.Stdout
	if lh, ok := logger.Handler().(*lineHandler); ok {
		w = lh.w
	}
	s.payload = payloadsink.New(w, payloadsink.Options{
		Model: s.cfg.ModelName, Version: s.cfg.Version, LoggerURL: s.cfg.LoggerURL, Warn: logger,
	})
	go s.payload.Run()
	s.metrics.Registry().MustRegister(s.payload.Collectors()...)
}

func (s *Server) logDropped() float64 {
	if s.reqLog == nil {
		return 0
	}
	return float64(s.reqLog.dropped.Load())
}

// Registry is the server's private Prometheus registry.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.Registry() }

// Records returns the debug ring's records, oldest first (what
// GET /debug/requests answers without filters).
func (s *Server) Records() []modelapi.RequestRecord { return s.ring.Snapshot(recordring.Filter{}) }

// HTTPServer returns an http.Server for s with the configured timeouts,
// which bound slow or stalled clients.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
}

// ListenAndServe listens on addr and serves until ctx is cancelled, then
// shuts down gracefully (see Serve).
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx is cancelled. Shutdown then goes: readiness
// false, wait ShutdownDelay (still serving, so balancers can notice), stop
// accepting and let in-flight requests finish within ShutdownTimeout, then
// return. It returns nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := s.HTTPServer(ln.Addr().String())
	s.SetReady(true)
	s.logger.Info("serving", "addr", ln.Addr().String(), "model", s.cfg.ModelName, "version", s.cfg.Version)
	return graceful.Serve(ctx, hs, ln, graceful.Shutdown{
		Delay: s.cfg.ShutdownDelay, Timeout: s.cfg.ShutdownTimeout, Wait: s.waitShutdownDelay,
		NotReady: func() {
			s.SetReady(false)
			s.logger.Info("shutting down", "delay", s.cfg.ShutdownDelay.String(), "timeout", s.cfg.ShutdownTimeout.String())
		},
		Stopped: func() {
			s.Close() // no more requests: write the queued log lines
			s.logger.Info("stopped")
		},
	})
}
