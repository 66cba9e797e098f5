package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// The server's own encoder must say what slog's JSON handler says.
func TestLineEncoderMatchesSlog(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 25, 14, 3, 4, 567891234, time.FixedZone("X", 5400))
	recs := []modelapi.RequestRecord{
		{Time: at, RequestID: "0f8fad5b-d9cb-469f-a165-70867728950e", Method: "GET", Route: "/", Path: "/",
			Host: "svc-shadow:80", Mirrored: true, Status: 200, InputDigest: emptyDigest, OutputDigest: emptyDigest,
			Output: "Hello", LatencyMS: 0.012},
		{Time: at.UTC(), RequestID: `q"uo\te`, Method: "POST", Route: modelapi.RouteInfer, Path: "/v2/models/m\xff/<&>",
			Host: "héte\u2028", Status: 400, Error: "inputs[0]: \"x\"\n\x01", LatencyMS: 1234567.5},
		{Time: at, Status: 499, LatencyMS: 0},
	}
	for i, rec := range recs {
		var fast, slow bytes.Buffer
		cfg := Config{ModelName: "m\"odel", Version: "v1"}
		enc := newLineEncoder(&fast, cfg.ModelName, cfg.Version)
		enc.encode(&rec)
		enc.flush()
		newRequestLog(slogJSON(&slow), cfg, 1).emit(&rec)

		var got, want map[string]any
		if err := json.Unmarshal(fast.Bytes(), &got); err != nil {
			t.Fatalf("record %d: encoder wrote invalid JSON %q: %v", i, fast.Bytes(), err)
		}
		if err := json.Unmarshal(slow.Bytes(), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("record %d:\nencoder %s\nslog    %s", i, fast.Bytes(), slow.Bytes())
		}
		if n := bytes.Count(fast.Bytes(), []byte("\n")); n != 1 || fast.Bytes()[fast.Len()-1] != '\n' {
			t.Errorf("record %d: want exactly one line, got %q", i, fast.Bytes())
		}
	}
}

// A full queue drops lines, counts them, and says so in the log; it never
// blocks the request.
func TestRequestLogDropsWhenFull(t *testing.T) {
	t.Parallel()
	var out logBuffer
	l := newRequestLog(NewLogger(&out), Config{ModelName: "m", Version: "v"}, 2)
	// Nothing consumes yet, so the queue holds 2 and the rest are dropped.
	for i := 0; i < 5; i++ {
		l.log(&modelapi.RequestRecord{RequestID: fmt.Sprint("r", i), Status: 200})
	}
	if d := l.dropped.Load(); d != 3 {
		t.Fatalf("dropped = %d, want 3", d)
	}
	go l.run()
	l.close()
	var ids []any
	var warned bool
	for _, m := range out.lines(t) {
		switch m["msg"] {
		case "request":
			ids = append(ids, m["request_id"])
		default:
			warned = m["level"] == "WARN" && m["dropped_total"] == float64(3)
		}
	}
	if !reflect.DeepEqual(ids, []any{"r0", "r1"}) || !warned {
		t.Fatalf("want lines r0, r1 and a drop warning, got %v", out.lines(t))
	}
}

func TestLogDroppedMetric(t *testing.T) {
	t.Parallel()
	e := start(t, Config{})
	e.srv.reqLog.dropped.Add(7)
	d := scrape(t, e)[modelapi.MetricLogDropped].GetMetric()
	if len(d) != 1 || d[0].GetCounter().GetValue() != 7 {
		t.Fatalf("%s = %v, want 7", modelapi.MetricLogDropped, d)
	}
}

// A graceful shutdown writes the line of every request served, through
// LogWriter as in main, without any explicit flush.
func TestShutdownWritesEveryLogLine(t *testing.T) {
	t.Parallel()
	var out logBuffer
	lw := NewLogWriter(&out, time.Hour) // only Close flushes
	s := New(Config{Target: "t"}, NewLogger(lw))
	ctx, cancel := context.WithCancel(context.Background())
	base, done := serveOn(t, ctx, s)

	const workers, each = 8, 50
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				resp, err := http.Get(base + "/")
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	var n int
	for _, m := range out.lines(t) {
		if m["msg"] == "request" {
			n++
		}
	}
	if n != workers*each || s.reqLog.dropped.Load() != 0 {
		t.Fatalf("%d request lines and %d dropped after shutdown, want %d and 0", n, s.reqLog.dropped.Load(), workers*each)
	}
}

// After Close, requests are still logged, synchronously.
func TestLogAfterClose(t *testing.T) {
	t.Parallel()
	e := start(t, Config{})
	e.srv.Close()
	e.srv.Close() // idempotent
	e.do(t, "GET", "/", "", "X-Request-Id", "late")
	if l := e.logs.requestLines(t); len(l) != 1 || l[0]["request_id"] != "late" {
		t.Fatalf("request after Close: %v", l)
	}
}

// A discarding logger starts no background goroutine; nothing breaks.
func TestDiscardLoggerHasNoRequestLog(t *testing.T) {
	t.Parallel()
	s := New(Config{Target: "t"}, nil)
	if s.reqLog != nil {
		t.Fatal("request log set up for a discarding logger")
	}
	s.ServeHTTP(&discardWriter{h: http.Header{}}, httptest.NewRequest("GET", "/", nil))
	s.FlushLogs()
	s.Close()
}
