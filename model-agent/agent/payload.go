package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// Bounds of the payload log, model-echo's: what waits to be written to
// stdout, and what waits for LOGGER_URL. Beyond either, events are dropped
// and counted rather than making a request wait.
const (
	payloadQueue       = 2048
	payloadQueueBytes  = 8 << 20
	payloadPostQueue   = 1024
	payloadPostBytes   = 8 << 20
	payloadPostWorkers = 2
	payloadPostTimeout = 5 * time.Second
	payloadPostDrain   = 2 * time.Second
	payloadBatch       = 64 << 10
)

// Label values of MetricPayloadDropped: the queue that was full.
const (
	queueLog  = "log"  // before encoding: no sink gets the events
	queueHTTP = "http" // LOGGER_URL's queue: only the sink misses them
)

// payloadExchange is what one inference request leaves for the log.
type payloadExchange struct {
	requestID     string
	mirrored      bool
	start         time.Time
	latency       time.Duration
	status        int
	input, output []byte
	inCut, outCut bool // cut at modelapi.PayloadMaxBodyBytes
}

func (p *payloadExchange) size() int64 { return int64(len(p.input) + len(p.output)) }

// payloadLog encodes events off the request path, on one goroutine that
// writes whole lines in batches to w and hands each event to the sender.
type payloadLog struct {
	queue   chan payloadExchange
	flushes chan chan struct{}
	stop    chan struct{}
	done    chan struct{}
	closing sync.Once
	queued  atomic.Int64
	dropped atomic.Uint64

	model, version string
	w              io.Writer
	buf            bytes.Buffer
	enc            *json.Encoder
	sender         *sender // nil without LOGGER_URL
	warn           *slog.Logger
	reported       uint64
}

func newPayloadLog(w io.Writer, warn *slog.Logger, cfg Config) *payloadLog {
	l := &payloadLog{
		queue:   make(chan payloadExchange, payloadQueue),
		flushes: make(chan chan struct{}),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		model:   cfg.ModelName, version: cfg.Version,
		w: w, warn: warn,
	}
	l.enc = json.NewEncoder(&l.buf)
	l.enc.SetEscapeHTML(false) // bodies stay as the model wrote them
	if cfg.LoggerURL != "" {
		l.sender = newSender(cfg.LoggerURL, warn)
	}
	go l.run()
	return l
}

// log queues an exchange, or counts its two events as dropped; it never
// blocks.
func (l *payloadLog) log(p payloadExchange) {
	n := p.size()
	if l.queued.Add(n) > payloadQueueBytes {
		l.queued.Add(-n)
		l.dropped.Add(2)
		return
	}
	select {
	case l.queue <- p:
	default:
		l.queued.Add(-n)
		l.dropped.Add(2)
	}
}

func (l *payloadLog) run() {
	defer close(l.done)
	for {
		select {
		case p := <-l.queue:
			l.emit(&p)
			l.drain()
		case ack := <-l.flushes:
			l.drain()
			close(ack)
		case <-l.stop:
			l.drain()
			return
		}
	}
}

// drain handles what is queued, then writes the batch out.
func (l *payloadLog) drain() {
	for n := len(l.queue); n > 0; n-- {
		p := <-l.queue
		l.emit(&p)
	}
	l.writeOut()
	if d := l.dropped.Load(); d > l.reported {
		l.warn.Warn("payload events dropped: the payload log could not keep up", "dropped_total", d)
		l.reported = d
	}
}

func (l *payloadLog) emit(p *payloadExchange) {
	l.queued.Add(-p.size())
	for _, response := range []bool{false, true} {
		ev := l.event(p, response)
		l.enc.Encode(&ev) // cannot fail: Data is checked JSON or absent
		if l.sender != nil {
			l.sender.send(&ev)
		}
	}
	if l.buf.Len() >= payloadBatch {
		l.writeOut()
	}
}

// event is model-echo's event for one side of an exchange.
func (l *payloadLog) event(p *payloadExchange, response bool) modelapi.PayloadEvent {
	ev := modelapi.PayloadEvent{
		SpecVersion: modelapi.CloudEventsSpecVersion, ID: p.requestID, Source: l.version,
		Type: modelapi.EventTypeRequest, Time: p.start.UTC(),
		ModelName: l.model, Component: modelapi.EventComponent, ModelVersion: l.version, Mirrored: p.mirrored,
	}
	body, cut := p.input, p.inCut
	if response {
		ev.Type, ev.Time = modelapi.EventTypeResponse, p.start.Add(p.latency).UTC()
		ev.Status, ev.LatencyMicros = p.status, p.latency.Microseconds()
		body, cut = p.output, p.outCut
	}
	ev.Truncated = cut
	switch {
	case len(body) == 0:
	case !cut && json.Valid(body):
		ev.DataContentType, ev.Data = "application/json", bytes.TrimRight(body, "\r\n")
	default:
		// A cut body is no longer JSON: its first bytes, base64.
		ev.DataContentType, ev.DataBase64 = "application/octet-stream", body
	}
	return ev
}

func (l *payloadLog) writeOut() {
	if l.buf.Len() > 0 {
		l.w.Write(l.buf.Bytes()) // a failing log write is not the request's problem
		l.buf.Reset()
	}
}

// flush returns once every exchange logged before the call is written
// and, with LOGGER_URL, posted or failed.
func (l *payloadLog) flush() {
	ack := make(chan struct{})
	select {
	case l.flushes <- ack:
		<-ack
	case <-l.done:
	}
	if l.sender != nil {
		l.sender.pending.wait()
	}
}

// close writes what is queued and lets the sender deliver within its
// drain time; call it once no request is served.
func (l *payloadLog) close() {
	l.closing.Do(func() {
		close(l.stop)
		<-l.done
		if l.sender != nil {
			l.sender.close()
		}
	})
}

