package ingress

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/modelrollouts/modelrollouts/test/journey/lab/knative"
)

// backend is a pod: it answers with its version and records the Hosts.
type backend struct {
	version string
	srv     *httptest.Server
	mu      sync.Mutex
	hosts   []string
}

func newBackend(t *testing.T, version string) *backend {
	b := &backend{version: version}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.hosts = append(b.hosts, r.Host)
		b.mu.Unlock()
		w.Header().Set("X-Model-Version", version)
		io.WriteString(w, version)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backend) pod(name string, labels map[string]string) *corev1.Pod {
	_, port, _ := net.SplitHostPort(b.srv.Listener.Addr().String())
	n, _ := strconv.Atoi(port)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "models", Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "model", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: int32(n)}}}}},
		Status:     corev1.PodStatus{PodIP: "127.0.0.1", Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
}

func obj(apiVersion, kind, name string, spec, status map[string]any) *unstructured.Unstructured {
	o := map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": map[string]any{"name": name, "namespace": "models"}, "spec": spec}
	if status != nil {
		o["status"] = status
	}
	return &unstructured.Unstructured{Object: o}
}

func start(t *testing.T, kube []runtime.Object, objs ...*unstructured.Unstructured) *Gateway {
	t.Helper()
	lists := map[schema.GroupVersionResource]string{knative.Routes: "RouteList", gateways: "GatewayList",
		virtualServices: "VirtualServiceList", destinationRules: "DestinationRuleList"}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), lists)
	// Created through their resource: the fake would file a Gateway given
	// up front under "gatewaies".
	for _, o := range objs {
		gvr := map[string]schema.GroupVersionResource{"Route": knative.Routes, "Gateway": gateways,
			"VirtualService": virtualServices, "DestinationRule": destinationRules}[o.GetKind()]
		if _, err := dyn.Resource(gvr).Namespace(o.GetNamespace()).Create(context.Background(), o, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	g, err := Start(context.Background(), Options{Client: fake.NewClientset(kube...), Dynamic: dyn, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Stop)
	return g
}

func get(t *testing.T, g *Gateway, host string, header ...string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "http://"+host+"/", nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// A Knative Route's status: the route host splits by percent, each tag's
// host reaches its revision, and the tag header does only where
// config-features enables it.
func TestKnativeRouteSplitsByPercentAndTagsReachTheirRevision(t *testing.T) {
	v1, v2 := newBackend(t, "v1"), newBackend(t, "v2")
	route := obj("serving.knative.dev/v1", "Route", "model", map[string]any{}, map[string]any{
		"url":        "http://model.models.example.com",
		"conditions": []any{map[string]any{"type": "Ready", "status": "True"}},
		"traffic": []any{
			map[string]any{"revisionName": "model-v1-00001", "percent": int64(90), "tag": "v1", "url": "http://v1-model.models.example.com"},
			map[string]any{"revisionName": "model-v2-00001", "percent": int64(10), "tag": "v2", "url": "http://v2-model.models.example.com"},
		},
	})
	features := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "config-features", Namespace: "knative-serving"},
		Data: map[string]string{"tag-header-based-routing": "Enabled"}}
	g := start(t, []runtime.Object{features,
		v1.pod("a", map[string]string{"serving.knative.dev/revision": "model-v1-00001"}),
		v2.pod("b", map[string]string{"serving.knative.dev/revision": "model-v2-00001"})}, route)
	counts := map[string]int{}
	for i := 0; i < 1000; i++ {
		_, body := get(t, g, "model.models.example.com:8080")
		counts[body]++
	}
	// Binomial(1000, 0.1): 100 expected, sd 9.5; outside 50-150 with
	// probability < 1e-6 (and the draws are seeded: the same every run).
	if counts["v2"] < 50 || counts["v2"] > 150 || counts["v1"]+counts["v2"] != 1000 {
		t.Errorf("split %v, want about 90/10", counts)
	}
	for host, want := range map[string]string{"v1-model.models.example.com": "v1", "v2-model.models.example.com:8080": "v2"} {
		if _, body := get(t, g, host); body != want {
			t.Errorf("%s reached %q, want %s", host, body, want)
		}
	}
	for i := 0; i < 20; i++ {
		if _, body := get(t, g, "model.models.example.com", "Knative-Serving-Tag", "v2"); body != "v2" {
			t.Fatalf("Knative-Serving-Tag: v2 reached %q", body)
		}
	}
	if code, _ := get(t, g, "other.example.com"); code != http.StatusNotFound {
		t.Errorf("an unknown host got %d, want 404", code)
	}
}

// Istio: the gateway-bound VirtualService routes the user host (with or
// without a port) to the primary subset and mirrors its share with
// "-shadow" on the Host; a header match reaches its version unmirrored.
func TestIstioVirtualServiceRoutesMirrorsAndMatchesHeaders(t *testing.T) {
	v1, v2 := newBackend(t, "v1"), newBackend(t, "v2")
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "model", Namespace: "models"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "model"}, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromString("http")}}}}
	gw := obj("networking.istio.io/v1", "Gateway", "model", map[string]any{
		"selector": map[string]any{"istio": "ingressgateway"},
		"servers":  []any{map[string]any{"port": map[string]any{"number": int64(80)}, "hosts": []any{"model.example.com"}}},
	}, nil)
	dr := obj("networking.istio.io/v1", "DestinationRule", "model", map[string]any{
		"host": "model.models.svc.cluster.local",
		"subsets": []any{map[string]any{"name": "v1", "labels": map[string]any{"version": "v1"}},
			map[string]any{"name": "v2", "labels": map[string]any{"version": "v2"}}},
	}, nil)
	dest := func(subset string) map[string]any {
		return map[string]any{"destination": map[string]any{"host": "model.models.svc.cluster.local", "subset": subset}}
	}
	vs := obj("networking.istio.io/v1", "VirtualService", "model", map[string]any{
		"hosts": []any{"model.example.com"}, "gateways": []any{"model", "mesh"},
		"http": []any{
			map[string]any{"match": []any{map[string]any{"headers": map[string]any{"x-model-version": map[string]any{"exact": "v2"}}}}, "route": []any{dest("v2")}},
			map[string]any{"route": []any{dest("v1")}, "mirror": dest("v2")["destination"], "mirrorPercentage": map[string]any{"value": 50.0}},
		},
	}, nil)
	g := start(t, []runtime.Object{svc, v1.pod("a", map[string]string{"app": "model", "version": "v1"}),
		v2.pod("b", map[string]string{"app": "model", "version": "v2"})}, gw, dr, vs)
	for i := 0; i < 200; i++ {
		if code, body := get(t, g, "model.example.com:8081"); body != "v1" {
			t.Fatalf("user request reached %d %q, want v1; table %+v", code, body, g.snapshot())
		}
	}
	c := g.Counts()
	v2.mu.Lock()
	hosts := append([]string(nil), v2.hosts...)
	v2.mu.Unlock()
	// Binomial(200, 0.5): outside 60-140 with probability < 1e-8.
	if c.Mirrored["v2"] < 60 || c.Mirrored["v2"] > 140 || c.MirrorAnswered["v2"] != c.Mirrored["v2"] || len(hosts) != c.Mirrored["v2"] {
		t.Fatalf("mirrored %v answered %v, v2 saw %d", c.Mirrored, c.MirrorAnswered, len(hosts))
	}
	if hosts[0] != "model.example.com-shadow:8081" {
		t.Errorf("a mirrored copy's Host %q, want model.example.com-shadow:8081", hosts[0])
	}
	before := c.Mirrored["v2"]
	for i := 0; i < 20; i++ {
		if _, body := get(t, g, "model.example.com", "x-model-version", "v2"); body != "v2" {
			t.Fatalf("x-model-version: v2 reached %q", body)
		}
	}
	if g.Counts().Mirrored["v2"] != before {
		t.Errorf("header-routed requests were mirrored")
	}
}

