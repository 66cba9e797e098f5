package main

// Process benchmarks of model-agent in front of model-echo (issue 18,
// "Performance"), all on 127.0.0.1; they measure and report, they assert
// nothing about timings:
//
//	go test ./model-agent -run '^$' -bench AgentVsModelEcho -benchtime 30000x
//	go test ./model-agent -run '^$' -bench AgentMemory -benchtime 400x
//	BENCH_AGENT_ENV=GOMAXPROCS=1 go test ./model-agent -run '^$' -bench AgentVsModelEcho -benchtime 30000x
//
// Run them apart: a request of the second moves 2 MiB, so -bench . with
// the first one's count would run for half an hour.
//
// Both build model-echo and model-agent once and run them as processes,
// as a pod does; docs/model-agent.md "Benchmarks" has the figures.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// inFlight is the load: 8 requests in flight, each from its own
// keep-alive connection.
const inFlight = 8

// inferPath and inferBody are what a user's client sends model-echo.
const inferPath = "/v2/models/model-echo/infer"

var inferBody = []byte(`{"id":"bench","inputs":[{"name":"x","shape":[2,4],"datatype":"FP32","data":[1,2,3,4,5,6,7,8]}]}`)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds model-echo and model-agent once per test binary, as
// the image does (CGO off, stripped).
func binaries(b *testing.B) (echo, agent string) {
	b.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "model-agent-bench-")
		if buildErr != nil {
			return
		}
		for _, pkg := range []string{"../model-echo", "."} {
			out := filepath.Join(binDir, filepath.Base(filepath.Clean(pkg)))
			if pkg == "." {
				out = filepath.Join(binDir, "model-agent")
			}
			cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, pkg)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if msg, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", pkg, err, msg)
				return
			}
		}
	})
	if buildErr != nil {
		b.Fatal(buildErr)
	}
	return filepath.Join(binDir, "model-echo"), filepath.Join(binDir, "model-agent")
}

// relayEnv makes this test binary, started again by startRelay, the
// byte relay instead of running tests.
const relayEnv = "MODEL_AGENT_BENCH_RELAY"

func TestMain(m *testing.M) {
	if os.Getenv(relayEnv) == "1" {
		os.Exit(relay(os.Getenv("HOST")+":"+os.Getenv("PORT"), os.Getenv(modelapi.EnvModelUpstream)))
	}
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// lineCounter is a process's stdout, drained as a container runtime
// drains it, counting lines (the agent's payload events).
type lineCounter struct{ lines atomic.Int64 }

func (c *lineCounter) Write(p []byte) (int, error) {
	c.lines.Add(int64(bytes.Count(p, []byte{'\n'})))
	return len(p), nil
}

// process is one started binary listening on 127.0.0.1.
type process struct {
	cmd    *exec.Cmd
	base   string
	stdout *lineCounter
}

func freePort(b *testing.B) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// start runs bin with env (HOST and PORT added) and waits until its
// readiness path answers 200; it is stopped with SIGTERM at cleanup.
func start(b *testing.B, bin string, env ...string) *process {
	b.Helper()
	port := freePort(b)
	p := &process{cmd: exec.Command(bin), base: fmt.Sprintf("http://127.0.0.1:%d", port), stdout: &lineCounter{}}
	p.cmd.Env = append([]string{"HOST=127.0.0.1", "PORT=" + strconv.Itoa(port)}, env...)
	p.cmd.Stdout = p.stdout
	var stderr bytes.Buffer
	p.cmd.Stderr = &stderr
	if err := p.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		p.cmd.Wait()
	})
	c := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		resp, err := c.Get(p.base + modelapi.PathReady)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s not ready after 20 s: %v\n%s", bin, err, stderr.String())
		}
	}
}

// peakRSS is VmHWM from /proc/PID/status: the most resident memory the
// process has had, in MiB.
func (p *process) peakRSS(b *testing.B) float64 {
	return p.status(b, "VmHWM:")
}

// rss is VmRSS now, in MiB.
func (p *process) rss(b *testing.B) float64 { return p.status(b, "VmRSS:") }

