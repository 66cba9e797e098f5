package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

const (
	// payloadQueue bounds the exchanges waiting to be encoded, and
	// payloadQueueBytes the bodies they hold: the container's memory limit
	// is 64 MiB and a body may be 1 MiB. Beyond either, events are dropped
	// and counted rather than making requests wait.
	payloadQueue      = 2048
	payloadQueueBytes = 8 << 20
	// payloadPostQueue and payloadPostBytes bound what waits for the
	// LOGGER_URL sink; a slow or dead sink only loses its own copies.
	payloadPostQueue   = 1024
	payloadPostBytes   = 8 << 20
	payloadPostWorkers = 2
	payloadPostTimeout = 5 * time.Second
	// payloadPostDrain bounds how long shutdown waits for the sink to take
	// what is queued; the rest is dropped and counted, stdout has it all.
	payloadPostDrain = 2 * time.Second
	// payloadBatch bounds the bytes encoded before a write to the log.
	payloadBatch = 64 << 10
)

// Label values of MetricPayloadDropped: the queue that was full.
const (
	payloadQueueLog  = "log"  // before encoding: no sink gets the events
	payloadQueueHTTP = "http" // LOGGER_URL's queue: only the sink misses them
)

// payloadExchange is what one inference request leaves for the payload
// log: the request path copies nothing but the answer (its buffer is
// pooled); the request body is the handler's own slice.
type payloadExchange struct {
	requestID string
	mirrored  bool
	start     time.Time
	latency   time.Duration
	status    int
	input     []byte
	inputJSON bool // input decoded as JSON, so only newlines need care
	// output is what writeJSON sent: JSON on one line, plus a newline.
	output []byte
}

func (p *payloadExchange) size() int64 { return int64(len(p.input) + len(p.output)) }

// payloadLog turns payload exchanges into CloudEvents off the request
// path: one goroutine encodes the JSON lines and writes them in batches to
// the log writer (stdout), and hands each event to the LOGGER_URL sender
// when there is one.
type payloadLog struct {
	q       *batchQueue[payloadExchange]
	queued  atomic.Int64  // body bytes waiting in the queue
	dropped atomic.Uint64 // events dropped at the log queue
	drops   dropReport
	closing sync.Once

	enc    payloadEncoder
	w      io.Writer
	sender *payloadSender // nil without LOGGER_URL
}

// newPayloadLog does not start the background goroutine; run does.
func newPayloadLog(w io.Writer, warn *slog.Logger, cfg Config, queue int) *payloadLog {
	l := &payloadLog{
		drops: dropReport{warn: warn, msg: "payload events dropped: the payload log could not keep up"},
		enc:   newPayloadEncoder(cfg.ModelName, cfg.Version),
		w:     w,
	}
	if cfg.LoggerURL != "" {
		l.sender = newPayloadSender(cfg.LoggerURL, warn)
	}
	l.q = newBatchQueue(queue, func(v payloadExchange) { l.emit(&v) }, l.batchDone)
	return l
}

// log queues an exchange, or counts its two events as dropped.
func (l *payloadLog) log(p payloadExchange) {
	n := p.size()
	if l.queued.Add(n) > payloadQueueBytes || !l.q.offer(p) {
		l.queued.Add(-n)
		l.dropped.Add(2)
	}
}

func (l *payloadLog) run() { l.q.run() }

// batchDone writes out the batch's events, then reports new drops.
func (l *payloadLog) batchDone() {
	l.writeOut()
	l.drops.report(l.dropped.Load())
}

func (l *payloadLog) emit(p *payloadExchange) {
	l.queued.Add(-p.size())
	l.enc.encode(p)
	if l.sender != nil {
		l.sender.send(l.enc.event(p, false))
		l.sender.send(l.enc.event(p, true))
	}
	if l.enc.buf.Len() >= payloadBatch {
		l.writeOut()
	}
}

// writeOut writes whole lines only, so they never interleave with the
// request log's batches (LogWriter serialises Write calls).
func (l *payloadLog) writeOut() {
	if l.enc.buf.Len() > 0 {
		l.w.Write(l.enc.buf.Bytes()) // a failing log write is not the request's problem
		l.enc.buf.Reset()
	}
}

// flush returns once every exchange logged before the call is written
// to the log and, with LOGGER_URL, posted (or failed).
func (l *payloadLog) flush() {
	l.flushLog()
	if l.sender != nil {
		l.sender.flush()
	}
}

// flushLog is flush without waiting for the sink.
func (l *payloadLog) flushLog() { l.q.flush() }

// close writes what is queued, lets the sender deliver what it holds
// (each POST is bounded by its timeout) and stops both. Exchanges logged
// later are dropped and counted: after Close no request should arrive.
func (l *payloadLog) close() {
	l.closing.Do(func() {
		l.q.close()
		if l.sender != nil {
			l.sender.close()
		}
	})
}