// A pod that is going away but still listed refuses connections: Envoy
// (Istio's default retry policy) sends the request to another pod, and so
// does the stand-in, so a user sees no error the real gateway would hide.
func TestARefusedConnectionIsRetriedOnAnotherPod(t *testing.T) {
	live, gone := newBackend(t, "v1"), newBackend(t, "v1")
	labels := map[string]string{"serving.knative.dev/revision": "model-v1-00001"}
	pods := []runtime.Object{live.pod("live", labels), gone.pod("gone", labels)}
	gone.srv.Close() // its port now refuses
	route := obj("serving.knative.dev/v1", "Route", "model", map[string]any{}, map[string]any{
		"url":        "http://model.models.example.com",
		"conditions": []any{map[string]any{"type": "Ready", "status": "True"}},
		"traffic":    []any{map[string]any{"revisionName": "model-v1-00001", "percent": int64(100)}},
	})
	g := start(t, pods, route)
	for i := 0; i < 50; i++ {
		if code, body := get(t, g, "model.models.example.com"); code != http.StatusOK || body != "v1" {
			t.Fatalf("request %d: %d %q, want the live pod's answer", i, code, body)
		}
	}
	if len(live.hosts) != 50 {
		t.Errorf("the live pod served %d of 50", len(live.hosts))
	}
}