func (p *process) status(b *testing.B, key string) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) == 3 && fields[0] == key && fields[2] == "kB" {
			kb, _ := strconv.ParseFloat(fields[1], 64)
			return kb / 1024
		}
	}
	b.Fatalf("no %s in /proc/%d/status", key, p.cmd.Process.Pid)
	return 0
}

// cpu is the CPU time the process has used (user and system), from
// /proc/PID/stat in clock ticks of 10 ms (USER_HZ is 100 on Linux).
func (p *process) cpu(b *testing.B) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name, which is in parentheses: state is
	// the first, utime the 12th, stime the 13th.
	fields := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// metric reads one sample of the process's /metrics whose line starts
// with prefix (name and labels), or -1.
func (p *process) metric(b *testing.B, prefix string) float64 {
	resp, err := http.Get(p.base + modelapi.PathMetrics)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), prefix+" "); ok {
			v, _ := strconv.ParseFloat(rest, 64)
			return v
		}
	}
	return -1
}

// startEcho runs model-echo; latencyMS is how long each infer call
// "computes" (LATENCY_MS), "0" for none.
func startEcho(b *testing.B, bin, latencyMS string) *process {
	return start(b, bin, "TARGET=bench", "MODEL_NAME=model-echo", "MODEL_VERSION=bench", modelapi.EnvLatencyMS+"="+latencyMS)
}

// relay forwards the bytes of every connection on addr to upstream and
// back, with no HTTP at all: the cheapest a process between caller and
// model can be. Its added latency is the floor of any proxy's on the
// machine: two more loopback legs and the wake-ups of one more process.
func relay(addr, upstream string) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		go func() {
			defer c.Close()
			u, err := net.Dial("tcp", upstream)
			if err != nil {
				return
			}
			defer u.Close()
			go func() { io.Copy(u, c); u.(*net.TCPConn).CloseWrite() }()
			io.Copy(c, u)
		}()
	}
}

// startRelay runs this test binary again as the byte relay in front of
// upstream.
func startRelay(b *testing.B, upstream *process) *process {
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	return start(b, self, relayEnv+"=1", modelapi.EnvModelUpstream+"="+strings.TrimPrefix(upstream.base, "http://"))
}

// startAgent runs the agent in front of upstream; BENCH_AGENT_ENV (space
// separated KEY=VALUE, e.g. "GOMAXPROCS=1") is added to its environment
// only, to compare runtime settings.
func startAgent(b *testing.B, bin string, upstream *process, payloadLog bool) *process {
	env := append([]string{
		modelapi.EnvModelUpstream + "=" + strings.TrimPrefix(upstream.base, "http://"),
		modelapi.EnvModelReadinessPath + "=" + modelapi.PathReady,
		"MODEL_NAME=model-echo", "MODEL_VERSION=bench",
		modelapi.EnvPayloadLog + "=" + strconv.FormatBool(payloadLog),
	}, strings.Fields(os.Getenv("BENCH_AGENT_ENV"))...)
	return start(b, bin, env...)
}

func newClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns: inFlight, MaxIdleConnsPerHost: inFlight, DisableCompression: true,
	}}
}

// round is one arm's share of a round: n requests from inFlight workers.
type round struct {
	n       int
	elapsed time.Duration
	lat     []time.Duration
}

func (r round) rps() float64 { return float64(r.n) / r.elapsed.Seconds() }

