//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/modelrollouts/modelrollouts/internal/kubeclient"
	"github.com/modelrollouts/modelrollouts/internal/shadow/collect"
	"github.com/modelrollouts/modelrollouts/internal/shadow/pipeline"
	"github.com/modelrollouts/modelrollouts/internal/shadow/report"
	"github.com/modelrollouts/modelrollouts/internal/shadow/stats"
	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
	"github.com/modelrollouts/modelrollouts/stacks"
	"github.com/modelrollouts/modelrollouts/test/integration/harness"
)

var kwokLogs = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "logs"}

// The shadow report collects payload events through the real
// kube-apiserver's pods/log subresource, which it proxies to the node:
// kwok serves each pod's log from a file in the CRI format (Logs objects).
// Two pods per version, one restarted (its previous log is read too), and
// logs with truncated, split and non-JSON lines.
func TestShadowReportCollectsEveryPodsLogsThroughTheAPI(t *testing.T) {
	requireTier(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var cluster *harness.Cluster
	var err error
	stage("shadow report: cluster start", func() {
		cluster, err = harness.StartClusterWith(ctx, t.TempDir(), harness.ClusterOptions{
			Name: "modelrollouts-logs", EnableCRDs: []string{"Logs"},
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Stop() })
	kubeconfig, err := os.ReadFile(cluster.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	src := kubeclient.Source{Kubeconfig: string(kubeconfig)}
	client, err := kubeclient.New(src)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := src.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}

	const ns = "models"
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pods := map[string]string{"model-v1-a": "v1", "model-v1-b": "v1", "model-v2-a": "v2", "model-v2-b": "v2"}
	for name, version := range pods {
		createModelPod(ctx, t, client, ns, name, version)
	}
	// Another app's pod in the namespace is not read.
	createModelPod(ctx, t, client, ns, "other", "v9")
	waitRunning(ctx, t, client, ns, len(pods)+1)
	restart(ctx, t, client, ns, "model-v1-b")

	// The logs: 400 user requests, alternating over the primary's pods,
	// half mirrored alternately to the shadow's; model-v1-b restarted
	// after its first 50 requests (the previous log ends in a line cut by
	// the crash).
	dir := t.TempDir()
	logs := newCRILogs(t, dir)
	t0 := time.Now().UTC().Add(-time.Minute)
	const users = 400
	mirrored := 0
	for i := 0; i < users; i++ {
		id := fmt.Sprintf("user-%04d", i)
		at := t0.Add(time.Duration(i) * 10 * time.Millisecond)
		pod := []string{"model-v1-a", "model-v1-b"}[i%2]
		if pod == "model-v1-b" && i < 100 {
			pod = "model-v1-b.previous"
		}
		logs.events(pod, "v1", id, at, false, 0)
		if i%2 == 0 {
			logs.events([]string{"model-v2-a", "model-v2-b"}[(i/2)%2], "v2", id, at.Add(time.Millisecond), true, 0.5)
			mirrored++
		}
	}
	logs.raw("model-v1-b.previous", `{"specversion":"1.0","id":"user-0099","source":"v1","ty`) // cut by the crash
	logs.raw("model-v2-a", "panic: not JSON at all")
	logs.close()
	for name := range pods {
		spec := map[string]any{"containers": []any{modelapi.ContainerName}, "logsFile": logs.path(name)}
		if name == "model-v1-b" {
			spec["previousLogsFile"] = logs.path(name + ".previous")
		}
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Logs",
			"metadata": map[string]any{"name": name, "namespace": ns},
			"spec":     map[string]any{"logs": []any{spec}},
		}}
		if _, err := dyn.Resource(kwokLogs).Namespace(ns).Create(ctx, obj, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create Logs %s: %v", name, err)
		}
	}

	// Collect through the API, as `shadow-report --stack` does.
	var found []collect.Log
	var podInfo []collect.Pod
	deadline := time.Now().Add(30 * time.Second)
	for {
		found, podInfo, err = collect.FromCluster(ctx, client, collect.ClusterOptions{Namespace: ns, Versions: []string{"v1", "v2"}})
		if err == nil && canRead(ctx, found) || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second) // kwok picks up the Logs objects
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range found {
		names = append(names, l.Name)
	}
	want := "model-v1-a/model model-v1-b/model (previous) model-v1-b/model model-v2-a/model model-v2-b/model"
	if strings.Join(names, " ") != want {
		t.Fatalf("logs %q, want %q", names, want)
	}
	if len(podInfo) != 4 || podInfo[1].Restarts != 1 {
		t.Fatalf("pods %+v", podInfo)
	}
	out := t.TempDir()
	mirror := 50.0
	doc, err := pipeline.Run(ctx, pipeline.Options{
		Logs: found, Pods: podInfo, OutDir: out, SaveLogs: filepath.Join(out, "logs"), Source: "kwok",
		Stats: stats.Options{Primary: "v1", Shadow: "v2", MirrorPercent: &mirror, Tolerance: 0.6},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := doc.Summary
	if s.Requests.Seen != users || s.Requests.Paired != int64(mirrored) || s.Requests.PrimaryWithoutResponse != 0 || s.Agreement.Agreeing != int64(mirrored) {
		t.Errorf("requests %+v, agreement %+v; want %d users, %d paired, all agreeing", s.Requests, s.Agreement, users, mirrored)
	}
	in := doc.Inputs
	if in.Lines.Events != int64(2*users+2*mirrored) {
		t.Errorf("events %d, want %d", in.Lines.Events, 2*users+2*mirrored)
	}
	if in.Lines.Malformed != 2 {
		t.Errorf("malformed lines %d, want 2 (the crash-cut line and the panic): %+v", in.Lines.Malformed, in.Logs)
	}
	// The saved copy makes the same report offline.
	again, err := collect.FromDir(filepath.Join(out, "logs"))
	if err != nil || len(again) != 5 {
		t.Fatalf("saved logs %v: %v", again, err)
	}

	// The command as a user runs it: the stack outputs name the cluster
	// (kubeconfig output, read through internal/kubeclient), the
	// namespace, the versions and the mirror share; a time window from
	// the 201st request on; the gate.
	var bin string
	stage("shadow report: build the command", func() {
		bin = filepath.Join(t.TempDir(), "shadow-report")
		if b, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "../../cmd/shadow-report").CombinedOutput(); err != nil {
			t.Fatalf("build shadow-report: %v\n%s", err, b)
		}
	})
	outputs, _ := json.Marshal(stacks.Outputs{
		Strategy: stacks.StrategyShadow, Namespace: ns, IngressURL: "http://127.0.0.1:9", Host: "model.example.com",
		Versions: map[string]stacks.VersionOutput{"v1": {Target: "v1", Role: "primary"}, "v2": {Target: "v2", Role: "shadow"}},
		Primary:  "v1", Shadow: "v2", MirrorPercent: &mirror, Kubeconfig: string(kubeconfig),
	})
	outputsFile := filepath.Join(t.TempDir(), "outputs.json")
	if err := os.WriteFile(outputsFile, outputs, 0o600); err != nil {
		t.Fatal(err)
	}
	cmdOut := t.TempDir()
	from := t0.Add(users / 2 * 10 * time.Millisecond)
	cmd := exec.CommandContext(ctx, bin, "--outputs", outputsFile, "--out", cmdOut, "--from", from.Format(time.RFC3339Nano),
		"--tolerance", "0.6", "--min-agreement", "0.9")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("shadow-report --outputs: %v\n%s%s", err, stdout, stderr.String())
	}
	t.Logf("shadow-report --outputs:\n%s", stdout)
	cdoc, err := report.ReadSummary(filepath.Join(cmdOut, report.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	if cdoc.Requests.Seen != users/2 || cdoc.Requests.Paired != int64(mirrored/2) || cdoc.Agreement.GatePassed == nil || !*cdoc.Agreement.GatePassed {
		t.Errorf("window from request %d: requests %+v, agreement %+v; want %d seen, %d paired, the gate passed", users/2, cdoc.Requests, cdoc.Agreement, users/2, mirrored/2)
	}
	if len(cdoc.Inputs.Pods) != 4 || len(cdoc.Inputs.Logs) != 5 || cdoc.Mirror.Configured == nil || *cdoc.Mirror.Configured != 0.5 {
		t.Errorf("pods %+v, logs %+v, mirror %+v: want every pod and log, the configured share from the outputs", cdoc.Inputs.Pods, cdoc.Inputs.Logs, cdoc.Mirror)
	}
	// kube-apiserver passes sinceTime on to kwok, which may already cut
	// the earlier lines; whatever comes back before the window is counted.
	t.Logf("requests outside the window: %d; log lines read: %+v", cdoc.Inputs.OutsideWindow, cdoc.Inputs.Lines)
	if saved, err := collect.FromDir(filepath.Join(cmdOut, "logs")); err != nil || len(saved) != 5 {
		t.Errorf("logs saved by the command: %v, %v", saved, err)
	}
}

func createModelPod(ctx context.Context, t *testing.T, client kubernetes.Interface, ns, name, version string) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": "model", modelapi.PodVersionLabel: version}},
		Spec: corev1.PodSpec{
			Containers:  []corev1.Container{{Name: modelapi.ContainerName, Image: "kind.local/model-echo:test"}},
			Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
		},
	}
	if _, err := client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func waitRunning(ctx context.Context, t *testing.T, client kubernetes.Interface, ns string, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		running := 0
		if err == nil {
			for _, p := range list.Items {
				if p.Status.Phase == corev1.PodRunning && len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].State.Running != nil {
					running++
				}
			}
		}
		if running == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d pods running after 60s (%v)", running, n, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// restart marks the model container restarted once, as kubelet would
// after a crash (kwok runs no container to crash).
func restart(ctx context.Context, t *testing.T, client kubernetes.Interface, ns, name string) {
	t.Helper()
	p, err := client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p.Status.ContainerStatuses[0].RestartCount = 1
	if _, err := client.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// canRead reports every log readable: kwok has its Logs objects.
func canRead(ctx context.Context, logs []collect.Log) bool {
	for _, l := range logs {
		rc, err := l.Open(ctx)
		if err != nil {
			return false
		}
		rc.Close()
	}
	return true
}

// criLogs writes node log files in the CRI format kwok and kubelet read.
type criLogs struct {
	t     *testing.T
	dir   string
	files map[string]*os.File
}

func newCRILogs(t *testing.T, dir string) *criLogs {
	return &criLogs{t: t, dir: dir, files: map[string]*os.File{}}
}

func (c *criLogs) path(name string) string { return filepath.Join(c.dir, name+".log") }

func (c *criLogs) file(name string) *os.File {
	f := c.files[name]
	if f == nil {
		var err error
		if f, err = os.Create(c.path(name)); err != nil {
			c.t.Fatal(err)
		}
		c.files[name] = f
	}
	return f
}

// events writes a request's two events; every tenth response is split
// into two CRI lines (P, then F), as the runtime does with long lines.
func (c *criLogs) events(name, version, id string, at time.Time, mirrored bool, bias float64) {
	in := `{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}`
	out := fmt.Sprintf(`{"model_name":"echo","model_version":%q,"outputs":[{"name":"output-0","shape":[1],"datatype":"FP64","data":[%g]}]}`, version, 1+bias)
	for i, ev := range []modelapi.PayloadEvent{
		{SpecVersion: "1.0", ID: id, Source: version, Type: modelapi.EventTypeRequest, Time: at, ModelName: "echo", ModelVersion: version, Mirrored: mirrored, Data: json.RawMessage(in)},
		{SpecVersion: "1.0", ID: id, Source: version, Type: modelapi.EventTypeResponse, Time: at.Add(time.Millisecond), ModelName: "echo", ModelVersion: version, Mirrored: mirrored,
			Status: 200, LatencyMicros: 1000, Data: json.RawMessage(out)},
	} {
		b, _ := json.Marshal(ev)
		if i == 1 && strings.HasSuffix(id, "0") {
			c.line(name, at, "P", string(b[:len(b)/2]))
			c.line(name, at, "F", string(b[len(b)/2:]))
			continue
		}
		c.line(name, at, "F", string(b))
	}
}

func (c *criLogs) raw(name, text string) { c.line(name, time.Now(), "F", text) }

func (c *criLogs) line(name string, at time.Time, tag, text string) {
	fmt.Fprintf(c.file(name), "%s stdout %s %s\n", at.UTC().Format(time.RFC3339Nano), tag, text)
}

func (c *criLogs) close() {
	for _, f := range c.files {
		if err := f.Close(); err != nil {
			c.t.Fatal(err)
		}
	}
}
