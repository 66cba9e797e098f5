//go:build slow

// Package lab_test runs the three stand-ins together on fake API clients,
// the test playing the ReplicaSet controller and the scheduler: the glue
// the journeys rely on (revision labels, PORT, the probe's port, routing
// by the Route's status, scale from zero) without a kube-apiserver.
package lab_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
	"github.com/modelrollouts/modelrollouts/test/journey/lab/ingress"
	"github.com/modelrollouts/modelrollouts/test/journey/lab/knative"
	"github.com/modelrollouts/modelrollouts/test/journey/lab/node"
)

func configuration(version string, minScale string) *unstructured.Unstructured {
	annotations := map[string]any{}
	if minScale != "" {
		annotations["autoscaling.knative.dev/min-scale"] = minScale
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "serving.knative.dev/v1", "kind": "Configuration",
		"metadata": map[string]any{"name": "model-" + version, "namespace": "models", "generation": int64(1)},
		"spec": map[string]any{"template": map[string]any{
			"metadata": map[string]any{"labels": map[string]any{"app": "model", "version": version}, "annotations": annotations},
			"spec": map[string]any{"containers": []any{map[string]any{
				"name": "model", "image": "kind.local/model-echo:abc",
				"env":            []any{map[string]any{"name": "TARGET", "value": "model " + version}, map[string]any{"name": "MODEL_VERSION", "value": version}},
				"ports":          []any{map[string]any{"name": "http1", "containerPort": int64(8080)}},
				"readinessProbe": map[string]any{"httpGet": map[string]any{"path": modelapi.PathReady}},
			}}},
		}},
	}}
}

