package collect

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

func pod(name, version string, restarts int32, state corev1.ContainerState, containers ...string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "models", Labels: map[string]string{modelapi.PodVersionLabel: version}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c})
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: c, RestartCount: restarts, State: state})
	}
	return p
}

// Every pod of both versions, the previous instance of a restarted
// container, nothing of other versions, of pods without the model
// container or of containers that never started; each log asked for
// with its container, previous flag and the window's start.
func TestFromClusterReadsEveryPodAndRestart(t *testing.T) {
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	crashLooping := corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}
	client := fake.NewClientset(
		pod("model-v1-b", "v1", 0, running, "istio-proxy", "model"),
		pod("model-v1-a", "v1", 2, running, "model"),
		pod("model-v2-a", "v2", 0, running, "model"),
		pod("model-v2-b", "v2", 0, corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}, "model"),
		pod("model-v2-c", "v2", 1, crashLooping, "model"),
		pod("model-v3-a", "v3", 0, running, "model"),
		pod("sidecar-only", "v1", 0, running, "istio-proxy"),
	)
	var mu sync.Mutex
	var asked []corev1.PodLogOptions
	client.PrependReactor("get", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "log" {
			return false, nil, nil
		}
		opts := *a.(k8stesting.GenericAction).GetValue().(*corev1.PodLogOptions)
		mu.Lock()
		asked = append(asked, opts)
		mu.Unlock()
		body := "current log\n"
		if opts.Previous {
			body = "previous log\n"
		}
		return true, &runtime.Unknown{Raw: []byte(body)}, nil
	})
	since := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	logs, pods, err := FromCluster(context.Background(), client, ClusterOptions{Namespace: "models", Versions: []string{"v1", "v2"}, Since: since})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range logs {
		names = append(names, l.Name)
	}
	want := []string{"model-v1-a/model (previous)", "model-v1-a/model", "model-v1-b/model", "model-v2-a/model", "model-v2-c/model (previous)"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("logs %q, want %q", names, want)
	}
	if len(pods) != 5 || pods[0] != (Pod{Name: "model-v1-a", Version: "v1", Restarts: 2, Phase: "Running"}) {
		t.Fatalf("pods %+v", pods)
	}
	for _, l := range logs {
		rc, err := l.Open(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if wantPrev := strings.HasSuffix(l.Name, "(previous)"); (string(b) == "previous log\n") != wantPrev {
			t.Errorf("%s read %q", l.Name, b)
		}
	}
	for _, o := range asked {
		if o.Container != modelapi.ContainerName || o.SinceTime == nil || !o.SinceTime.Time.Equal(since) {
			t.Errorf("log options %+v, want container %q since %v", o, modelapi.ContainerName, since)
		}
	}
	if len(asked) != len(logs) {
		t.Errorf("%d log requests for %d logs", len(asked), len(logs))
	}

	if _, _, err := FromCluster(context.Background(), client, ClusterOptions{Namespace: "models", Versions: []string{"v9"}}); err == nil ||
		!strings.Contains(err.Error(), "no pods version in (v9) in namespace models") {
		t.Errorf("no pods: %v", err)
	}
}

// Saved logs: every regular file, hidden ones aside, sorted; a saved
// previous log keeps its name apart from the current one.
func TestFromDirAndSavedNames(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"b.log", "a.log", ".hidden", "sub/c.log"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
		os.WriteFile(filepath.Join(dir, name), []byte("x\n"), 0o644)
	}
	logs, err := FromDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range logs {
		names = append(names, l.Name)
	}
	if !reflect.DeepEqual(names, []string{"a.log", "b.log", "sub/c.log"}) || logs[0].Size != 2 {
		t.Fatalf("logs %q", names)
	}
	if _, err := FromDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no log files") {
		t.Errorf("empty directory: %v", err)
	}
	cur, prev := Log{Name: "model-v1-a/model"}, Log{Name: "model-v1-a/model (previous)"}
	if cur.FileName() != "model-v1-a_model.log" || prev.FileName() != "model-v1-a_model.previous.log" {
		t.Errorf("saved names %q, %q", cur.FileName(), prev.FileName())
	}
}

// A pod running model-agent beside its own model has its payload events
// in the agent's log, not the model server's: the agent's is read; a pod
// without the agent is read from its model container.
func TestFromClusterReadsTheAgentContainerWhereAPodRunsIt(t *testing.T) {
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	client := fake.NewClientset(
		pod("model-v1-a", "v1", 0, running, "istio-proxy", "model", modelapi.AgentContainerName),
		pod("model-v2-a", "v2", 0, running, "model"),
	)
	var mu sync.Mutex
	asked := map[string]bool{}
	client.PrependReactor("get", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "log" {
			return false, nil, nil
		}
		opts := a.(k8stesting.GenericAction).GetValue().(*corev1.PodLogOptions)
		mu.Lock()
		asked[opts.Container] = true
		mu.Unlock()
		return true, &runtime.Unknown{Raw: []byte("log\n")}, nil
	})
	logs, _, err := FromCluster(context.Background(), client, ClusterOptions{Namespace: "models", Versions: []string{"v1", "v2"}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range logs {
		names = append(names, l.Name)
		rc, err := l.Open(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
	}
	want := []string{"model-v1-a/model-agent", "model-v2-a/model"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("logs %q, want %q", names, want)
	}
	if !asked[modelapi.AgentContainerName] || !asked[modelapi.ContainerName] || len(asked) != 2 {
		t.Fatalf("asked for the logs of containers %v, want model-agent and model", asked)
	}
}
