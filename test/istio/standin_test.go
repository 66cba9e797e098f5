package istio_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	"github.com/modelrollouts/modelrollouts/test/journey/lab/ingress"
	"github.com/modelrollouts/modelrollouts/test/journey/lab/knative"
)

// standInClients are fake API clients holding the rendered Service and
// Istio objects, for the journey tier's ingress stand-in
// (test/journey/lab/ingress), which routes by what the API server holds.
// The journeys cannot link istiod (this module's build alone takes half
// an hour cold), so this is where the stand-in is held to Istio's own
// translation: for every call the ingress gateway is asked about, it must
// pick the same cluster, mirror cluster and mirror fraction, or refuse
// the same requests.
type standInClients struct {
	kube *kubefake.Clientset
	dyn  *dynamicfake.FakeDynamicClient
	svc  *corev1.Service
}

func newStandInClients(t *testing.T, istioDocs []string, svc *corev1.Service) standInClients {
	t.Helper()
	resources := map[string]string{"Gateway": "gateways", "VirtualService": "virtualservices", "DestinationRule": "destinationrules"}
	lists := map[schema.GroupVersionResource]string{
		knative.Routes: "RouteList",
	}
	for kind, resource := range resources {
		lists[schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: resource}] = kind + "List"
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), lists)
	for _, doc := range istioDocs {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			t.Fatal(err)
		}
		gvr := schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: resources[u.GetKind()]}
		if _, err := dyn.Resource(gvr).Namespace(u.GetNamespace()).Create(context.Background(), u, metav1.CreateOptions{}); err != nil {
			t.Fatalf("the stand-in's API: %s %s: %v", u.GetKind(), u.GetName(), err)
		}
	}
	return standInClients{kube: kubefake.NewClientset(svc.DeepCopy()), dyn: dyn, svc: svc}
}

// assertStandInRoutesAsIstio asks the stand-in where the call goes and
// compares with istiod's answer for the ingress gateway.
func (l *meshLab) assertStandInRoutesAsIstio(t *testing.T, c call, istio *destination) {
	t.Helper()
	r, _ := http.NewRequest(http.MethodGet, "http://"+c.host+"/", nil)
	if c.version != "" {
		r.Header.Set("x-model-version", c.version)
	}
	d, ok, err := ingress.Decide(context.Background(), l.standIn.kube, l.standIn.dyn, r)
	if err != nil {
		t.Fatalf("the journey ingress stand-in: %v", err)
	}
	switch {
	case istio == nil && !ok:
		return
	case istio == nil:
		t.Errorf("journey ingress stand-in: Host %s, x-model-version %q routes to %+v; istiod's gateway has no route", c.host, c.version, d)
		return
	case !ok:
		t.Errorf("journey ingress stand-in: Host %s, x-model-version %q has no route; istiod's gateway routes to %+v", c.host, c.version, *istio)
		return
	}
	got := destination{route: istio.route, cluster: l.standInCluster(d)}
	if d.Mirror != nil {
		got.mirror, got.fraction = l.standInCluster(*d.Mirror), d.MirrorPercent/100
	}
	if got != *istio {
		t.Errorf("journey ingress stand-in: Host %s, x-model-version %q:\n stand-in %+v\n   istiod %+v", c.host, c.version, got, *istio)
	}
}

// standInCluster names the stand-in's destination as Envoy names a
// cluster: outbound|port|subset|fqdn, the Service's port when the route
// names none.
func (l *meshLab) standInCluster(d ingress.Decision) string {
	port := d.Port
	if port == 0 && len(l.standIn.svc.Spec.Ports) > 0 {
		port = int(l.standIn.svc.Spec.Ports[0].Port)
	}
	return fmt.Sprintf("outbound|%d|%s|%s.%s.svc.cluster.local", port, d.Subset, d.Service, d.Namespace)
}