func (r round) pct(p float64) time.Duration {
	s := slices.Clone(r.lat)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// body makes a request's body; streamed bodies hide their length, so
// they go chunked as a streaming client sends them.
type body func() io.Reader

func fixed(b []byte) body { return func() io.Reader { return bytes.NewReader(b) } }

func streamed(b []byte) body {
	return func() io.Reader { return struct{ io.Reader }{bytes.NewReader(b)} }
}

// drive sends n POSTs of body to url from inFlight workers, each
// answer read whole, and times each.
func drive(b *testing.B, c *http.Client, url string, n int, mk body) round {
	var (
		mu   sync.Mutex
		lat  = make([]time.Duration, 0, n)
		left atomic.Int64
		wg   sync.WaitGroup
	)
	left.Store(int64(n))
	t0 := time.Now()
	for range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, n/inFlight+1)
			for left.Add(-1) >= 0 {
				s := time.Now()
				if err := post(c, url, mk()); err != nil {
					b.Error(err)
					return
				}
				local = append(local, time.Since(s))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return round{n: n, elapsed: time.Since(t0), lat: lat}
}

func post(c *http.Client, url string, body io.Reader) error {
	resp, err := c.Post(url, "application/json", body)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %s", url, resp.Status)
	}
	return err
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// arm is one way to reach model-echo: through front (nil: directly).
type arm struct {
	name     string
	front    *process
	client   *http.Client
	rounds   []round
	frontCPU time.Duration // the agent's CPU time in this arm's rounds
	echoCPU  time.Duration // model-echo's
}

// BenchmarkAgentVsModelEcho compares model-echo alone with model-echo
// behind model-agent, PAYLOAD_LOG off and on, and behind a byte relay
// (the floor of any proxy on the machine), all processes on 127.0.0.1
// (one model-echo serves all arms, so its state is the same),
// twice: model-echo answering at once (the agent's cost against the
// cheapest possible model) and computing 5 ms per call (LATENCY_MS=5;
// the example's scikit-learn models take 7 and 33 ms).
// Every round drives each arm with b.N/rounds infer POSTs from 8
// keep-alive clients, in an order that rotates round by round, so load
// from the rest of the machine falls on all arms alike. It reports the
// medians over rounds of each arm's req/s, p50 and p99, of the agent's
// throughput ratio to model-echo alone (min and max too) and of its added
// p50, of each agent arm's p50 over the relay's, and the payload events
// the agent wrote per request.
func BenchmarkAgentVsModelEcho(b *testing.B) {
	b.Run("model=instant", func(b *testing.B) { agentVsModelEcho(b, "0") })
	b.Run("model=5ms", func(b *testing.B) { agentVsModelEcho(b, "5") })
}

func agentVsModelEcho(b *testing.B, latencyMS string) {
	echoBin, agentBin := binaries(b)
	echo := startEcho(b, echoBin, latencyMS)
	byteRelay := startRelay(b, echo)
	plain := startAgent(b, agentBin, echo, false)
	logging := startAgent(b, agentBin, echo, true)
	arms := []*arm{
		{name: "echo", client: newClient()},
		{name: "relay", front: byteRelay, client: newClient()},
		{name: "agent", front: plain, client: newClient()},
		{name: "agent-log", front: logging, client: newClient()},
	}
	url := func(a *arm) string {
		if a.front == nil {
			return echo.base + inferPath
		}
		return a.front.base + inferPath
	}
	const rounds = 15
	per := max(b.N/rounds, 100)
	for _, a := range arms { // warm up: connections, pools, the page cache
		drive(b, a.client, url(a), 4*inFlight, fixed(inferBody))
	}
	time.Sleep(100 * time.Millisecond) // the warm-up's events are written
	eventsBefore := logging.stdout.lines.Load()
	b.ResetTimer()
	for i := range rounds {
		for j := range arms {
			a := arms[(i+j)%len(arms)]
			echo0 := echo.cpu(b)
			var front0 time.Duration
			if a.front != nil {
				front0 = a.front.cpu(b)
			}
			a.rounds = append(a.rounds, drive(b, a.client, url(a), per, fixed(inferBody)))
			a.echoCPU += echo.cpu(b) - echo0
			if a.front != nil {
				a.frontCPU += a.front.cpu(b) - front0
			}
		}
	}
	b.StopTimer()
	perReq := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(rounds*per) }
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	base, floor := arms[0], arms[1]
	for _, a := range arms {
		var rps, p50, p99 []float64
		for _, r := range a.rounds {
			rps, p50, p99 = append(rps, r.rps()), append(p50, ms(r.pct(0.50))), append(p99, ms(r.pct(0.99)))
		}
		b.ReportMetric(median(rps), a.name+"-req/s")
		b.ReportMetric(median(p50), a.name+"-p50-ms")
		b.ReportMetric(median(p99), a.name+"-p99-ms")
		b.ReportMetric(perReq(a.echoCPU), a.name+"-echo-cpu-µs/req")
		if a == base {
			continue
		}
		b.ReportMetric(perReq(a.frontCPU), a.name+"-cpu-µs/req")
		var ratio []float64
		for i, r := range a.rounds {
			ratio = append(ratio, r.rps()/base.rounds[i].rps())
		}
		b.ReportMetric(median(ratio), a.name+"-ratio")
		b.ReportMetric(slices.Min(ratio), a.name+"-ratio-min")
		b.ReportMetric(slices.Max(ratio), a.name+"-ratio-max")
		b.ReportMetric(medianP50Over(a, base), a.name+"-added-p50-ms")
		if a != floor {
			b.ReportMetric(medianP50Over(a, floor), a.name+"-over-relay-p50-ms")
		}
	}
	time.Sleep(200 * time.Millisecond) // the agent writes its batch within milliseconds
	events := float64(logging.stdout.lines.Load() - eventsBefore)
	b.ReportMetric(events/float64(rounds*per), "agent-log-events/req")
	b.ReportMetric(logging.metric(b, modelapi.MetricPayloadDropped+`{queue="log"}`), "agent-log-dropped")
}

