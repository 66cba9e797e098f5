package server

// Benchmarks over real loopback HTTP (httptest listens on 127.0.0.1):
//
//	go test ./model-echo/server -run '^$' -bench . -benchtime 20000x
//
// They measure and report; they assert nothing about timings.

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/model-echo/payloadsink"
)

const benchTarget = "Hello from model-echo"

var benchInfer = []byte(`{"id":"bench","inputs":[{"name":"x","shape":[2,4],"datatype":"FP32","data":[1,2,3,4,5,6,7,8]}]}`)

// benchEcho is a model-echo server logging JSON lines to a file, like
// stdout in a container (real writes, not io.Discard), set up as main does.
func benchEcho(b *testing.B) (*httptest.Server, *Server) {
	return benchEchoWith(b, Config{Target: benchTarget, Version: "bench"})
}

// benchEchoWith is benchEcho with a config (payload logging on, say).
func benchEchoWith(b *testing.B, cfg Config) (*httptest.Server, *Server) {
	f, err := os.Create(filepath.Join(b.TempDir(), "log.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	logs := NewLogWriter(f, 100*time.Millisecond)
	srv := New(cfg, NewLogger(logs))
	b.Cleanup(func() { srv.Close(); logs.Close(); f.Close() })
	ts := httptest.NewServer(srv)
	b.Cleanup(ts.Close) // first: LIFO
	return ts, srv
}

// reportDropped reports request log lines the server dropped: a run that
// drops lines measured less logging than production does.
func reportDropped(b *testing.B, srv *Server) {
	srv.FlushLogs()
	b.ReportMetric(float64(srv.reqLog.dropped.Load()), "log-dropped")
	if srv.payload != nil {
		b.ReportMetric(float64(srv.payload.Dropped(payloadsink.QueueLog)), "payload-dropped")
	}
}

// benchBare is the baseline: a bare net/http handler writing a constant.
func benchBare(b *testing.B) *httptest.Server {
	body := []byte(benchTarget)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	b.Cleanup(ts.Close)
	return ts
}

// workers is how many concurrent keep-alive connections drive the load.
func workers() int { return 4 * runtime.GOMAXPROCS(0) }

func client(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, DisableCompression: true, ForceAttemptHTTP2: false,
	}}
}

// call does one request and drains the answer (so the connection is reused).
func call(c *http.Client, method, url string, body []byte) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s %s: status %d", method, url, resp.StatusCode)
	}
	return err
}

type loadResult struct {
	n       int
	elapsed time.Duration
	lat     []time.Duration
}

func (r *loadResult) add(o loadResult) {
	r.n += o.n
	r.elapsed += o.elapsed
	r.lat = append(r.lat, o.lat...)
}

func (r loadResult) rps() float64 { return float64(r.n) / r.elapsed.Seconds() }

func (r loadResult) pct(p float64) float64 {
	if len(r.lat) == 0 {
		return 0
	}
	s := slices.Clone(r.lat)
	slices.Sort(s)
	return float64(s[min(len(s)-1, int(p*float64(len(s))))].Microseconds())
}

// load sends n requests from conns concurrent workers and times them.
func load(b *testing.B, c *http.Client, conns, n int, method, url string, body []byte) loadResult {
	var (
		mu   sync.Mutex
		all  = make([]time.Duration, 0, n)
		next = make(chan struct{}, n)
		wg   sync.WaitGroup
	)
	for i := 0; i < n; i++ {
		next <- struct{}{}
	}
	close(next)
	start := time.Now()
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, n/conns+1)
			for range next {
				t0 := time.Now()
				if err := call(c, method, url, body); err != nil {
					b.Error(err)
					return
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			all = append(all, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return loadResult{n: n, elapsed: time.Since(start), lat: all}
}

// parallel drives b.N requests with b.RunParallel and reports req/s, p50, p99.
func parallel(b *testing.B, ts *httptest.Server, method, path string, body []byte) {
	b.SetParallelism(4)
	c := client(workers())
	if err := call(c, method, ts.URL+path, body); err != nil { // warm a connection
		b.Fatal(err)
	}
	var (
		mu  sync.Mutex
		all = make([]time.Duration, 0, b.N)
	)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var local []time.Duration
		for pb.Next() {
			t0 := time.Now()
			if err := call(c, method, ts.URL+path, body); err != nil {
				b.Error(err)
				return
			}
			local = append(local, time.Since(t0))
		}
		mu.Lock()
		all = append(all, local...)
		mu.Unlock()
	})
	r := loadResult{n: b.N, elapsed: time.Since(start), lat: all}
	b.StopTimer()
	b.ReportMetric(r.rps(), "req/s")
	b.ReportMetric(r.pct(0.50), "p50-µs")
	b.ReportMetric(r.pct(0.99), "p99-µs")
}

func BenchmarkBare(b *testing.B) { parallel(b, benchBare(b), "GET", "/", nil) }
func BenchmarkRoot(b *testing.B) {
	ts, srv := benchEcho(b)
	parallel(b, ts, "GET", "/", nil)
	reportDropped(b, srv)
}

func BenchmarkInfer(b *testing.B) {
	ts, srv := benchEcho(b)
	parallel(b, ts, "POST", "/v2/models/model-echo/infer", benchInfer)
	reportDropped(b, srv)
}

