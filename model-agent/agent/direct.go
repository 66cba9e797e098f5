package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// directTransport is the agent's HTTP/1.1 client to the model: one
// keep-alive connection per request in flight, written and read by the
// goroutine that serves the request. net/http's Transport hands every
// request to a writer goroutine and every answer back from a reader
// goroutine per connection; on the two cores of the benchmark those hand-offs
// were the largest share of the latency the agent adds. The wire format is
// net/http's own (Request.Write, ReadResponse).
//
// What it does not do (protocol upgrades, https) goes to fallback.
type directTransport struct {
	addr     string
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	fallback http.RoundTripper

	mu   sync.Mutex
	idle []*directConn
}

// maxIdleDirect bounds the connections kept open between requests, and
// idleDirectTimeout how long one is kept unused (net/http's Transport
// keeps them 90 s).
const (
	maxIdleDirect     = 1024
	idleDirectTimeout = 90 * time.Second
)

type directConn struct {
	conn      net.Conn
	br        *bufio.Reader
	bw        *bufio.Writer
	idleSince time.Time
}

// stillOpen reports whether the model has neither closed conn nor sent
// anything on it unasked. Where the socket cannot be asked without
// waiting (stillopen_linux.go asks it), a closed connection is found when
// it is used.
var stillOpen = func(net.Conn) bool { return true }

// get takes the most recently used kept connection the model has not
// closed, or dials a new one.
func (t *directTransport) get(ctx context.Context) (c *directConn, reused bool, err error) {
	for {
		t.mu.Lock()
		n := len(t.idle)
		if n == 0 {
			t.mu.Unlock()
			break
		}
		c = t.idle[n-1]
		t.idle[n-1] = nil
		t.idle = t.idle[:n-1]
		t.mu.Unlock()
		// net/http's Transport learns of a close from the reader it keeps
		// on every idle connection; without one, ask the socket.
		if stillOpen(c.conn) {
			return c, true, nil
		}
		c.conn.Close()
	}
	conn, err := t.dial(ctx, "tcp", t.addr)
	if err != nil {
		return nil, false, err
	}
	return &directConn{conn: conn, br: bufio.NewReaderSize(conn, 4<<10), bw: bufio.NewWriterSize(conn, 4<<10)}, false, nil
}

// put keeps c for the next request, and closes the connections that
// have waited longer than idleDirectTimeout (the oldest are first: get
// takes the newest).
func (t *directTransport) put(c *directConn) {
	now := time.Now()
	c.idleSince = now
	var closing []*directConn
	t.mu.Lock()
	for len(t.idle) > 0 && now.Sub(t.idle[0].idleSince) > idleDirectTimeout {
		closing = append(closing, t.idle[0])
		t.idle[0] = nil
		t.idle = t.idle[1:]
	}
	if len(t.idle) < maxIdleDirect {
		t.idle = append(t.idle, c)
	} else {
		closing = append(closing, c)
	}
	t.mu.Unlock()
	for _, c := range closing {
		c.conn.Close()
	}
}

// CloseIdleConnections closes the connections kept between requests.
func (t *directTransport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, c := range idle {
		c.conn.Close()
	}
	if ci, ok := t.fallback.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// RoundTrip sends req to the model and returns its answer, whose body
// streams from the connection.
func (t *directTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" || req.Header.Get("Upgrade") != "" {
		return t.fallback.RoundTrip(req)
	}
	for attempt := 0; ; attempt++ {
		c, reused, err := t.get(req.Context())
		if err != nil {
			return nil, err
		}
		resp, err := t.exchange(c, req)
		if err == nil {
			return resp, nil
		}
		// The model may close a kept connection just as it is reused:
		// send again on a new one only what net/http's Transport would
		// (a body it can rewind, a method that may be repeated).
		if reused && attempt == 0 && !errors.Is(err, errAnswerBegan) && req.Context().Err() == nil && mayRepeat(req) {
			if req.GetBody != nil {
				if req.Body, err = req.GetBody(); err != nil {
					return nil, err
				}
			}
			continue
		}
		return nil, err
	}
}

// mayRepeat is net/http's rule for sending a request again on a new
// connection.
func mayRepeat(req *http.Request) bool {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return false
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return req.Header.Get("Idempotency-Key") != "" || req.Header.Get("X-Idempotency-Key") != ""
}

// errAnswerBegan marks a failure after the model began to answer.
var errAnswerBegan = errors.New("the model's answer began")

// exchange writes req on c and reads the answer's head.
func (t *directTransport) exchange(c *directConn, req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Unix(1, 0)) })
	fail := func(err error) (*http.Response, error) {
		stop()
		c.conn.Close()
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, err
	}
	var written chan error
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		// A streamed body is written while the answer is read: a model
		// may answer before the body ends.
		written = make(chan error, 1)
		go func() { written <- writeRequest(c.bw, req) }()
	} else if err := writeRequest(c.bw, req); err != nil {
		return fail(err)
	}
	var resp *http.Response
	for {
		var err error
		resp, err = http.ReadResponse(c.br, req)
		if err != nil {
			if c.br.Buffered() > 0 {
				err = fmt.Errorf("%w: %w", errAnswerBegan, err)
			}
			return fail(err)
		}
		if resp.StatusCode >= 200 {
			break
		}
		if resp.StatusCode == http.StatusSwitchingProtocols {
			// Upgrades go to the fallback transport; this was not asked for.
			return fail(fmt.Errorf("%w: 101 Switching Protocols to a request without Upgrade", errAnswerBegan))
		}
		// Other 1xx answers are interim: the final answer follows.
	}
	b := &directBody{ReadCloser: resp.Body, c: c, t: t, stop: stop, written: written, keep: !resp.Close && !req.Close}
	if resp.Body == http.NoBody {
		b.finish(true)
		return resp, nil
	}
	resp.Body = b
	return resp, nil
}

func writeRequest(bw *bufio.Writer, req *http.Request) error {
	if err := req.Write(bw); err != nil {
		return fmt.Errorf("write the request: %w", err)
	}
	return bw.Flush()
}

// directBody is an answer's body; read to its end, it gives the
// connection back for the next request.
type directBody struct {
	io.ReadCloser
	c       *directConn
	t       *directTransport
	stop    func() bool
	written chan error
	keep    bool
	once    sync.Once
}

func (b *directBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.finish(true)
	} else if err != nil {
		b.finish(false)
	}
	return n, err
}

func (b *directBody) Close() error {
	b.finish(false)
	return nil
}

// finish releases the connection: back to the pool when the answer was
// read whole, the request written whole and neither side asked to close.
func (b *directBody) finish(whole bool) {
	b.once.Do(func() {
		stopped := b.stop() // false: the caller left and the deadline is set
		reuse := whole && b.keep && stopped
		if b.written != nil {
			select {
			case err := <-b.written:
				reuse = reuse && err == nil
			default:
				reuse = false // still writing the body: the model answered early
			}
		}
		if reuse {
			b.t.put(b.c)
		} else {
			b.c.conn.Close()
		}
	})
}
