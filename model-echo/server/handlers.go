package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
	"github.com/modelrollouts/modelrollouts/model-echo/recordring"
)

// handleRoot answers GET / with TARGET.
func (s *Server) handleRoot(x *exchange, r *http.Request) {
	if !s.misbehave(x, r) {
		return
	}
	h := x.Header()
	h["Content-Type"] = textPlain
	if len(s.targetBody) > 2048 {
		// Shorter bodies fit net/http's chunking buffer, and it sets
		// Content-Length itself: one header map entry less per request.
		h["Content-Length"] = s.targetLength
	}
	x.output, x.outputDigest = s.cfg.Target, s.targetDigest
	x.WriteHeader(http.StatusOK)
	x.Write(s.targetBody) // not io.WriteString: that copies the text per request
}

var (
	textPlain = []string{"text/plain; charset=utf-8"}
	appJSON   = []string{"application/json"}
)

// misbehave plays a bad release: it injects the configured latency and
// error rate. It reports whether the handler should go on answering.
func (s *Server) misbehave(x *exchange, r *http.Request) bool {
	if s.cfg.Latency > 0 && !s.waitLatency(r.Context(), s.cfg.Latency) {
		// Client gone (or server closing hard): nobody reads an answer.
		x.status, x.errMsg = 499, "client closed request during injected latency"
		return false
	}
	if s.cfg.ErrorRate > 0 && failureDraw(x.requestID) < s.cfg.ErrorRate {
		s.writeError(x, http.StatusInternalServerError, fmt.Sprintf("injected failure (ERROR_RATE=%g)", s.cfg.ErrorRate))
		return false
	}
	return true
}

// sleepUnlessDone waits d, or returns false as soon as ctx is done.
func sleepUnlessDone(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Server) handleServerMetadata(x *exchange, r *http.Request) {
	s.writeJSON(x, http.StatusOK, modelapi.ServerMetadata{Name: s.cfg.ModelName, Version: s.cfg.Version, Extensions: []string{}})
}

func (s *Server) handleLive(x *exchange, r *http.Request) {
	s.writeJSON(x, http.StatusOK, map[string]bool{"live": true})
}

func (s *Server) handleReady(x *exchange, r *http.Request) {
	if !s.Ready() {
		s.writeJSON(x, http.StatusServiceUnavailable, map[string]bool{"ready": false})
		return
	}
	s.writeJSON(x, http.StatusOK, map[string]bool{"ready": true})
}

// checkModel answers 404 unless the path names this model (and version).
func (s *Server) checkModel(x *exchange, r *http.Request) bool {
	if name := r.PathValue("name"); name != s.cfg.ModelName {
		s.writeError(x, http.StatusNotFound, fmt.Sprintf("unknown model %q (this server serves %q)", name, s.cfg.ModelName))
		return false
	}
	if v := r.PathValue("version"); v != "" && v != s.cfg.Version {
		s.writeError(x, http.StatusNotFound, fmt.Sprintf("unknown version %q of model %q (this server serves %q)", v, s.cfg.ModelName, s.cfg.Version))
		return false
	}
	return true
}

func (s *Server) handleModelMetadata(x *exchange, r *http.Request) {
	if s.checkModel(x, r) {
		s.writeJSON(x, http.StatusOK, s.metadata())
	}
}

func (s *Server) handleModelReady(x *exchange, r *http.Request) {
	if !s.checkModel(x, r) {
		return
	}
	ready := s.Ready()
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	s.writeJSON(x, status, struct {
		Name  string `json:"name"`
		Ready bool   `json:"ready"`
	}{s.cfg.ModelName, ready})
}

// inferAnswer is InferResponse with the outputs pre-encoded, so their
// digest and the body come from one encoding.
type inferAnswer struct {
	ModelName    string          `json:"model_name"`
	ModelVersion string          `json:"model_version"`
	ID           string          `json:"id,omitempty"`
	Outputs      json.RawMessage `json:"outputs"`
}