func (l *payloadLog) droppedTotal(queue string) float64 {
	switch {
	case queue == payloadQueueLog:
		return float64(l.dropped.Load())
	case l.sender != nil:
		return float64(l.sender.dropped.Load())
	}
	return 0
}

func (l *payloadLog) postFailures() float64 {
	if l.sender == nil {
		return 0
	}
	return float64(l.sender.failed.Load())
}

// payloadEncoder writes events as CloudEvents JSON lines, with the members
// in modelapi.PayloadEvent's order, without reflection.
type payloadEncoder struct {
	model, version string
	// fixed is `,"inferenceservicename":...,"component":...,"modelversion":...`.
	fixed []byte
	buf   bytes.Buffer
}

func newPayloadEncoder(model, version string) payloadEncoder {
	f := appendJSONString([]byte(`,"`+modelapi.ExtInferenceService+`":`), model)
	f = appendJSONString(append(f, `,"`+modelapi.ExtComponent+`":`...), modelapi.EventComponent)
	f = appendJSONString(append(f, `,"`+modelapi.ExtModelVersion+`":`...), version)
	return payloadEncoder{model: model, version: version, fixed: f}
}

func (e *payloadEncoder) encode(p *payloadExchange) {
	e.line(p, false)
	e.line(p, true)
}

// line appends one event: the request (its time is the arrival) or the
// response (its time is the answer's, with status and latency).
func (e *payloadEncoder) line(p *payloadExchange, response bool) {
	b := e.buf.AvailableBuffer()
	b = append(b, `{"specversion":"`+modelapi.CloudEventsSpecVersion+`","id":`...)
	b = appendJSONString(b, p.requestID)
	b = appendJSONString(append(b, `,"source":`...), e.version)
	typ, at, body, known := modelapi.EventTypeRequest, p.start, p.input, p.inputJSON
	if response {
		// The answer is our own encoding: JSON with one trailing newline.
		typ, at, body, known = modelapi.EventTypeResponse, p.start.Add(p.latency), bytes.TrimSuffix(p.output, []byte("\n")), true
	}
	b = append(b, `,"type":"`...)
	b = append(b, typ...)
	b = append(b, `","time":"`...)
	b = at.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	kind := dataNone
	switch {
	case len(body) == 0:
	case known:
		kind = dataJSON // checked already: skip a second scan
	default:
		kind = dataKind(body)
	}
	switch kind {
	case dataJSON:
		b = append(b, `,"datacontenttype":"application/json"`...)
	case dataBinary:
		b = append(b, `,"datacontenttype":"application/octet-stream"`...)
	}
	b = append(b, e.fixed...)
	b = strconv.AppendBool(append(b, `,"`+modelapi.ExtMirrored+`":`...), p.mirrored)
	if response {
		b = strconv.AppendInt(append(b, `,"`+modelapi.ExtStatus+`":`...), int64(p.status), 10)
		b = strconv.AppendInt(append(b, `,"`+modelapi.ExtLatencyMicros+`":`...), p.latency.Microseconds(), 10)
	}
	switch kind {
	case dataJSON:
		b = append(b, `,"data":`...)
		if bytes.IndexAny(body, "\r\n") < 0 {
			b = append(b, body...)
			break
		}
		e.buf.Write(b)
		// Compact takes out the newlines of a pretty-printed body, so the
		// event stays one line.
		json.Compact(&e.buf, body) // cannot fail: the body is valid JSON
		b = e.buf.AvailableBuffer()
	case dataBinary:
		b = append(b, `,"data_base64":"`...)
		b = base64.StdEncoding.AppendEncode(b, body)
		b = append(b, '"')
	}
	b = append(b, "}\n"...)
	e.buf.Write(b)
}

// event is one event for the sender: attributes as binary-mode headers.
func (e *payloadEncoder) event(p *payloadExchange, response bool) postEvent {
	ev := postEvent{
		id: p.requestID, source: e.version, model: e.model, mirrored: p.mirrored,
		typ: modelapi.EventTypeRequest, at: p.start, body: p.input,
	}
	if response {
		ev.typ, ev.at, ev.body = modelapi.EventTypeResponse, p.start.Add(p.latency), p.output
		ev.status, ev.latency = p.status, p.latency
	}
	return ev
}

type bodyKind int

const (
	dataNone bodyKind = iota
	dataJSON
	dataBinary
)

func dataKind(body []byte) bodyKind {
	switch {
	case len(body) == 0:
		return dataNone
	case json.Valid(body):
		return dataJSON
	}
	return dataBinary
}
