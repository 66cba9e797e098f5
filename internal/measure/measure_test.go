package measure_test

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/kubeclient"
	"github.com/modelrollouts/modelrollouts/internal/labtest"
	"github.com/modelrollouts/modelrollouts/internal/measure"
	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
	"github.com/modelrollouts/modelrollouts/model-echo/server"
)

func client(t *testing.T, url string, retries int) *measure.Client {
	t.Helper()
	c, err := measure.NewClient(url, measure.ClientOptions{Timeout: 5 * time.Second, Retries: retries,
		RetryBackoff: measure.Backoff{Initial: time.Millisecond, Max: 5 * time.Millisecond, Factor: 2}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func echo(t *testing.T, cfg server.Config) string {
	t.Helper()
	if cfg.Target == "" {
		cfg.Target = "hello"
	}
	ts := httptest.NewServer(server.New(cfg, slog.New(slog.DiscardHandler)))
	t.Cleanup(ts.Close)
	return ts.URL
}

func TestSendStopsWhenObserveSaysSo(t *testing.T) {
	c := client(t, echo(t, server.Config{Version: "v1"}), 0)
	tally := measure.NewTally()
	calls := 0
	n := c.Send(context.Background(), measure.Batch{N: 1000, Concurrency: 4,
		Request: func(int) measure.Request { return measure.Get("any", "/") },
	}, func(i int, a measure.Answer) bool {
		calls++ // observe is serialised: no race here under -race
		tally.Add(a)
		return tally.Version("v1").OK < 50
	})
	if n < 50 || n > 54 || n != calls {
		t.Fatalf("observed %d answers (calls %d), want 50 plus at most the 4 in flight", n, calls)
	}
	if v := tally.Version("v1"); v.Requests != n || v.OK != n || len(v.Latencies) != n || v.InterpolatedLatency(.99) <= 0 {
		t.Errorf("tally %+v", v)
	}
}

func TestDoRetriesOnlyAttemptsWithoutAnAnswer(t *testing.T) {
	var hits atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) <= 2 {
			// A connection reset before any answer, as a dying pod gives.
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		w.Header().Set(modelapi.HeaderModelVersion, "v1")
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	}))
	t.Cleanup(ts.Close)
	a := client(t, ts.URL, 2).Do(context.Background(), measure.Get("h", "/"))
	if a.Status != http.StatusServiceUnavailable || a.Attempts != 3 || !a.Failed() || a.Version != "v1" {
		t.Fatalf("answer %+v: want the 503 after 2 retried resets", a)
	}
	// The 503 is an answer: never retried.
	a = client(t, ts.URL, 2).Do(context.Background(), measure.Get("h", "/"))
	if a.Attempts != 1 || a.Status != http.StatusServiceUnavailable {
		t.Fatalf("a 503 was retried: %+v", a)
	}
	// Without retries the reset is the answer.
	hits.Store(0)
	if a := client(t, ts.URL, 0).Do(context.Background(), measure.Get("h", "/")); a.Status != 0 || a.Err == nil || !a.Failed() {
		t.Fatalf("no retries: %+v", a)
	}
}

func TestTallyOwnHostAttribution(t *testing.T) {
	tl := measure.NewTally()
	ok := func(v string) measure.Answer { return measure.Answer{Status: 200, Version: v, Attempts: 1} }
	tl.AddOwn("v2", ok("v2"))
	tl.AddOwn("v2", ok("v1")) // the tag host answered by another version
	tl.AddOwn("v2", ok(""))   // a server that does not name itself
	tl.AddOwn("v2", measure.Answer{Err: errors.New("reset"), Attempts: 3})
	tl.Add(measure.Answer{Status: 503, Body: []byte("no healthy upstream")})
	v := tl.Version("v2")
	if v.Requests != 3 || v.OK != 2 || v.Failures != 1 || v.Misrouted != 1 || v.FirstMisroute != "v1" || v.Unnamed != 1 || v.Retried != 1 {
		t.Errorf("v2 tally %+v", v)
	}
	if tl.Version("v1").Requests != 0 {
		t.Error("a misrouted answer counted as evidence for the version that gave it")
	}
	if u := tl.Unattributed; u.Failures != 1 || !strings.Contains(u.FirstProblem, "503") {
		t.Errorf("unattributed %+v", u)
	}
	if b := measure.JudgeBudget(v, .01, .01, .95); b.OK != (v.Failures <= b.Limit) || b.Requests != 3 {
		t.Errorf("budget %+v", b)
	}
}

// randomPods serves each request from a random one of the handlers, as a
// load balancer in front of a version's pods does.
func randomPods(t *testing.T, pods ...http.Handler) string {
	t.Helper()
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(7, 7))
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := pods[rng.IntN(len(pods))]
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts.URL
}

func TestIngressPodsFindsEveryReplica(t *testing.T) {
	var pods []http.Handler
	for _, name := range []string{"model-v2-a", "model-v2-b", "model-v2-c"} {
		pods = append(pods, server.New(server.Config{Target: "x", Version: "v2", Hostname: name}, nil))
	}
	c := client(t, randomPods(t, pods...), 0)
	ip := &measure.IngressPods{Client: c, Host: "v2.lab", Replicas: 3}
	got, err := ip.Scrape(context.Background())
	if err != nil || len(got) != 3 || got[0].Pod != "model-v2-a" || got[2].Pod != "model-v2-c" {
		t.Fatalf("scrape: %v %v", got, err)
	}
	ip.Replicas, ip.MaxScrapes = 4, 20
	if _, err := ip.Scrape(context.Background()); err == nil || !strings.Contains(err.Error(), "3 of 4 pods") {
		t.Fatalf("a missing replica went unnoticed: %v", err)
	}
}

