package measure

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// Metrics are one process's /metrics, parsed.
type Metrics map[string]*dto.MetricFamily

// ParseMetrics reads the Prometheus text exposition format.
func ParseMetrics(text []byte) (Metrics, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("parse metrics: %w", err)
	}
	return fams, nil
}

// Sum adds up the samples of a counter, gauge or untyped metric whose
// labels include want; found is false when no sample matched.
func (m Metrics) Sum(metric string, want map[string]string) (sum float64, found bool) {
	fam, ok := m[metric]
	if !ok {
		return 0, false
	}
	for _, s := range fam.GetMetric() {
		if !hasLabels(s, want) {
			continue
		}
		switch {
		case s.Counter != nil:
			sum += s.Counter.GetValue()
		case s.Gauge != nil:
			sum += s.Gauge.GetValue()
		case s.Untyped != nil:
			sum += s.Untyped.GetValue()
		default:
			continue
		}
		found = true
	}
	return sum, found
}

// Label returns the value of label on the first sample of metric.
func (m Metrics) Label(metric, label string) string {
	fam, ok := m[metric]
	if !ok || len(fam.GetMetric()) == 0 {
		return ""
	}
	for _, lp := range fam.GetMetric()[0].GetLabel() {
		if lp.GetName() == label {
			return lp.GetValue()
		}
	}
	return ""
}

func hasLabels(s *dto.Metric, want map[string]string) bool {
	have := 0
	for _, lp := range s.GetLabel() {
		if v, ok := want[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			have++
		}
	}
	return have == len(want)
}

// PodMetrics is one pod's /metrics.
type PodMetrics struct {
	// Pod names the process: the Kubernetes pod name, or through the
	// ingress the hostname label of model-echo's info metric.
	Pod     string
	Metrics Metrics
}

// Pods reads /metrics of every pod of one version: a counter is only the
// version's when it is summed over all of them.
type Pods interface {
	// Scrape returns one fresh reading of every pod.
	Scrape(ctx context.Context) ([]PodMetrics, error)
	// String says how pods are reached, for reports.
	String() string
}

// IngressPods reaches a version's pods through the ingress on the
// version's own host. Each scrape lands on whichever pod the ingress
// picks, so it scrapes until Replicas distinct pods (told apart by the
// hostname label of model-echo's info metric) have answered. Use it where
// no kubeconfig is at hand; the stack's outputs say how many replicas.
type IngressPods struct {
	Client   *Client
	Host     string
	Replicas int // pods to find; at least 1
	// MaxScrapes bounds one Scrape; default 20 per replica plus 10
	// (missing a pod among 2 after 50 random picks has chance 2^-49).
	MaxScrapes int
}

func (p *IngressPods) String() string {
	return fmt.Sprintf("%d pod(s) through the ingress on %s", max(p.Replicas, 1), p.Host)
}

// Scrape implements Pods.
func (p *IngressPods) Scrape(ctx context.Context) ([]PodMetrics, error) {
	want := max(p.Replicas, 1)
	limit := p.MaxScrapes
	if limit <= 0 {
		limit = 20*want + 10
	}
	seen := map[string]PodMetrics{}
	for i := 0; i < limit && len(seen) < want; i++ {
		req := Get(p.Host, modelapi.PathMetrics)
		req.Header = http.Header{"Accept": {string(expfmt.NewFormat(expfmt.TypeTextPlain))}}
		a := p.Client.Do(ctx, req)
		if !a.OK() {
			return nil, fmt.Errorf("scrape %s%s: %s", p.Host, modelapi.PathMetrics, a.Problem())
		}
		m, err := ParseMetrics(a.Body)
		if err != nil {
			return nil, fmt.Errorf("scrape %s%s: %w", p.Host, modelapi.PathMetrics, err)
		}
		pod := m.Label(modelapi.MetricInfo, modelapi.LabelHostname)
		if pod == "" && want > 1 {
			return nil, fmt.Errorf("scrape %s%s: no %s label on %s, so %d pods cannot be told apart through the ingress (use the Kubernetes API)",
				p.Host, modelapi.PathMetrics, modelapi.LabelHostname, modelapi.MetricInfo, want)
		}
		seen[pod] = PodMetrics{Pod: pod, Metrics: m}
	}
	if len(seen) < want {
		return nil, fmt.Errorf("scrape %s%s: %d of %d pods answered in %d scrapes through the ingress", p.Host, modelapi.PathMetrics, len(seen), want, limit)
	}
	return sortedPods(seen), nil
}

// KubePods lists a version's pods through the Kubernetes API and reads
// each one's /metrics through the API server's pod proxy, so every pod is
// read exactly once per scrape.
type KubePods struct {
	Client    kubernetes.Interface
	Namespace string
	Selector  string // label selector of the version's pods
	Port      int    // default modelapi.Port
}

func (p *KubePods) String() string {
	return fmt.Sprintf("pods %q in namespace %s through the Kubernetes API", p.Selector, p.Namespace)
}

