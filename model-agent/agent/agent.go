package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelrollouts/modelrollouts/model-echo/graceful"
	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
	"github.com/modelrollouts/modelrollouts/model-echo/payloadsink"
	"github.com/modelrollouts/modelrollouts/model-echo/recordring"
	"github.com/modelrollouts/modelrollouts/model-echo/servemetrics"
)

// Agent is the proxy, its metrics, debug ring, readiness and payload log.
// Create it with New; it is safe for concurrent use.
type Agent struct {
	cfg       Config
	logger    *slog.Logger
	upstream  *url.URL
	transport *http.Transport
	direct    *directTransport
	proxy     *httputil.ReverseProxy
	routes    map[string]*servemetrics.Route
	metrics   *servemetrics.Metrics
	promHTTP  http.Handler
	ring      *recordring.Ring
	payload   *payloadsink.Log // nil unless Config.PayloadLog
	stopping  atomic.Bool

	versionHeader []string
}

// New builds an Agent; zero optional Config fields get their defaults.
// logger nil discards logs; payload events go to stdout.
func New(cfg Config, logger *slog.Logger) (*Agent, error) {
	return NewWithPayloadWriter(cfg, logger, os.Stdout)
}

// NewWithPayloadWriter is New with the payload events written to w
// (tests read them there).
func NewWithPayloadWriter(cfg Config, logger *slog.Logger, w io.Writer) (*Agent, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	up, _ := upstreamURL(cfg.Upstream) // checked by Validate
	a := &Agent{
		cfg: cfg, logger: logger, upstream: up,
		routes:        map[string]*servemetrics.Route{},
		metrics:       servemetrics.New(cfg.ModelName, cfg.Version, cfg.Hostname),
		ring:          recordring.New(cfg.RingSize),
		versionHeader: []string{cfg.Version},
	}
	a.transport = &http.Transport{
		// Never a proxy from the environment: the model is in the pod.
		DialContext:         (&net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true, // bodies pass as they are
		// No ResponseHeaderTimeout: a slow model is the caller's to give up on.
	}
	a.direct = &directTransport{addr: up.Host, dial: a.transport.DialContext, fallback: a.transport}
	a.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(a.upstream)
			// The model sees the caller's Host: model-echo tells mirrored
			// copies by it, and a server may route by it.
			pr.Out.Host = pr.In.Host
			// The proxy wraps every body it forwards in a reader of its
			// own, which the transport cannot tell is in memory; hand it
			// the buffered bytes plainly (see bufferSmallBody).
			if b, ok := pr.In.Body.(*smallBody); ok {
				pr.Out.Body = io.NopCloser(bytes.NewReader(b.data))
				pr.Out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b.data)), nil }
			}
		},
		Transport:      a.direct,
		BufferPool:     bufferPool{},
		ModifyResponse: a.stampAnswer,
		ErrorHandler:   a.modelUnreachable,
		ErrorLog:       slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	for _, p := range modelapi.Routes {
		label := strings.TrimSuffix(p, "{$}")
		a.routes[label] = a.metrics.ForRoute(label)
	}
	a.routes[modelapi.RouteUnmatched] = a.metrics.ForRoute(modelapi.RouteUnmatched)
	if cfg.PayloadLog {
		a.startPayloadLog(w)
	}
	a.promHTTP = a.metrics.Handler()
	return a, nil
}

func (a *Agent) startPayloadLog(w io.Writer) {
	a.payload = payloadsink.New(w, payloadsink.Options{
		Model: a.cfg.ModelName, Version: a.cfg.Version, LoggerURL: a.cfg.LoggerURL, Warn: a.logger,
	})
	go a.payload.Run()
	a.metrics.Registry().MustRegister(a.payload.Collectors()...)
}

// Config returns the effective configuration.
func (a *Agent) Config() Config { return a.cfg }

// Registry is the agent's private Prometheus registry.
func (a *Agent) Registry() *prometheus.Registry { return a.metrics.Registry() }

// Records returns the debug ring, oldest first.
func (a *Agent) Records() []modelapi.RequestRecord { return a.ring.Snapshot(recordring.Filter{}) }

// FlushLogs returns once every request answered before the call is in
// the payload log's writer (and posted, with LOGGER_URL).
func (a *Agent) FlushLogs() {
	if a.payload != nil {
		a.payload.Flush()
	}
}

// Close writes the queued payload events and stops the background work;
// Serve calls it after shutdown.
func (a *Agent) Close() {
	if a.payload != nil {
		a.payload.Close()
	}
	a.direct.CloseIdleConnections()
}