func TestTheStandInsServeACanaryFromItsConfigurationsAndRoute(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "model-echo")
	build := exec.Command("go", "build", "-o", bin, "./model-echo")
	build.Dir = "../../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kube := fake.NewClientset(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "config-domain", Namespace: knative.SystemNamespace},
		Data: map[string]string{"example.com": ""}})
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		knative.Configurations: "ConfigurationList", knative.Routes: "RouteList", knative.Revisions: "RevisionList",
		{Group: "networking.istio.io", Version: "v1", Resource: "gateways"}:         "GatewayList",
		{Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"}:  "VirtualServiceList",
		{Group: "networking.istio.io", Version: "v1", Resource: "destinationrules"}: "DestinationRuleList",
	})
	for _, c := range []*unstructured.Unstructured{configuration("v1", "1"), configuration("v2", "")} {
		if _, err := dyn.Resource(knative.Configurations).Namespace("models").Create(ctx, c, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	route := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "serving.knative.dev/v1", "kind": "Route",
		"metadata": map[string]any{"name": "model", "namespace": "models", "generation": int64(1)},
		"spec": map[string]any{"traffic": []any{
			map[string]any{"configurationName": "model-v1", "latestRevision": true, "percent": int64(50), "tag": "v1"},
			map[string]any{"configurationName": "model-v2", "latestRevision": true, "percent": int64(50), "tag": "v2"},
		}},
	}}
	if _, err := dyn.Resource(knative.Routes).Namespace("models").Create(ctx, route, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubelet, err := node.Start(ctx, node.Options{Client: kube, NodeName: "journey-node", Dir: t.TempDir(), Sync: 50 * time.Millisecond,
		Binary: func(c corev1.Container) (node.Process, error) { return node.Entrypoint(bin, c), nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer kubelet.Stop()
	kn := knative.Start(ctx, knative.Options{Client: kube, Dynamic: dyn, Sync: 50 * time.Millisecond, IdleToZero: time.Second})
	defer kn.Stop()
	go replicaSets(ctx, t, kube)
	gw, err := ingress.Start(ctx, ingress.Options{Client: kube, Dynamic: dyn, Activator: kn, Seed: 7, ColdStart: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Stop()

	get := func(host string) (int, string) {
		rec := httptest.NewRecorder()
		gw.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://"+host+"/", nil))
		b, _ := io.ReadAll(rec.Body)
		return rec.Code, string(b)
	}
	// The Route turns Ready once both revisions have served from a ready pod.
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := get("v1-model.models.example.com")
		if code == 200 && strings.Contains(body, "model v1") {
			break
		}
		if time.Now().After(deadline) {
			rt, _ := dyn.Resource(knative.Routes).Namespace("models").Get(ctx, "model", metav1.GetOptions{})
			cs, _ := dyn.Resource(knative.Configurations).Namespace("models").List(ctx, metav1.ListOptions{})
			ps, _ := kube.CoreV1().Pods("models").List(ctx, metav1.ListOptions{})
			deps, _ := kube.AppsV1().Deployments("models").List(ctx, metav1.ListOptions{})
			var states []string
			for _, p := range ps.Items {
				states = append(states, p.Name+" "+p.Status.PodIP+" "+string(p.Status.Phase)+" "+fmtConds(p.Status.Conditions))
			}
			t.Fatalf("v1's tag host: %d %q\nroute status %v\nconfigs %v\ndeployments %d\npods %v", code, body, rt.Object["status"], statuses(cs), len(deps.Items), states)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// v2 has no min-scale: idle, it goes to zero, and its next request
	// waits for a cold start.
	deadline = time.Now().Add(30 * time.Second)
	for pods(ctx, t, kube, "version=v2") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("v2 never scaled to zero")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if pods(ctx, t, kube, "version=v1") != 1 {
		t.Fatal("v1 (min-scale 1) scaled below one pod")
	}
	code, body := get("v2-model.models.example.com:8080")
	if code != 200 || !strings.Contains(body, "model v2") || gw.Counts().ColdStarts != 1 {
		t.Fatalf("v2 after scale to zero: %d %q, cold starts %d", code, body, gw.Counts().ColdStarts)
	}
	counts := map[string]int{}
	for i := 0; i < 200; i++ {
		_, body := get("model.models.example.com")
		counts[strings.TrimSpace(body)]++
	}
	// Binomial(200, 0.5): outside 60-140 with probability < 1e-8.
	if counts["model v1"] < 60 || counts["model v2"] < 60 {
		t.Errorf("the 50/50 route gave %v", counts)
	}
}

func fmtConds(cs []corev1.PodCondition) string {
	var out []string
	for _, c := range cs {
		out = append(out, string(c.Type)+"="+string(c.Status))
	}
	return strings.Join(out, ",")
}

func statuses(l *unstructured.UnstructuredList) []any {
	var out []any
	for _, o := range l.Items {
		out = append(out, o.Object["status"])
	}
	return out
}

func pods(ctx context.Context, t *testing.T, kube *fake.Clientset, selector string) int {
	list, err := kube.CoreV1().Pods("models").List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			n++
		}
	}
	return n
}

// replicaSets plays the ReplicaSet controller and the scheduler: each
// Deployment gets as many pods as it wants, bound to the node; extra pods
// are deleted (the fake deletes at once: the kubelet stops them then).
func replicaSets(ctx context.Context, t *testing.T, kube *fake.Clientset) {
	seq := 0
	for ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
		deps, err := kube.AppsV1().Deployments("models").List(ctx, metav1.ListOptions{})
		if err != nil {
			continue
		}
		for _, d := range deps.Items {
			sel := "serving.knative.dev/revision=" + d.Spec.Selector.MatchLabels["serving.knative.dev/revision"]
			list, _ := kube.CoreV1().Pods("models").List(ctx, metav1.ListOptions{LabelSelector: sel})
			have, want := len(list.Items), int(*d.Spec.Replicas)
			for ; have < want; have++ {
				seq++
				p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: d.Name + "-" + string(rune('a'+seq%26)) + time.Now().Format("150405.000"),
					Namespace: "models", Labels: d.Spec.Template.Labels, UID: types.UID("uid-" + d.Name + time.Now().Format("150405.000000"))},
					Spec: d.Spec.Template.Spec}
				p.Spec.NodeName = "journey-node"
				kube.CoreV1().Pods("models").Create(ctx, p, metav1.CreateOptions{})
			}
			for i := 0; have > want; have-- {
				kube.CoreV1().Pods("models").Delete(ctx, list.Items[i].Name, metav1.DeleteOptions{})
				i++
			}
		}
	}
}
