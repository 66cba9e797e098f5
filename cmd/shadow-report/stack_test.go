package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/modelrollouts/modelrollouts/internal/shadow/collect"
	"github.com/modelrollouts/modelrollouts/internal/shadow/report"
	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
	"github.com/modelrollouts/modelrollouts/stacks/stackoutputs/stackoutputstest"
)

// fakeAPI is the little of kube-apiserver the report uses: the pods of
// a namespace by label selector, and each pod's log (current or previous).
type fakeAPI struct {
	pods []corev1.Pod
	logs map[string]string // "pod" or "pod previous" → log text

	mu        sync.Mutex
	selectors []string
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const prefix = "/api/v1/namespaces/models/pods"
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	switch {
	case !ok:
		http.NotFound(w, r)
	case rest == "":
		f.mu.Lock()
		f.selectors = append(f.selectors, r.URL.Query().Get("labelSelector"))
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(&corev1.PodList{TypeMeta: metav1.TypeMeta{Kind: "PodList", APIVersion: "v1"}, Items: f.pods})
	case strings.HasSuffix(rest, "/log"):
		key := strings.TrimSuffix(strings.TrimPrefix(rest, "/"), "/log")
		if r.URL.Query().Get("container") != modelapi.ContainerName {
			http.Error(w, "container?", http.StatusBadRequest)
			return
		}
		if r.URL.Query().Get("previous") == "true" {
			key += " previous"
		}
		text, ok := f.logs[key]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(text))
	default:
		http.NotFound(w, r)
	}
}

// `shadow-report --stack shadow --out DIR` as a user runs it: the pulumi
// CLI on PATH gives the stack outputs (the kubeconfig hidden as a secret)
// and then the kubeconfig itself; the report lists the pods of both
// versions through that cluster's API, reads every log, the previous one
// of a restarted container too, and saves them.
func TestStackFlagReadsEveryPodThroughTheStacksCluster(t *testing.T) {
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	pod := func(name, version string, restarts int32) corev1.Pod {
		return corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "models", Labels: map[string]string{modelapi.PodVersionLabel: version}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: modelapi.ContainerName}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
				{Name: modelapi.ContainerName, RestartCount: restarts, State: running}}},
		}
	}
	// 100 user requests over two primary pods (model-v1-b restarted after
	// its first 25), every other one mirrored to the shadow pod.
	logs := map[string]*bytes.Buffer{}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := 0; i < 100; i++ {
		id, at := fmt.Sprintf("req-%03d", i), t0.Add(time.Duration(i)*time.Millisecond)
		p := []string{"model-v1-a", "model-v1-b"}[i%2]
		if p == "model-v1-b" && i < 50 {
			p += " previous"
		}
		writeEvents(logs, p, "v1", id, at, false)
		if i%2 == 0 {
			writeEvents(logs, "model-v2-a", "v2", id, at, true)
		}
	}
	api := &fakeAPI{pods: []corev1.Pod{pod("model-v1-a", "v1", 0), pod("model-v1-b", "v1", 1), pod("model-v2-a", "v2", 0)}, logs: map[string]string{}}
	for k, b := range logs {
		api.logs[k] = b.String()
	}
	srv := httptest.NewServer(api)
	defer srv.Close()

	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: lab, cluster: {server: %q}}]
users: [{name: lab, user: {token: t}}]
contexts: [{name: lab, context: {cluster: lab, user: lab}}]
current-context: lab
`, srv.URL)
	outputs := `{"strategy":"shadow","namespace":"models","ingressUrl":"http://127.0.0.1:9","host":"model.example.com",
		"versions":{"v1":{"target":"a","role":"primary"},"v2":{"target":"b","role":"shadow"}},
		"primary":"v1","shadow":"v2","mirrorPercent":50,"kubeconfig":"[secret]"}`
	// A stand-in pulumi CLI: the outputs as `pulumi stack output --json`
	// prints them, and the secret kubeconfig output on its own, from the
	// project's .pulumi-state as make leaves it.
	stackoutputstest.Install(t)
	t.Chdir(stackoutputstest.Project(t, map[string]stackoutputstest.Stack{"shadow": {Outputs: outputs, Kubeconfig: kubeconfig}}))

	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--stack", "shadow", "--out", out, "--min-agreement", "0.9"}, &stdout, &stderr, false); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	doc, err := report.ReadSummary(filepath.Join(out, report.SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range doc.Inputs.Logs {
		names = append(names, l.Name)
	}
	if want := "model-v1-a/model model-v1-b/model (previous) model-v1-b/model model-v2-a/model"; strings.Join(names, " ") != want {
		t.Errorf("logs %q, want %q", names, want)
	}
	if doc.Requests.Seen != 100 || doc.Requests.Paired != 50 || len(doc.Inputs.Pods) != 3 || *doc.Mirror.Configured != 0.5 ||
		!*doc.Agreement.GatePassed || !strings.Contains(doc.Source, "stack shadow, namespace models") {
		t.Errorf("requests %+v, pods %+v, mirror %+v, gate %v, source %q", doc.Requests, doc.Inputs.Pods, doc.Mirror, doc.Agreement.GatePassed, doc.Source)
	}
	if got := strings.Join(api.selectors, ";"); got != "version in (v1,v2)" {
		t.Errorf("pods listed with selector %q", got)
	}
	saved, err := collect.FromDir(filepath.Join(out, "logs"))
	if err != nil || len(saved) != 4 || saved[1].Name != "model-v1-b_model.log" || saved[2].Name != "model-v1-b_model.previous.log" {
		t.Errorf("saved logs %+v: %v", saved, err)
	}
}

func writeEvents(logs map[string]*bytes.Buffer, pod, version, id string, at time.Time, mirrored bool) {
	b := logs[pod]
	if b == nil {
		b = &bytes.Buffer{}
		logs[pod] = b
	}
	for _, ev := range []modelapi.PayloadEvent{
		{SpecVersion: "1.0", ID: id, Source: version, Type: modelapi.EventTypeRequest, Time: at, ModelName: "m",
			ModelVersion: version, Mirrored: mirrored, Data: json.RawMessage(`{"inputs":[]}`)},
		{SpecVersion: "1.0", ID: id, Source: version, Type: modelapi.EventTypeResponse, Time: at.Add(time.Millisecond), ModelName: "m",
			ModelVersion: version, Mirrored: mirrored, Status: 200, LatencyMicros: 1000, Data: json.RawMessage(`{"outputs":[{"name":"o","data":[1]}]}`)},
	} {
		line, _ := json.Marshal(ev)
		b.Write(append(line, '\n'))
	}
}