func (s *Server) handleInfer(x *exchange, r *http.Request) {
	if !s.checkModel(x, r) {
		return
	}
	body, ok := s.readBody(x, r)
	if !ok {
		return
	}
	if x.capture {
		x.inputBody = body // the handler's own slice: nothing reuses it
	}
	req, err := DecodeInferRequest(body)
	if err != nil {
		s.writeError(x, http.StatusBadRequest, err.Error())
		return
	}
	x.inputJSON = true
	if !s.misbehave(x, r) {
		return
	}
	resp, err := s.infer(req, x.requestID)
	if err != nil {
		s.writeError(x, http.StatusBadRequest, err.Error())
		return
	}
	outputs, err := json.Marshal(resp.Outputs)
	if err != nil { // cannot happen: infer rejects non-finite values
		s.writeError(x, http.StatusInternalServerError, "encoding outputs: "+err.Error())
		return
	}
	x.outputDigest = digest(outputs)
	s.writeJSON(x, http.StatusOK, inferAnswer{resp.ModelName, resp.ModelVersion, resp.ID, outputs})
}

// readBody reads a request body within MaxBodyBytes and records its digest.
// Failures are answered here: 413 too large, 408 too slow, 400 otherwise.
func (s *Server) readBody(x *exchange, r *http.Request) ([]byte, bool) {
	limit := s.cfg.MaxBodyBytes
	if r.ContentLength > limit {
		s.writeError(x, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body of %d bytes exceeds the limit of %d bytes", r.ContentLength, limit))
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(x, r.Body, limit))
	x.inputDigest = digest(body)
	if err == nil {
		return body, true
	}
	var tooBig *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.As(err, &tooBig):
		s.writeError(x, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds the limit of %d bytes", limit))
	case errors.As(err, &netErr) && netErr.Timeout():
		s.writeError(x, http.StatusRequestTimeout, "timed out reading the request body")
	default:
		s.writeError(x, http.StatusBadRequest, "reading the request body: "+err.Error())
	}
	return nil, false
}

func (s *Server) handleMetrics(x *exchange, r *http.Request) {
	s.metricsHandler.ServeHTTP(x, r)
}

// handleDebugRequests serves the ring: ?since=SEQ or ?since=RFC3339 time,
// ?id=REQUEST_ID, ?limit=N (newest N). Records are oldest first.
func (s *Server) handleDebugRequests(x *exchange, r *http.Request) {
	f, err := recordring.ParseFilter(r.URL.Query())
	if err != nil {
		s.writeError(x, http.StatusBadRequest, err.Error())
		return
	}
	s.writeJSON(x, http.StatusOK, s.ring.Snapshot(f))
}

func (s *Server) handleNotFound(x *exchange, r *http.Request) {
	s.writeError(x, http.StatusNotFound, fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path))
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// writeJSON encodes v and answers with it. Unless the handler set one, the
// output digest is of the whole body.
func (s *Server) writeJSON(x *exchange, status int, v any) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		buf.Reset()
		status = http.StatusInternalServerError
		x.errMsg = "encoding response: " + err.Error()
		json.NewEncoder(buf).Encode(modelapi.ErrorResponse{Error: x.errMsg})
	}
	if x.outputDigest == "" {
		x.outputDigest = digest(buf.Bytes())
	}
	if x.capture {
		x.outputBody = bytes.Clone(buf.Bytes()) // buf goes back to the pool
	}
	h := x.Header()
	h["Content-Type"] = appJSON
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	x.WriteHeader(status)
	x.Write(buf.Bytes())
}

// writeError answers {"error": msg}; msg names the problem and the field.
func (s *Server) writeError(x *exchange, status int, msg string) {
	x.errMsg = msg
	x.outputDigest = "" // the digest is of what was actually sent
	s.writeJSON(x, status, modelapi.ErrorResponse{Error: msg})
}
