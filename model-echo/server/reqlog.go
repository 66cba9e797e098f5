package server

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/modelrollouts/modelrollouts/model-echo/jsonlines"
	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

const (
	// requestLogQueue is how many request records may wait for the
	// background logger (about 1 MiB); beyond that, lines are dropped and
	// counted rather than making requests wait for the log.
	requestLogQueue = 4096
	// requestLogBatch bounds the bytes encoded before a write.
	requestLogBatch = 64 << 10
)

// requestLog writes the one-line-per-request log off the request path:
// serve hands it a RequestRecord (a copy, no formatting) and a background
// goroutine encodes and writes the lines in batches. Formatting on the
// request path was most of model-echo's overhead over a bare handler.
type requestLog struct {
	q       *jsonlines.Queue[modelapi.RequestRecord]
	closed  atomic.Bool
	dropped atomic.Uint64 // lines not logged because the queue was full
	drops   jsonlines.DropReport

	// Exactly one of enc and h formats lines on the background goroutine.
	// After Close, lines go synchronously through h.
	enc *lineEncoder // our own JSON encoder, when the logger is NewLogger's
	h   slog.Handler // the request logger's handler (model, version attached)
}

// newRequestLog does not start the background goroutine; run does.
func newRequestLog(logger *slog.Logger, cfg Config, queue int) *requestLog {
	l := &requestLog{
		drops: jsonlines.DropReport{Warn: logger, Msg: "request log lines dropped: the log could not keep up"},
		h:     logger.With(slog.String("model", cfg.ModelName), slog.String("version", cfg.Version)).Handler(),
	}
	if lh, ok := logger.Handler().(*lineHandler); ok {
		l.enc = newLineEncoder(lh.w, cfg.ModelName, cfg.Version)
	}
	l.q = jsonlines.NewQueue(queue, func(v modelapi.RequestRecord) { l.emit(&v) }, l.batchDone)
	return l
}

// log queues rec, or counts it as dropped when the queue is full.
func (l *requestLog) log(rec *modelapi.RequestRecord) {
	if l.closed.Load() {
		l.h.Handle(context.Background(), slogRecord(rec))
		return
	}
	if !l.q.Offer(*rec) {
		l.dropped.Add(1)
	}
}

func (l *requestLog) run() { l.q.Run() }

// flush returns once every record queued before the call is written to
// the logger (the logger's writer may still buffer it: see LogWriter).
func (l *requestLog) flush() { l.q.Flush() }

// close writes what is queued and stops the goroutine. Records logged
// afterwards are written synchronously. Call it once the HTTP server has
// stopped: a record queued concurrently with close may be lost.
func (l *requestLog) close() {
	l.closed.Store(true)
	l.q.Close()
}

// batchDone writes out the batch's lines, then reports new drops.
func (l *requestLog) batchDone() {
	if l.enc != nil {
		l.enc.flush()
	}
	l.drops.Report(l.dropped.Load())
}

func (l *requestLog) emit(rec *modelapi.RequestRecord) {
	if l.enc != nil {
		l.enc.encode(rec)
		return
	}
	l.h.Handle(context.Background(), slogRecord(rec))
}

// slogRecord is rec as a "request" log record for any slog handler; the
// time is when the request arrived, as in the debug ring.
func slogRecord(rec *modelapi.RequestRecord) slog.Record {
	r := slog.NewRecord(rec.Time, slog.LevelInfo, "request", 0)
	r.AddAttrs(
		slog.String("request_id", rec.RequestID),
		slog.String("method", rec.Method),
		slog.String("route", rec.Route),
		slog.String("path", rec.Path),
		slog.String("host", rec.Host),
		slog.Bool("mirrored", rec.Mirrored),
		slog.Int("status", rec.Status),
		slog.String("input_sha256", rec.InputDigest),
		slog.String("output_sha256", rec.OutputDigest),
		slog.Float64("latency_ms", rec.LatencyMS),
	)
	if rec.Output != "" {
		r.AddAttrs(slog.String("output", rec.Output))
	}
	if rec.Error != "" {
		r.AddAttrs(slog.String("error", rec.Error))
	}
	return r
}

// lineHandler is NewLogger's handler: slog's JSON handler, plus the
// writer, so a Server can encode request lines itself (see lineEncoder).
type lineHandler struct {
	*slog.JSONHandler
	w io.Writer
}

// lineEncoder writes request lines in the shape slog's JSON handler gives
// them (same keys and order) for a fraction of its cost: no reflection,
// no attribute values, one write per batch.
type lineEncoder struct {
	w      io.Writer
	prefix string // `,"level":"INFO","msg":"request","model":...,"version":...`
	buf    []byte
}

func newLineEncoder(w io.Writer, model, version string) *lineEncoder {
	p := jsonlines.AppendString([]byte(`,"level":"INFO","msg":"request","model":`), model)
	p = jsonlines.AppendString(append(p, `,"version":`...), version)
	return &lineEncoder{w: w, prefix: string(p), buf: make([]byte, 0, requestLogBatch+4096)}
}

func (e *lineEncoder) encode(rec *modelapi.RequestRecord) {
	b := append(e.buf, `{"time":"`...)
	b = rec.Time.AppendFormat(b, time.RFC3339Nano) // as slog's JSON handler
	b = append(b, '"')
	b = append(b, e.prefix...)
	b = jsonlines.AppendString(append(b, `,"request_id":`...), rec.RequestID)
	b = jsonlines.AppendString(append(b, `,"method":`...), rec.Method)
	b = jsonlines.AppendString(append(b, `,"route":`...), rec.Route)
	b = jsonlines.AppendString(append(b, `,"path":`...), rec.Path)
	b = jsonlines.AppendString(append(b, `,"host":`...), rec.Host)
	b = strconv.AppendBool(append(b, `,"mirrored":`...), rec.Mirrored)
	b = strconv.AppendInt(append(b, `,"status":`...), int64(rec.Status), 10)
	b = jsonlines.AppendString(append(b, `,"input_sha256":`...), rec.InputDigest)
	b = jsonlines.AppendString(append(b, `,"output_sha256":`...), rec.OutputDigest)
	b = strconv.AppendFloat(append(b, `,"latency_ms":`...), rec.LatencyMS, 'f', -1, 64)
	if rec.Output != "" {
		b = jsonlines.AppendString(append(b, `,"output":`...), rec.Output)
	}
	if rec.Error != "" {
		b = jsonlines.AppendString(append(b, `,"error":`...), rec.Error)
	}
	e.buf = append(b, "}\n"...)
	if len(e.buf) >= requestLogBatch {
		e.flush()
	}
}

// flush writes whole lines only, so they never interleave with other
// writers of w (LogWriter serialises Write calls).
func (e *lineEncoder) flush() {
	if len(e.buf) > 0 {
		e.w.Write(e.buf) // like slog: a failing log write is not the request's problem
		e.buf = e.buf[:0]
	}
}
