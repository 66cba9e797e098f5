package labtest

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
	"github.com/modelrollouts/modelrollouts/stacks"
)

// ProcessVersion is one version of the lab: one model-echo process with its
// LatencyMS and ErrorRate, or, with Pods, one process per pod, which the
// proxy takes in turn as a Kubernetes Service's endpoints are.
type ProcessVersion struct {
	Name      string
	LatencyMS float64
	ErrorRate float64
	Pods      []ProcessPod
}

// ProcessPod is one model-echo process of a version with several pods.
type ProcessPod struct {
	LatencyMS float64
	ErrorRate float64
}

func (v ProcessVersion) pods() []ProcessPod {
	if len(v.Pods) == 0 {
		return []ProcessPod{{LatencyMS: v.LatencyMS, ErrorRate: v.ErrorRate}}
	}
	return v.Pods
}

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// ModelEcho builds the model-echo command once per test binary and
// returns its path.
func ModelEcho(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := stacks.FindProjectDir(".")
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "labtest-model-echo-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "model-echo")
		cmd := exec.Command("go", "build", "-o", binary, "./model-echo")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./model-echo: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// startProcess runs model-echo for a pod of v on a free 127.0.0.1 port
// and waits until it is ready. seed seeds the ids it gives requests, and
// so which of them its ERROR_RATE fails.
func startProcess(t testing.TB, bin string, v ProcessVersion, pod ProcessPod, seed uint64) string {
	t.Helper()
	for attempt := 0; ; attempt++ {
		port := freePort(t)
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(),
			modelapi.EnvTarget+"=model "+v.Name,
			modelapi.EnvModelVersion+"="+v.Name,
			modelapi.EnvHost+"=127.0.0.1",
			modelapi.EnvPort+"="+strconv.Itoa(port),
			modelapi.EnvLatencyMS+"="+strconv.FormatFloat(pod.LatencyMS, 'f', -1, 64),
			modelapi.EnvErrorRate+"="+strconv.FormatFloat(pod.ErrorRate, 'f', -1, 64),
			modelapi.EnvRequestIDSeed+"="+strconv.FormatUint(seed, 10),
		)
		if err := cmd.Start(); err != nil {
			t.Fatalf("start model-echo %s: %v", v.Name, err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				cmd.Process.Kill()
				<-exited
			}
		})
		base := "http://127.0.0.1:" + strconv.Itoa(port)
		if waitReady(base+modelapi.PathReady, exited) {
			return base
		}
		if attempt >= 2 {
			t.Fatalf("model-echo %s did not become ready on %s", v.Name, base)
		}
		// The port was taken between our probe and its bind: try another.
	}
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitReady(url string, exited <-chan struct{}) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// ProcessLab is a running canary: processes, the proxy, and the stack outputs
// that describe them (with a rollout block).
type ProcessLab struct {
	Outputs *stacks.Outputs
	proxy   *processProxy
}

// StartProcesses runs versions split by percent; the rollout judges candidate
// against baseline on the default ladder with the default gate.
func StartProcesses(t testing.TB, versions []ProcessVersion, percent map[string]int, candidate, baseline string) *ProcessLab {
	t.Helper()
	bin := ModelEcho(t)
	const userHost = "model.models.example.com"
	p := &processProxy{
		userHost: userHost, backends: map[string][]*url.URL{}, hosts: map[string]string{},
		weights: map[string]float64{}, meshFail: map[string]float64{}, next: map[string]int{},
		cold: map[string]time.Duration{}, readyAt: map[string]time.Time{},
		// Seeded by the test's name: the router draws under its lock, so a
		// test's per-version counts are the same on every run and a test
		// fails because the code changed, never by chance.
		rng: rand.New(rand.NewPCG(seedOf(t.Name()), 0x9e3779b97f4a7c15)),
	}
	p.transport = &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64}
	o := &stacks.Outputs{
		Strategy: stacks.StrategyCanary, Namespace: "models", Host: userHost,
		Versions: map[string]stacks.VersionOutput{}, Split: map[string]int{},
	}
	for _, v := range versions {
		for i, pod := range v.pods() {
			// Seeded by the test, version and pod: the gate looks after
			// whole batches, so the failures it counts at each look are
			// the same on every run.
			seed := seedOf(fmt.Sprintf("%s/%s/%d", t.Name(), v.Name, i)) | 1
			base, _ := url.Parse(startProcess(t, bin, v, pod, seed))
			p.backends[v.Name] = append(p.backends[v.Name], base)
		}
		host := v.Name + "-" + userHost
		pc := percent[v.Name]
		p.hosts[host], p.weights[v.Name] = v.Name, float64(pc)
		p.order = append(p.order, v.Name)
		o.Versions[v.Name] = stacks.VersionOutput{Target: "model " + v.Name, Host: host, URL: "http://" + host, Tag: v.Name, Percent: &pc}
		o.Split[v.Name] = pc
	}
	slices.Sort(p.order)
	cfg := stacks.RolloutConfig{Candidate: candidate, Baseline: baseline}
	var cv []stacks.CanaryVersion
	for _, v := range versions {
		pc := percent[v.Name]
		cv = append(cv, stacks.CanaryVersion{ModelSettings: stacks.ModelSettings{Name: v.Name}, Percent: &pc})
	}
	cfg.SetDefaults(cv)
	out := cfg.Output(cv)
	o.Rollout = &out
	srv := httptest.NewServer(p)
	t.Cleanup(func() {
		srv.Close()
		p.transport.CloseIdleConnections()
	})
	o.IngressURL = srv.URL
	return &ProcessLab{Outputs: o, proxy: p}
}