// medianP50Over is the median over rounds of a's p50 minus ref's in the
// same round, in ms.
func medianP50Over(a, ref *arm) float64 {
	var over []float64
	for i, r := range a.rounds {
		over = append(over, float64((r.pct(0.50)-ref.rounds[i].pct(0.50)).Microseconds())/1000)
	}
	return median(over)
}

// bigInferBody is an OIP v2 infer request of exactly size bytes (model-echo
// takes up to 1 MiB): FP64 inputs, padded with spaces, still valid JSON.
func bigInferBody(size int) []byte {
	var buf bytes.Buffer
	n := size / 12 // "123456.789," and a little room
	fmt.Fprintf(&buf, `{"inputs":[{"name":"x","shape":[%d],"datatype":"FP64","data":[`, n)
	for i := range n {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, "%d.5", i%100000)
	}
	buf.WriteString("]}]}")
	for buf.Len() < size {
		buf.WriteByte(' ')
	}
	if buf.Len() > size {
		panic(errors.New("bigInferBody: the inputs outgrew the size"))
	}
	return buf.Bytes()
}

// BenchmarkAgentMemoryUnder1MiBBodies drives b.N infer POSTs of 1 MiB,
// streamed (chunked), 8 in flight, through model-agent with PAYLOAD_LOG on
// in front of model-echo, whose answers are about as large; both bodies
// of every request go through the agent's payload log (cut at
// modelapi.PayloadMaxBodyBytes). It reports the agent's resident memory
// when idle and at its peak (VmHWM), what the run pushed through it, and
// the payload events it dropped rather than hold.
func BenchmarkAgentMemoryUnder1MiBBodies(b *testing.B) {
	echoBin, agentBin := binaries(b)
	echo := startEcho(b, echoBin, "0")
	agent := startAgent(b, agentBin, echo, true)
	big := bigInferBody(1 << 20)
	c := newClient()
	idle := agent.rss(b)
	b.SetBytes(int64(len(big)))
	cpu0 := agent.cpu(b)
	b.ResetTimer()
	n := max(b.N, inFlight)
	r := drive(b, c, agent.base+inferPath, n, streamed(big))
	b.StopTimer()
	b.ReportMetric(float64((agent.cpu(b)-cpu0).Microseconds())/float64(n), "agent-cpu-µs/req")
	time.Sleep(200 * time.Millisecond) // let the payload log catch up before reading its counters
	b.ReportMetric(idle, "agent-idle-rss-MiB")
	b.ReportMetric(agent.peakRSS(b), "agent-peak-rss-MiB")
	b.ReportMetric(echo.peakRSS(b), "echo-peak-rss-MiB")
	b.ReportMetric(r.rps(), "req/s")
	b.ReportMetric(float64(r.pct(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(agent.stdout.lines.Load()), "events-written")
	b.ReportMetric(agent.metric(b, modelapi.MetricPayloadDropped+`{queue="log"}`), "events-dropped")
}