func BenchmarkRootVsBare(b *testing.B) { compare(b, benchConfig, "GET", "/", nil) }
func BenchmarkInferVsBare(b *testing.B) {
	compare(b, benchConfig, "POST", "/v2/models/model-echo/infer", benchInfer)
}

// BenchmarkInferPayloadVsBare is InferVsBare with payload events on: both
// bodies of every request go to the log as CloudEvents.
func BenchmarkInferPayloadVsBare(b *testing.B) {
	cfg := benchConfig
	cfg.PayloadLog = true
	compare(b, cfg, "POST", "/v2/models/model-echo/infer", benchInfer)
}

var benchConfig = Config{Target: benchTarget, Version: "bench"}

// compare alternates rounds against the bare handler and model-echo in
// one run, so machine noise hits both alike, and reports the ratio of
// model-echo's throughput to the bare handler's.
func compare(b *testing.B, cfg Config, method, path string, body []byte) {
	bare := benchBare(b)
	echo, srv := benchEchoWith(b, cfg)
	conns := workers()
	cb, ce := client(conns), client(conns)
	// Warm up both: connections, pools, page cache.
	load(b, cb, conns, 2*conns, "GET", bare.URL+"/", nil)
	load(b, ce, conns, 2*conns, method, echo.URL+path, body)
	// Many short alternating rounds and the median of their ratios: on a
	// shared machine other load comes in bursts that would otherwise land
	// on one side.
	const rounds = 20
	per := max(b.N/rounds, conns)
	var rb, re loadResult
	ratios := make([]float64, 0, rounds)
	b.ResetTimer()
	for i := 0; i < rounds; i++ {
		lb := load(b, cb, conns, per, "GET", bare.URL+"/", nil)
		le := load(b, ce, conns, per, method, echo.URL+path, body)
		rb.add(lb)
		re.add(le)
		ratios = append(ratios, le.rps()/lb.rps())
	}
	b.StopTimer()
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "median-ratio")
	b.ReportMetric(rb.rps(), "bare-req/s")
	b.ReportMetric(re.rps(), "echo-req/s")
	b.ReportMetric(re.rps()/rb.rps(), "ratio")
	b.ReportMetric(rb.pct(0.50), "bare-p50-µs")
	b.ReportMetric(re.pct(0.50), "echo-p50-µs")
	b.ReportMetric(rb.pct(0.99), "bare-p99-µs")
	b.ReportMetric(re.pct(0.99), "echo-p99-µs")
	reportDropped(b, srv)
}

// BenchmarkStartToReady builds the binary, then per iteration starts it on
// a free 127.0.0.1 port and polls /v2/health/ready until it answers 200.
func BenchmarkStartToReady(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "model-echo")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		url := fmt.Sprintf("http://127.0.0.1:%d/v2/health/ready", port)

		cmd := exec.Command(bin)
		cmd.Env = []string{"TARGET=ready?", "HOST=127.0.0.1", fmt.Sprintf("PORT=%d", port)}
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		for {
			resp, err := c.Get(url)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			if time.Since(t0) > 10*time.Second {
				cmd.Process.Kill()
				b.Fatalf("not ready after 10s: %v", err)
			}
			time.Sleep(100 * time.Microsecond)
		}
		lat = append(lat, time.Since(t0))
		b.StopTimer()
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			b.Fatalf("exit after SIGTERM: %v", err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	r := loadResult{lat: lat}
	b.ReportMetric(r.pct(0.50)/1000, "p50-ms-to-ready")
	b.ReportMetric(r.pct(0.99)/1000, "p99-ms-to-ready")
}

// In-process handler cost without the network, to tell server overhead
// from loopback and client noise on a shared machine.
func benchHandler(b *testing.B, h http.Handler, method, path string, body []byte) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			var rd io.Reader = http.NoBody
			if body != nil {
				rd = bytes.NewReader(body)
			}
			r := httptest.NewRequest(method, path, rd)
			clear(w.h)
			h.ServeHTTP(w, r)
		}
	})
}

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

func BenchmarkHandlerBare(b *testing.B) {
	body := []byte(benchTarget)
	benchHandler(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }), "GET", "/", nil)
}

func BenchmarkHandlerRoot(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "log.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	logs := NewLogWriter(f, 100*time.Millisecond)
	srv := New(Config{Target: benchTarget, Version: "bench"}, NewLogger(logs))
	defer func() { srv.Close(); logs.Close(); f.Close() }()
	benchHandler(b, srv, "GET", "/", nil)
	reportDropped(b, srv)
}

func BenchmarkHandlerInfer(b *testing.B) {
	srv := New(Config{Target: benchTarget, Version: "bench"}, NewLogger(io.Discard))
	defer srv.Close()
	benchHandler(b, srv, "POST", "/v2/models/model-echo/infer", benchInfer)
	reportDropped(b, srv)
}

func BenchmarkHandlerInferPayload(b *testing.B) {
	srv := New(Config{Target: benchTarget, Version: "bench", PayloadLog: true}, NewLogger(io.Discard))
	defer srv.Close()
	benchHandler(b, srv, "POST", "/v2/models/model-echo/infer", benchInfer)
	reportDropped(b, srv)
}