func (l *payloadLog) droppedTotal(queue string) float64 {
	if queue == queueLog {
		return float64(l.dropped.Load())
	}
	if l.sender == nil {
		return 0
	}
	return float64(l.sender.dropped.Load())
}

func (l *payloadLog) postFailures() float64 {
	if l.sender == nil {
		return 0
	}
	return float64(l.sender.failed.Load())
}

// sender POSTs events to a KServe-compatible sink in CloudEvents' binary
// HTTP mode, as model-echo and KServe's logger do; its queue is bounded,
// and a refused POST is counted, never retried (stdout has it all).
type sender struct {
	url       string
	client    *http.Client
	queue     chan modelapi.PayloadEvent
	queued    atomic.Int64
	pending   pendingCount
	dropped   atomic.Uint64
	failed    atomic.Uint64
	warn      *slog.Logger
	lastWarn  atomic.Int64
	workers   sync.WaitGroup
	stop      chan struct{}
	ctx       context.Context
	cancel    context.CancelFunc
	abandoned atomic.Bool
}

func newSender(url string, warn *slog.Logger) *sender {
	s := &sender{
		url: url,
		client: &http.Client{Timeout: payloadPostTimeout, Transport: &http.Transport{
			Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: payloadPostWorkers, IdleConnTimeout: 90 * time.Second,
		}},
		queue: make(chan modelapi.PayloadEvent, payloadPostQueue),
		warn:  warn,
		stop:  make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for range payloadPostWorkers {
		s.workers.Add(1)
		go s.work()
	}
	return s
}

func (s *sender) send(ev *modelapi.PayloadEvent) {
	n := int64(len(ev.Body()))
	if s.queued.Add(n) > payloadPostBytes {
		s.queued.Add(-n)
		s.dropped.Add(1)
		return
	}
	s.pending.add(1)
	select {
	case s.queue <- *ev:
	default:
		s.pending.add(-1)
		s.queued.Add(-n)
		s.dropped.Add(1)
	}
}

func (s *sender) work() {
	defer s.workers.Done()
	for {
		select {
		case ev := <-s.queue:
			s.queued.Add(-int64(len(ev.Body())))
			if err := s.post(&ev); err != nil {
				if s.abandoned.Load() {
					s.dropped.Add(1)
				} else {
					s.failed.Add(1)
					s.warnRarely(err)
				}
			}
			s.pending.add(-1)
		case <-s.stop:
			return
		}
	}
}

func (s *sender) post(ev *modelapi.PayloadEvent) error {
	if s.abandoned.Load() {
		return context.Canceled
	}
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, s.url, bytes.NewReader(ev.Body()))
	if err != nil {
		return err
	}
	h := req.Header
	h["Ce-Specversion"] = []string{ev.SpecVersion}
	h["Ce-Id"] = []string{ev.ID}
	h["Ce-Type"] = []string{ev.Type}
	h["Ce-Source"] = []string{ev.Source}
	h["Ce-Time"] = []string{ev.Time.Format(time.RFC3339Nano)}
	h["Ce-"+modelapi.ExtInferenceService] = []string{ev.ModelName}
	h["Ce-"+modelapi.ExtComponent] = []string{ev.Component}
	h["Ce-"+modelapi.ExtModelVersion] = []string{ev.ModelVersion}
	h["Ce-"+modelapi.ExtMirrored] = []string{strconv.FormatBool(ev.Mirrored)}
	if ev.IsResponse() {
		h["Ce-"+modelapi.ExtStatus] = []string{strconv.Itoa(ev.Status)}
		h["Ce-"+modelapi.ExtLatencyMicros] = []string{strconv.FormatInt(ev.LatencyMicros, 10)}
	}
	if ev.Truncated {
		h["Ce-"+modelapi.ExtTruncated] = []string{"true"}
	}
	if ev.DataContentType != "" {
		h["Content-Type"] = []string{ev.DataContentType}
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s answered %s", s.url, resp.Status)
	}
	return nil
}

// warnRarely: a dead sink must not flood the log it is a copy of.
func (s *sender) warnRarely(err error) {
	now := time.Now().UnixNano()
	last := s.lastWarn.Load()
	if now-last < int64(time.Second) || !s.lastWarn.CompareAndSwap(last, now) {
		return
	}
	s.warn.Warn("payload event not delivered to "+modelapi.EnvLoggerURL, "error", err.Error(), "failures_total", s.failed.Load())
}

// close delivers what is queued within payloadPostDrain, then gives up
// on the sink (what it did not take is dropped and counted): a hanging
// sink must not hold the pod's shutdown.
func (s *sender) close() {
	delivered := make(chan struct{})
	go func() {
		s.pending.wait()
		close(delivered)
	}()
	timer := time.NewTimer(payloadPostDrain)
	defer timer.Stop()
	select {
	case <-delivered:
	case <-timer.C:
		s.abandoned.Store(true)
		s.cancel()
		<-delivered
	}
	s.cancel()
	close(s.stop)
	s.workers.Wait()
	s.client.CloseIdleConnections()
}

// pendingCount is a counter one can wait on reaching zero while it still
// goes up and down (a WaitGroup may not grow during a Wait).
type pendingCount struct {
	mu   sync.Mutex
	cond *sync.Cond
	n    int
}

func (c *pendingCount) add(d int) {
	c.mu.Lock()
	c.n += d
	if c.n == 0 && c.cond != nil {
		c.cond.Broadcast()
	}
	c.mu.Unlock()
}

func (c *pendingCount) wait() {
	c.mu.Lock()
	if c.cond == nil {
		c.cond = sync.NewCond(&c.mu)
	}
	for c.n > 0 {
		c.cond.Wait()
	}
	c.mu.Unlock()
}