// ServeHTTP serves the agent's own routes (metrics, debug records,
// readiness) and forwards everything else to the model.
func (a *Agent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	label := modelapi.RouteLabel(r.URL.Path)
	start := time.Now()
	mirrored := modelapi.IsMirroredHost(r.Host)
	rm := a.routes[label]
	inFlight := rm.InFlight(mirrored)
	inFlight.Inc()
	defer inFlight.Dec()

	id := r.Header.Get(modelapi.HeaderRequestID)
	if !modelapi.ValidRequestID(id) {
		id = modelapi.FormatRequestID(rand.Uint64(), rand.Uint64())
		r.Header[modelapi.HeaderRequestID] = []string{id} // the model gets it too
	}
	infer := modelapi.IsInferRoute(label)
	logged := infer && a.payload != nil
	keepOut := 0
	switch {
	case logged:
		keepOut = modelapi.PayloadMaxBodyBytes
	case infer:
		keepOut = maxDigestBody // for the outputs digest
	case label == modelapi.RouteRoot:
		keepOut = maxRecordedOutput
	}
	x := &exchange{ResponseWriter: w, status: http.StatusOK, out: newCapture(keepOut)}
	in := newCapture(0)
	if logged {
		in.limit = modelapi.PayloadMaxBodyBytes
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = &teeBody{ReadCloser: r.Body, c: in}
	}

	defer func() {
		// The proxy aborts the connection (panics with ErrAbortHandler)
		// when the model's answer breaks off after it began: count it
		// before passing the panic on.
		p := recover()
		if p != nil {
			x.errMsg = "the model's answer broke off: " + fmt.Sprint(p)
		}
		// Before the handler returns, so before the answer's last bytes
		// leave (net/http sends them then): a caller that has the
		// whole answer finds its record, metrics and payload events.
		a.account(r, rm, x, in, id, start, mirrored, logged)
		if p != nil {
			panic(p)
		}
	}()
	switch label {
	case modelapi.PathMetrics:
		stamp(x.Header(), a.versionHeader, id)
		a.promHTTP.ServeHTTP(x, r)
	case modelapi.PathDebugRequests:
		stamp(x.Header(), a.versionHeader, id)
		a.handleDebugRequests(x, r)
	case modelapi.PathReady:
		stamp(x.Header(), a.versionHeader, id)
		a.handleReady(x, r)
	default:
		// A model may answer while the body is still arriving (streaming
		// models do): without full duplex, net/http would close the body
		// once the answer starts.
		http.NewResponseController(w).EnableFullDuplex()
		if a.bufferSmallBody(x, r) {
			a.proxy.ServeHTTP(x, r)
		}
	}
}

// Bounds of the answer bytes kept for the debug record when no payload
// log wants them: an infer answer up to this size gets model-echo's
// outputs digest (a larger one the digest of its bytes), and GET / up to
// maxRecordedOutput is recorded as text.
const (
	maxDigestBody     = 64 << 10
	maxRecordedOutput = 1 << 10
)

// account does what follows every answer: metrics, the debug record and
// the payload log.
func (a *Agent) account(r *http.Request, rm *servemetrics.Route, x *exchange, in *capture, id string, start time.Time, mirrored, logged bool) {
	if r.Context().Err() != nil && x.status == http.StatusOK && !x.wroteHeader {
		x.status = modelapi.StatusClientGone
	}
	elapsed := time.Since(start)
	rm.Done(x.status, elapsed, mirrored)
	if modelapi.IsInfraRoute(rm.Label) && !logged {
		return
	}
	inDigest, input, inCut := in.result()
	outDigest, output, outCut := x.out.result()
	rec := modelapi.RequestRecord{
		Time: start, RequestID: id, Model: a.cfg.ModelName, Version: a.cfg.Version,
		Method: r.Method, Route: rm.Label, Path: r.URL.Path, Host: r.Host, Mirrored: mirrored,
		Status: x.status, InputDigest: inDigest, OutputDigest: outDigest, Error: x.errMsg,
		LatencyMS: float64(elapsed.Microseconds()) / 1000,
	}
	if modelapi.IsInferRoute(rm.Label) && !outCut && x.status == http.StatusOK {
		if d, ok := outputsDigest(output); ok {
			rec.OutputDigest = d
		}
	}
	if rm.Label == modelapi.RouteRoot && !outCut {
		rec.Output = string(output)
	}
	a.ring.Add(&rec)
	if logged {
		a.payload.Offer(payloadsink.Exchange{
			RequestID: id, Mirrored: mirrored, Start: start, Latency: elapsed, Status: x.status,
			Input: input, InputCut: inCut, Output: output, OutputCut: outCut,
		})
	}
}

// stampAnswer puts the contract's headers on the model's answer; they
// replace any the model set.
func (a *Agent) stampAnswer(resp *http.Response) error {
	stamp(resp.Header, a.versionHeader, resp.Request.Header.Get(modelapi.HeaderRequestID))
	return nil
}

func stamp(h http.Header, version []string, id string) {
	h[modelapi.HeaderModelVersion] = version
	h[modelapi.HeaderRequestID] = []string{id}
}

// maxBufferedBody is the largest request body, of a length the caller
// announced, that the agent reads whole before forwarding it.
const maxBufferedBody = 64 << 10