func TestKubePodsReadsEveryPodThroughTheAPIServer(t *testing.T) {
	lab := labtest.NewShadow(t, labtest.Version{Name: "v1", Target: "p"},
		labtest.Version{Name: "v2", Target: "s", Replicas: 2}, 0, 1)
	calls := lab.KubeAPI(t)
	cs, err := kubeclient.New(kubeclient.Source{Kubeconfig: lab.Outputs.Kubeconfig})
	if err != nil {
		t.Fatal(err)
	}
	kp := &measure.KubePods{Client: cs, Namespace: lab.Outputs.Namespace, Selector: lab.Outputs.Versions["v2"].PodSelector}
	got, err := kp.Scrape(context.Background())
	if err != nil || len(got) != 2 || got[0].Pod != "model-v2-0" || got[1].Pod != "model-v2-1" {
		t.Fatalf("scrape: %v %v", got, err)
	}
	for _, pm := range got {
		if host := pm.Metrics.Label(modelapi.MetricInfo, modelapi.LabelHostname); host != pm.Pod {
			t.Errorf("pod %s answered with hostname %q: read through the wrong pod", pm.Pod, host)
		}
	}
	if calls["list"] != 1 || calls["proxy"] != 2 {
		t.Errorf("API calls %v, want 1 list and 2 proxied reads", calls)
	}
	kp.Selector = "version=v9"
	if _, err := kp.Scrape(context.Background()); err == nil || !strings.Contains(err.Error(), "no running pods") {
		t.Errorf("no pods: %v", err)
	}
}

// scripted is a version's pods whose counter and in-flight gauge follow a
// script over time.
type scripted struct {
	start time.Time
	at    func(d time.Duration) (count, inFlight float64)
}

func (s *scripted) String() string { return "scripted" }

func (s *scripted) Scrape(context.Context) ([]measure.PodMetrics, error) {
	c, f := s.at(time.Since(s.start))
	text := "# TYPE copies counter\ncopies{route=\"infer\"} " + ftoa(c) + "\n# TYPE busy gauge\nbusy{route=\"infer\"} " + ftoa(f) + "\n"
	m, err := measure.ParseMetrics([]byte(text))
	return []measure.PodMetrics{{Pod: "p", Metrics: m}}, err
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func TestWaitCountWaitsForCopiesInFlight(t *testing.T) {
	counter := measure.Series{Metric: "copies", Labels: map[string]string{"route": "infer"}}
	busy := measure.Series{Metric: "busy", Labels: map[string]string{"route": "infer"}}
	// A slow shadow: 7 copies in flight for 0.15 s, longer than the wait's
	// patience with a counter that holds still, then all answered. No
	// outcome depends on how late a reading comes: in-flight copies keep
	// the wait open however long it takes to read them.
	slow := func(d time.Duration) (float64, float64) {
		if d < 150*time.Millisecond {
			return 0, 7
		}
		return 7, 0
	}
	for _, want := range []int{7, 0} { // a mirror expected on, and one expected off
		s := &scripted{start: time.Now(), at: slow}
		before, _ := measure.Read(context.Background(), s, counter, busy)
		before.PerPod["p"] = 0
		_, got, settled, err := measure.WaitCount(context.Background(), s, counter, busy, before, measure.CountWait{
			Want: want, Quiet: 20 * time.Millisecond, Patience: 50 * time.Millisecond, Deadline: 10 * time.Second, Poll: 5 * time.Millisecond})
		if err != nil || !settled || got != 7 {
			t.Errorf("want %d: counted %d (settled %v, %v), want all 7 copies", want, got, settled, err)
		}
	}
	// Copies that never finish: the deadline ends the wait, unsettled.
	s := &scripted{start: time.Now(), at: func(time.Duration) (float64, float64) { return 3, 2 }}
	before := measure.Reading{PerPod: map[string]float64{"p": 0}}
	start := time.Now()
	_, got, settled, err := measure.WaitCount(context.Background(), s, counter, busy, before, measure.CountWait{
		Want: 5, Quiet: 20 * time.Millisecond, Patience: 40 * time.Millisecond, Deadline: 80 * time.Millisecond, Poll: 5 * time.Millisecond})
	if err != nil || settled || got != 3 || time.Since(start) > 2*time.Second {
		t.Errorf("hung copies: %d settled=%v err=%v after %s", got, settled, err, time.Since(start))
	}
}

func TestReadingDeltaCoversEveryPodAndRefusesRestarts(t *testing.T) {
	before := measure.Reading{PerPod: map[string]float64{"a": 10, "b": 5}}
	after := measure.Reading{PerPod: map[string]float64{"a": 14, "b": 8, "c": 2}}
	if d, err := after.Delta(before); err != nil || d != 9 {
		t.Errorf("delta %d %v, want 4+3+2", d, err)
	}
	after.PerPod["b"] = 1
	if _, err := after.Delta(before); err == nil || !strings.Contains(err.Error(), "restarted") {
		t.Errorf("a counter that went down: %v", err)
	}
}