// Misroute sends the tag host of version to another version's process,
// as a wrong traffic tag would.
func (l *ProcessLab) Misroute(version, to string) {
	l.proxy.mu.Lock()
	defer l.proxy.mu.Unlock()
	l.proxy.hosts[version+"-"+l.proxy.userHost] = to
}

// StripVersionHeader removes X-Model-Version from every answer, as a model
// server that does not name itself would.
func (l *ProcessLab) StripVersionHeader() {
	l.proxy.mu.Lock()
	defer l.proxy.mu.Unlock()
	l.proxy.strip = true
}

// FailInMesh makes the proxy answer share of version's requests (on any
// host) itself with a 503 that names no version, as Envoy does for a
// version whose pods crash or refuse connections.
func (l *ProcessLab) FailInMesh(version string, share float64) {
	l.proxy.mu.Lock()
	defer l.proxy.mu.Unlock()
	l.proxy.meshFail[version] = share
}

// HostsWithPort makes the outputs name every host with the ingress's
// port, as a user host does behind a gateway on a port of its own; the
// proxy, like Envoy (which keeps the port in :authority and matches the
// host with or without it), routes either spelling.
func (l *ProcessLab) HostsWithPort(t testing.TB) {
	t.Helper()
	u, err := url.Parse(l.Outputs.IngressURL)
	if err != nil {
		t.Fatal(err)
	}
	withPort := func(h string) string { return net.JoinHostPort(h, u.Port()) }
	l.Outputs.Host = withPort(l.Outputs.Host)
	for name, v := range l.Outputs.Versions {
		v.Host = withPort(v.Host)
		v.URL = "http://" + v.Host
		l.Outputs.Versions[name] = v
	}
}

// ColdStart makes version scaled to zero: the first request to reach it
// starts a pod that is ready d later, and every request until then is
// held, as Knative's activator holds them.
func (l *ProcessLab) ColdStart(version string, d time.Duration) {
	l.proxy.mu.Lock()
	defer l.proxy.mu.Unlock()
	l.proxy.cold[version] = d
}

// SetWeights changes the split the proxy really applies.
func (l *ProcessLab) SetWeights(w map[string]int) {
	l.proxy.mu.Lock()
	defer l.proxy.mu.Unlock()
	l.proxy.weights = map[string]float64{}
	for v, n := range w {
		l.proxy.weights[v] = float64(n)
	}
}

// WriteOutputs writes the outputs as `pulumi stack output --json` does.
func (l *ProcessLab) WriteOutputs(t testing.TB, path string) {
	t.Helper()
	b, err := json.MarshalIndent(l.Outputs, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

type processProxy struct {
	userHost  string
	transport *http.Transport

	mu       sync.Mutex
	rng      *rand.Rand
	backends map[string][]*url.URL // a version's pods
	next     map[string]int        // the pod each version's next request goes to
	hosts    map[string]string
	weights  map[string]float64
	meshFail map[string]float64
	cold     map[string]time.Duration // cold start of a version scaled to zero
	readyAt  map[string]time.Time     // when a cold version's pod is up
	order    []string
	strip    bool
}

func (p *processProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h // Envoy matches "host" and "host:*" alike
	}
	p.mu.Lock()
	version := p.hosts[host]
	if host == p.userHost {
		version = weightedPick(p.rng, p.order, p.weights)
	}
	var backend *url.URL
	if pods := p.backends[version]; len(pods) > 0 {
		backend = pods[p.next[version]%len(pods)]
		p.next[version]++
	}
	strip := p.strip
	meshFail := p.rng.Float64() < p.meshFail[version]
	var hold time.Duration
	if d := p.cold[version]; d > 0 {
		if _, started := p.readyAt[version]; !started {
			p.readyAt[version] = time.Now().Add(d)
		}
		hold = time.Until(p.readyAt[version])
	}
	p.mu.Unlock()
	if hold > 0 {
		time.Sleep(hold)
	}
	if backend == nil {
		http.Error(w, "no route for host "+r.Host, http.StatusNotFound)
		return
	}
	if meshFail {
		http.Error(w, "no healthy upstream", http.StatusServiceUnavailable)
		return
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(backend)
			pr.Out.Host = pr.In.Host // the mesh keeps the Host header
		},
		Transport: p.transport,
		ModifyResponse: func(resp *http.Response) error {
			if strip {
				resp.Header.Del(modelapi.HeaderModelVersion)
			}
			return nil
		},
	}
	rp.ServeHTTP(w, r)
}

// seedOf is a stable seed for a test name.
func seedOf(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}