// bufferSmallBody reads a small request body of known length whole before
// it is forwarded. The transport sends a body it cannot tell is in memory
// only after flushing the headers on their own, so a streamed body costs
// the model's connection two or three writes where a buffered one costs
// one: about a quarter of the agent's CPU per small request. Larger
// bodies and bodies of unknown length (chunked) stream as before. It
// reports false when the body broke off, having answered for it.
func (a *Agent) bufferSmallBody(x *exchange, r *http.Request) bool {
	if r.ContentLength <= 0 || r.ContentLength > maxBufferedBody || r.Body == nil || r.Body == http.NoBody {
		return true
	}
	buf := make([]byte, r.ContentLength)
	n, err := io.ReadFull(r.Body, buf)
	if err == nil {
		r.Body = &smallBody{Reader: bytes.NewReader(buf), data: buf}
		return true
	}
	msg := fmt.Sprintf("model-agent: the request body broke off after %d of the %d bytes its Content-Length announced: %v", n, r.ContentLength, err)
	x.errMsg = msg
	stamp(x.Header(), a.versionHeader, r.Header.Get(modelapi.HeaderRequestID))
	// Answered even when the server already calls the caller gone: a
	// caller that only half-closed its side still reads the answer.
	writeJSON(x, http.StatusBadRequest, modelapi.ErrorResponse{Error: msg})
	if r.Context().Err() != nil {
		x.status = modelapi.StatusClientGone // recorded as a caller who left
	}
	return false
}

// smallBody is a request body bufferSmallBody read whole.
type smallBody struct {
	*bytes.Reader
	data []byte
}

func (*smallBody) Close() error { return nil }

// modelUnreachable answers when the model gave no answer: 502 with a JSON
// error saying why, or nothing when the caller left or timed out first
// (recorded as modelapi.StatusClientGone).
func (a *Agent) modelUnreachable(w http.ResponseWriter, r *http.Request, err error) {
	x := w.(*exchange)
	if r.Context().Err() != nil {
		x.status, x.errMsg = modelapi.StatusClientGone, "the caller left before the model answered"
		return
	}
	msg := fmt.Sprintf("model-agent: the model at %s gave no answer: %v", a.upstream.Host, unwrapURLError(err))
	x.errMsg = msg
	stamp(x.Header(), a.versionHeader, r.Header.Get(modelapi.HeaderRequestID))
	writeJSON(x, http.StatusBadGateway, modelapi.ErrorResponse{Error: msg})
	a.logger.Warn("model gave no answer", "request_id", r.Header.Get(modelapi.HeaderRequestID), "error", err.Error())
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// handleReady answers readiness by asking the model's own readiness path:
// ready while the model says 2xx and the agent is not shutting down.
func (a *Agent) handleReady(x *exchange, r *http.Request) {
	if a.stopping.Load() {
		writeJSON(x, http.StatusServiceUnavailable, readiness{Ready: false, Reason: "shutting down"})
		return
	}
	if reason := a.modelReady(r.Context()); reason != "" {
		writeJSON(x, http.StatusServiceUnavailable, readiness{Ready: false, Reason: reason})
		return
	}
	writeJSON(x, http.StatusOK, readiness{Ready: true})
}

type readiness struct {
	Ready  bool   `json:"ready"`
	Reason string `json:"reason,omitempty"`
}

// modelReady returns why the model is not ready, or "".
func (a *Agent) modelReady(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.ReadinessTimeout)
	defer cancel()
	u := *a.upstream
	u.Path = a.cfg.ReadinessPath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err.Error()
	}
	resp, err := a.transport.RoundTrip(req)
	if err != nil {
		return fmt.Sprintf("GET %s on the model: %v", a.cfg.ReadinessPath, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Sprintf("GET %s on the model answered %s", a.cfg.ReadinessPath, resp.Status)
	}
	return ""
}

// bufferPool lends the proxy its copy buffers, so streaming a body costs
// no allocation per request.
type bufferPool struct{}

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *copyBuffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { copyBuffers.Put(&b) }

// HTTPServer returns an http.Server for a. It has no read or write
// timeout: bodies stream, and how long an answer may take is the caller's
// to decide; only slow headers and idle connections are bounded.
func (a *Agent) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           a,
		ReadHeaderTimeout: a.cfg.ReadHeaderTimeout,
		IdleTimeout:       a.cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn),
	}
}

// ListenAndServe listens on addr and serves until ctx is cancelled.
func (a *Agent) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return a.Serve(ctx, ln)
}

// Serve serves on ln until ctx is cancelled, then: readiness false, wait
// ShutdownDelay, let in-flight requests finish within ShutdownTimeout,
// write the queued payload events. It returns nil after a clean shutdown.
func (a *Agent) Serve(ctx context.Context, ln net.Listener) error {
	hs := a.HTTPServer(ln.Addr().String())
	a.logger.Info("serving", "addr", ln.Addr().String(), "upstream", a.upstream.Host, "version", a.cfg.Version, "payload_log", a.cfg.PayloadLog)
	return graceful.Serve(ctx, hs, ln, graceful.Shutdown{
		Delay: a.cfg.ShutdownDelay, Timeout: a.cfg.ShutdownTimeout,
		NotReady: func() { a.stopping.Store(true) },
		Stopped: func() {
			a.Close()
			a.logger.Info("stopped")
		},
	})
}
