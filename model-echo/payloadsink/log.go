package payloadsink

import (
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelrollouts/modelrollouts/model-echo/jsonlines"
	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

const (
	// QueueLen bounds the exchanges waiting to be encoded, and QueueBytes
	// the bodies they hold: a container's memory limit is 64 MiB and a
	// body may be 1 MiB. Beyond either, events are dropped and counted
	// rather than making requests wait.
	QueueLen   = 2048
	QueueBytes = 8 << 20
	// PostQueueLen and PostQueueBytes bound what waits for the LOGGER_URL
	// sink; a slow or dead sink only loses its own copies.
	PostQueueLen   = 1024
	PostQueueBytes = 8 << 20
	PostWorkers    = 2
	PostTimeout    = 5 * time.Second
	// PostDrain bounds how long Close waits for the sink to take what is
	// queued; the rest is dropped and counted, stdout has it all.
	PostDrain = 2 * time.Second
	// batchBytes bounds the bytes encoded before a write to the log.
	batchBytes = 64 << 10
)

// Label values of modelapi.MetricPayloadDropped: the queue that was full.
const (
	QueueLog  = "log"  // before encoding: no sink gets the events
	QueueHTTP = "http" // LOGGER_URL's queue: only the sink misses them
)

// Exchange is what one inference request leaves for the payload log. The
// request path hands over its own slices; nothing is copied.
type Exchange struct {
	RequestID string
	Mirrored  bool
	Start     time.Time
	Latency   time.Duration
	Status    int
	// Input and Output are the bodies, or their first
	// modelapi.PayloadMaxBodyBytes when InputCut or OutputCut says so.
	Input, Output       []byte
	InputCut, OutputCut bool
	// InputJSON and OutputJSON say a body is known to be valid JSON
	// (the server decoded or encoded it), which saves a second scan.
	InputJSON, OutputJSON bool
}

func (p *Exchange) size() int64 { return int64(len(p.Input) + len(p.Output)) }

// Options are what a Log needs besides its writer.
type Options struct {
	Model, Version string // the events' inferenceservicename, source and modelversion
	LoggerURL      string // also POST every event there; "" posts nowhere
	Warn           *slog.Logger
	QueueLen       int           // 0: QueueLen
	PostDrain      time.Duration // 0: PostDrain
}

// Log turns exchanges into CloudEvents off the request path: one
// goroutine (Run) encodes the JSON lines and writes them in batches to the
// log writer, and hands each event to the LOGGER_URL sender when there is
// one.
type Log struct {
	q       *jsonlines.Queue[Exchange]
	queued  atomic.Int64  // body bytes waiting in the queue
	dropped atomic.Uint64 // events dropped at the log queue
	drops   jsonlines.DropReport
	closing sync.Once

	enc    encoder
	w      io.Writer
	sender *sender // nil without LoggerURL
}

// New makes a Log writing to w; Run starts its goroutine.
func New(w io.Writer, o Options) *Log {
	if o.Warn == nil {
		o.Warn = slog.New(slog.DiscardHandler)
	}
	if o.QueueLen <= 0 {
		o.QueueLen = QueueLen
	}
	if o.PostDrain <= 0 {
		o.PostDrain = PostDrain
	}
	l := &Log{
		drops: jsonlines.DropReport{Warn: o.Warn, Msg: "payload events dropped: the payload log could not keep up"},
		enc:   newEncoder(o.Model, o.Version),
		w:     w,
	}
	if o.LoggerURL != "" {
		l.sender = newSender(o.LoggerURL, o.Warn, o.PostDrain)
	}
	l.q = jsonlines.NewQueue(o.QueueLen, func(v Exchange) { l.emit(&v) }, l.batchDone)
	return l
}

// Offer queues an exchange, or counts its two events as dropped; it never
// blocks.
func (l *Log) Offer(p Exchange) {
	n := p.size()
	if l.queued.Add(n) > QueueBytes || !l.q.Offer(p) {
		l.queued.Add(-n)
		l.dropped.Add(2)
	}
}

// Run is the background goroutine; it returns after Close.
func (l *Log) Run() { l.q.Run() }

// batchDone writes out the batch's events, then reports new drops.
func (l *Log) batchDone() {
	l.writeOut()
	l.drops.Report(l.dropped.Load())
}

func (l *Log) emit(p *Exchange) {
	l.queued.Add(-p.size())
	req, resp := l.enc.encode(p)
	if l.sender != nil {
		l.sender.send(req)
		l.sender.send(resp)
	}
	if l.enc.buf.Len() >= batchBytes {
		l.writeOut()
	}
}

// writeOut writes whole lines only, so they never interleave with other
// lines on the same writer (model-echo's LogWriter serialises Writes).
func (l *Log) writeOut() {
	if l.enc.buf.Len() > 0 {
		l.w.Write(l.enc.buf.Bytes()) // a failing log write is not the request's problem
		l.enc.buf.Reset()
	}
}

// Flush returns once every exchange offered before the call is written
// to the log and, with LoggerURL, posted (or failed).
func (l *Log) Flush() {
	l.FlushLog()
	if l.sender != nil {
		l.sender.pending.wait()
	}
}

// FlushLog is Flush without waiting for the sink.
func (l *Log) FlushLog() { l.q.Flush() }

// Close writes what is queued, lets the sender deliver what it holds
// within PostDrain and stops both. Exchanges offered later are dropped
// and counted: after Close no request should arrive.
func (l *Log) Close() {
	l.closing.Do(func() {
		l.q.Close()
		if l.sender != nil {
			l.sender.close()
		}
	})
}

// Dropped is the count of events dropped at a queue (QueueLog or
// QueueHTTP).
func (l *Log) Dropped(queue string) uint64 {
	switch {
	case queue == QueueLog:
		return l.dropped.Load()
	case l.sender != nil:
		return l.sender.dropped.Load()
	}
	return 0
}

// PostFailures is the count of events LoggerURL did not accept.
func (l *Log) PostFailures() uint64 {
	if l.sender == nil {
		return 0
	}
	return l.sender.failed.Load()
}

// Collectors are the log's metrics, for the owner's registry:
// modelapi.MetricPayloadDropped by queue and
// modelapi.MetricPayloadPostFailures.
func (l *Log) Collectors() []prometheus.Collector {
	var cs []prometheus.Collector
	for _, q := range []string{QueueLog, QueueHTTP} {
		cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        modelapi.MetricPayloadDropped,
			Help:        "Payload events dropped because a queue was full, by queue: log (no sink got them) or http (LOGGER_URL's).",
			ConstLabels: prometheus.Labels{"queue": q},
		}, func() float64 { return float64(l.Dropped(q)) }))
	}
	return append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: modelapi.MetricPayloadPostFailures,
		Help: "Payload events " + modelapi.EnvLoggerURL + " did not accept (transport error or non-2xx answer).",
	}, func() float64 { return float64(l.PostFailures()) }))
}
