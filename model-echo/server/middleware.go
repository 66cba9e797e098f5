package server

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
	"github.com/modelrollouts/modelrollouts/model-echo/payloadsink"
	"github.com/modelrollouts/modelrollouts/model-echo/servemetrics"
)

// routeKind decides what the instrumentation does beyond counting.
type routeKind int

const (
	kindModel   routeKind = iota // model answers: latency/error injection, recorded
	kindAPI                      // other OIP calls and 404s: recorded
	kindInfra                    // probes, /metrics, /debug: counted and logged, not recorded
	kindNoRoute                  // unknown path: recorded under route "unmatched"
)

// route is one registered pattern with its cached metric children.
type route struct {
	label   string   // route label: the pattern without method, never a raw path
	methods []string // allowed methods (nil: any); GET implies HEAD
	allow   string   // Allow header for 405s
	kind    routeKind
	handle  func(x *exchange, r *http.Request)
	metrics *servemetrics.Route
	payload bool // inference: bodies go to the payload log when it is on
}

func (rt *route) allows(method string) bool {
	if rt.methods == nil {
		return true
	}
	for _, m := range rt.methods {
		if m == method || (m == http.MethodGet && method == http.MethodHead) {
			return true
		}
	}
	return false
}

// exchange wraps the ResponseWriter of one request and collects what the
// log line, the metrics and the debug ring need. Handlers get it directly
// instead of through the request context, which would cost allocations.
type exchange struct {
	http.ResponseWriter
	status       int
	wroteHeader  bool
	requestID    string
	inputDigest  string
	outputDigest string
	output       string
	errMsg       string
	// capture asks handlers for the bodies the payload log needs: the
	// request body as read, and a copy of the answer.
	capture    bool
	inputBody  []byte
	inputJSON  bool // inputBody decoded as an infer request: valid JSON
	outputBody []byte
}

var exchangePool = sync.Pool{New: func() any { return new(exchange) }}

func (x *exchange) WriteHeader(code int) {
	if !x.wroteHeader {
		x.status, x.wroteHeader = code, true
	}
	x.ResponseWriter.WriteHeader(code)
}

func (x *exchange) Write(p []byte) (int, error) {
	if !x.wroteHeader {
		x.WriteHeader(http.StatusOK)
	}
	return x.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (x *exchange) Unwrap() http.ResponseWriter { return x.ResponseWriter }

// emptyDigest is sha256 of no bytes, the input digest of bodiless requests.
var emptyDigest = digest(nil)

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// serve runs one request through a route: request id and version headers,
// method check, the handler, then metrics, the log line and the ring.
func (s *Server) serve(rt *route, w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	mirrored := modelapi.IsMirroredHost(r.Host)
	inFlight := rt.metrics.InFlight(mirrored)
	inFlight.Inc()
	defer inFlight.Dec()
	x := exchangePool.Get().(*exchange)
	*x = exchange{ResponseWriter: w, status: http.StatusOK, capture: rt.payload && s.payload != nil}
	defer exchangePool.Put(x)

	x.requestID = r.Header.Get(modelapi.HeaderRequestID)
	if !validRequestID(x.requestID) {
		x.requestID = s.newRequestID()
	}
	h := w.Header()
	h[modelapi.HeaderModelVersion] = s.versionHeader
	h[modelapi.HeaderRequestID] = []string{x.requestID}

	func() {
		// A handler bug must not kill the connection silently and skip
		// the accounting below.
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.logger.Error("handler panic", "request_id", x.requestID, "route", rt.label, "panic", fmt.Sprint(p))
				if !x.wroteHeader {
					s.writeError(x, http.StatusInternalServerError, "internal error")
				} else {
					x.status, x.errMsg = http.StatusInternalServerError, "internal error"
				}
			}
		}()
		if !rt.allows(r.Method) {
			h.Set("Allow", rt.allow)
			s.writeError(x, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s (allowed: %s)", r.Method, rt.label, rt.allow))
			return
		}
		rt.handle(x, r)
	}()

	if x.inputDigest == "" {
		x.inputDigest = s.bodyDigest(r)
	}
	elapsed := time.Since(start)
	rt.metrics.Done(x.status, elapsed, mirrored)

	rec := modelapi.RequestRecord{
		Time:         start,
		RequestID:    x.requestID,
		Model:        s.cfg.ModelName,
		Version:      s.cfg.Version,
		Method:       r.Method,
		Route:        rt.label,
		Path:         r.URL.Path,
		Host:         r.Host,
		Mirrored:     mirrored,
		Status:       x.status,
		InputDigest:  x.inputDigest,
		OutputDigest: x.outputDigest,
		Output:       x.output,
		Error:        x.errMsg,
		LatencyMS:    float64(elapsed.Microseconds()) / 1000,
	}
	if s.reqLog != nil {
		s.reqLog.log(&rec)
	}
	if rt.kind != kindInfra {
		s.ring.Add(&rec)
	}
	if x.capture {
		s.payload.Offer(payloadsink.Exchange{
			RequestID: x.requestID, Mirrored: rec.Mirrored, Start: start, Latency: elapsed, Status: x.status,
			Input: x.inputBody, InputJSON: x.inputJSON, Output: x.outputBody, OutputJSON: true, // writeJSON's
		})
	}
}

// bodyDigest hashes a body the handler did not read (rare: GET with body).
func (s *Server) bodyDigest(r *http.Request) string {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return emptyDigest
	}
	h := sha256.New()
	io.Copy(h, io.LimitReader(r.Body, s.cfg.MaxBodyBytes)) // best effort: a digest of what arrived
	return hex.EncodeToString(h.Sum(nil))
}

// validRequestID is the contract's rule (modelapi.ValidRequestID), shared
// with model-agent.
func validRequestID(id string) bool { return modelapi.ValidRequestID(id) }

// newRequestID makes a random UUIDv4 like Envoy's. math/rand/v2's global
// source is a per-thread ChaCha8 seeded from the OS: unique enough for ids
// and much cheaper than a syscall per request. With a seed, the ids come
// from it in the order requests arrive.
func (s *Server) newRequestID() string {
	if s.ids != nil {
		return formatRequestID(s.ids.next())
	}
	return formatRequestID(rand.Uint64(), rand.Uint64())
}

// seededIDs is a seeded source of request ids, shared by all requests.
type seededIDs struct {
	mu  sync.Mutex
	rng *rand.Rand
}

func newSeededIDs(seed uint64) *seededIDs {
	return &seededIDs{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (g *seededIDs) next() (hi, lo uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rng.Uint64(), g.rng.Uint64()
}

// formatRequestID spells 128 random bits as a UUIDv4.
func formatRequestID(hi, lo uint64) string { return modelapi.FormatRequestID(hi, lo) }

// failureDraw maps a request id to [0,1) deterministically, so ERROR_RATE
// fails the same requests on every run (and on primary and shadow alike).
func failureDraw(requestID string) float64 {
	h := fnv.New64a()
	h.Write([]byte(requestID))
	// splitmix64's finaliser: FNV alone mixes the high bits of similar
	// ids (UUIDs differing in a few characters) poorly.
	z := h.Sum64()
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11) / (1 << 53)
}