// Scrape implements Pods. Pods not running (or without an IP yet) are
// skipped: they have served nothing.
func (p *KubePods) Scrape(ctx context.Context) ([]PodMetrics, error) {
	list, err := p.Client.CoreV1().Pods(p.Namespace).List(ctx, metav1.ListOptions{LabelSelector: p.Selector})
	if err != nil {
		return nil, fmt.Errorf("list pods %q in %s: %w", p.Selector, p.Namespace, err)
	}
	port := p.Port
	if port == 0 {
		port = modelapi.Port
	}
	seen := map[string]PodMetrics{}
	for _, pod := range list.Items {
		if pod.Status.Phase != corev1.PodRunning || pod.Status.PodIP == "" || pod.DeletionTimestamp != nil {
			continue
		}
		body, err := p.Client.CoreV1().Pods(p.Namespace).ProxyGet("", pod.Name, strconv.Itoa(port), modelapi.PathMetrics, nil).DoRaw(ctx)
		if err != nil {
			return nil, fmt.Errorf("read %s/%s:%d%s through the API server: %w", p.Namespace, pod.Name, port, modelapi.PathMetrics, err)
		}
		m, err := ParseMetrics(body)
		if err != nil {
			return nil, fmt.Errorf("pod %s/%s: %w", p.Namespace, pod.Name, err)
		}
		seen[pod.Name] = PodMetrics{Pod: pod.Name, Metrics: m}
	}
	if len(seen) == 0 {
		return nil, fmt.Errorf("no running pods match %q in namespace %s", p.Selector, p.Namespace)
	}
	return sortedPods(seen), nil
}

func sortedPods(m map[string]PodMetrics) []PodMetrics {
	out := make([]PodMetrics, 0, len(m))
	for _, pm := range m {
		out = append(out, pm)
	}
	slices.SortFunc(out, func(a, b PodMetrics) int { return strings.Compare(a.Pod, b.Pod) })
	return out
}

// Series selects samples: a metric and labels they must have.
type Series struct {
	Metric string
	Labels map[string]string
}

// Reading is a counter summed over every pod of a version at one time,
// with the requests that pods were still serving.
type Reading struct {
	PerPod   map[string]float64
	InFlight float64
	At       time.Time
}

// Read scrapes every pod once and reads counter (and inflight, when its
// Metric is set). A pod that exports no matching sample counts 0.
func Read(ctx context.Context, pods Pods, counter, inflight Series) (Reading, error) {
	ps, err := pods.Scrape(ctx)
	if err != nil {
		return Reading{}, err
	}
	r := Reading{PerPod: map[string]float64{}, At: time.Now()}
	for _, pm := range ps {
		v, _ := pm.Metrics.Sum(counter.Metric, counter.Labels)
		r.PerPod[pm.Pod] = v
		if inflight.Metric != "" {
			f, _ := pm.Metrics.Sum(inflight.Metric, inflight.Labels)
			r.InFlight += f
		}
	}
	return r, nil
}

// Delta is how much the counter grew since before, over every pod; pods
// that appeared since count from 0. A pod whose counter went down
// restarted and lost counts: that is an error, not a smaller delta.
func (r Reading) Delta(before Reading) (int, error) {
	var d float64
	for pod, v := range r.PerPod {
		b := before.PerPod[pod]
		if v < b {
			return 0, fmt.Errorf("the counter of pod %q went down from %g to %g: it restarted during the run", pod, b, v)
		}
		d += v - b
	}
	return int(math.Round(d)), nil
}

// CountWait says how long to wait for a counter to reach its final value.
type CountWait struct {
	// Want is the count from which the wait may end early: it ends once
	// the delta is at least Want, nothing is in flight and the delta held
	// still for Quiet.
	Want  int
	Quiet time.Duration
	// Patience ends the wait short of Want once nothing is in flight and
	// the delta held still that long (a mirror sending fewer copies).
	Patience time.Duration
	// Deadline bounds the whole wait; Poll spaces the readings.
	Deadline time.Duration
	Poll     time.Duration
}

// WaitCount reads the counter until it settles as w says. It returns the
// last reading, its delta from before, and settled=false when the
// deadline (or ctx) ended the wait instead.
func WaitCount(ctx context.Context, pods Pods, counter, inflight Series, before Reading, w CountWait) (r Reading, delta int, settled bool, err error) {
	if w.Poll <= 0 {
		w.Poll = 200 * time.Millisecond
	}
	deadline := time.Now().Add(w.Deadline)
	var since time.Time // when the delta last changed
	last := -1
	for {
		r, err = Read(ctx, pods, counter, inflight)
		if err != nil {
			return r, 0, false, err
		}
		delta, err = r.Delta(before)
		if err != nil {
			return r, 0, false, err
		}
		if delta != last || r.InFlight > 0 {
			last, since = delta, r.At
		}
		still := r.At.Sub(since)
		if (delta >= w.Want && still >= w.Quiet) || still >= w.Patience {
			return r, delta, true, nil
		}
		if time.Now().After(deadline) {
			return r, delta, false, nil
		}
		select {
		case <-ctx.Done():
			return r, delta, false, nil
		case <-time.After(w.Poll):
		}
	}
}

// Records reads host's /debug/requests from time since on (by the
// server's clock). Through the ingress this is the ring of the one pod the
// ingress picks.
func Records(ctx context.Context, c *Client, host string, since time.Time) ([]modelapi.RequestRecord, error) {
	a := c.Do(ctx, Get(host, modelapi.PathDebugRequests+"?"+modelapi.QuerySince+"="+url.QueryEscape(since.UTC().Format(time.RFC3339Nano))))
	if !a.OK() {
		return nil, fmt.Errorf("read %s%s: %s", host, modelapi.PathDebugRequests, a.Problem())
	}
	var recs []modelapi.RequestRecord
	if err := json.Unmarshal(a.Body, &recs); err != nil {
		return nil, fmt.Errorf("decode %s%s: %w", host, modelapi.PathDebugRequests, err)
	}
	return recs, nil
}
