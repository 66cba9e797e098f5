package payloadsink

import (
	"bytes"
	"context"
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

// postEvent is one payload event on its way to LOGGER_URL.
type postEvent struct {
	id, source, model, typ string
	mirrored, truncated    bool
	at                     time.Time
	status                 int           // response events
	latency                time.Duration // response events
	body                   []byte
	kind                   dataKind
}

// sender POSTs events to a KServe-compatible sink in CloudEvents' binary
// HTTP mode (attributes as ce- headers, the body as is), as KServe's
// logger does. Its queue is bounded; a full queue drops events and a
// refused or failed POST is counted, never retried: the sink is a copy of
// what stdout already has.
type sender struct {
	url     string
	client  *http.Client
	drain   time.Duration
	queue   chan postEvent
	queued  atomic.Int64
	pending pendingCount // events queued or in flight
	dropped atomic.Uint64
	failed  atomic.Uint64
	warn    *slog.Logger
	workers sync.WaitGroup
	stop    chan struct{}
	lastErr atomic.Int64 // unix nanos of the last failure warning
	// ctx cancels the POSTs in flight when close gives up on the sink;
	// abandoned then turns what is still queued into drops.
	ctx       context.Context
	cancel    context.CancelFunc
	abandoned atomic.Bool
}

func newSender(url string, warn *slog.Logger, drain time.Duration) *sender {
	s := &sender{
		url: url,
		client: &http.Client{
			Timeout: PostTimeout,
			Transport: &http.Transport{
				Proxy:               http.ProxyFromEnvironment,
				MaxIdleConnsPerHost: PostWorkers,
				IdleConnTimeout:     90 * time.Second,
			},
		},
		drain: drain,
		queue: make(chan postEvent, PostQueueLen),
		warn:  warn,
		stop:  make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for range PostWorkers {
		s.workers.Add(1)
		go s.work()
	}
	return s
}

func (s *sender) send(ev postEvent) {
	n := int64(len(ev.body))
	if s.queued.Add(n) > PostQueueBytes {
		s.queued.Add(-n)
		s.dropped.Add(1)
		return
	}
	s.pending.add(1)
	select {
	case s.queue <- ev:
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
			s.queued.Add(-int64(len(ev.body)))
			switch err := s.post(&ev); {
			case s.abandoned.Load():
				// Close gave up on the sink: not delivered, dropped.
				if err != nil {
					s.dropped.Add(1)
				}
			case err != nil:
				s.failed.Add(1)
				s.warnRarely(err)
			}
			s.pending.add(-1)
		case <-s.stop:
			return
		}
	}
}

// post sends one event; the answer's body is drained so the connection
// is kept.
func (s *sender) post(ev *postEvent) error {
	if s.abandoned.Load() {
		return context.Canceled
	}
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, s.url, bytes.NewReader(ev.body))
	if err != nil {
		return err
	}
	h := req.Header
	h["Ce-Specversion"] = []string{modelapi.CloudEventsSpecVersion}
	h["Ce-Id"] = []string{ev.id}
	h["Ce-Type"] = []string{ev.typ}
	h["Ce-Source"] = []string{ev.source}
	h["Ce-Time"] = []string{ev.at.UTC().Format(time.RFC3339Nano)}
	h["Ce-"+modelapi.ExtInferenceService] = []string{ev.model}
	h["Ce-"+modelapi.ExtComponent] = []string{modelapi.EventComponent}
	h["Ce-"+modelapi.ExtModelVersion] = []string{ev.source}
	h["Ce-"+modelapi.ExtMirrored] = []string{strconv.FormatBool(ev.mirrored)}
	if ev.typ == modelapi.EventTypeResponse {
		h["Ce-"+modelapi.ExtStatus] = []string{strconv.Itoa(ev.status)}
		h["Ce-"+modelapi.ExtLatencyMicros] = []string{strconv.FormatInt(ev.latency.Microseconds(), 10)}
	}
	if ev.truncated {
		h["Ce-"+modelapi.ExtTruncated] = []string{"true"}
	}
	switch ev.kind {
	case dataJSON:
		h["Content-Type"] = []string{"application/json"}
	case dataBinary:
		h["Content-Type"] = []string{"application/octet-stream"}
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

// warnRarely reports failures at most once a second: a dead sink must
// not flood the log it is a copy of.
func (s *sender) warnRarely(err error) {
	now := time.Now().UnixNano()
	last := s.lastErr.Load()
	if now-last < int64(time.Second) || !s.lastErr.CompareAndSwap(last, now) {
		return
	}
	s.warn.Warn("payload event not delivered to "+modelapi.EnvLoggerURL, "error", err.Error(), "failures_total", s.failed.Load())
}

// close delivers what is queued within s.drain, then cancels the POSTs
// in flight, counts what the sink did not take as dropped and stops the
// workers: a slow or hanging sink must not hold the pod's shutdown past
// Kubernetes' grace period.
func (s *sender) close() {
	delivered := make(chan struct{})
	go func() {
		s.pending.wait()
		close(delivered)
	}()
	timer := time.NewTimer(s.drain)
	defer timer.Stop()
	select {
	case <-delivered:
	case <-timer.C:
		before := s.dropped.Load()
		s.abandoned.Store(true)
		s.cancel()
		<-delivered
		s.warn.Warn("payload events not delivered to "+modelapi.EnvLoggerURL+" before shutdown: the sink did not take them in time",
			"dropped", s.dropped.Load()-before, "drain", s.drain.String())
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
