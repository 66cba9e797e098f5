package istio_test

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"istio.io/istio/pilot/pkg/config/kube/crd"
	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pilot/test/xdstest"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/modelrollouts/modelrollouts/infra"
	"github.com/modelrollouts/modelrollouts/internal/render"
	"github.com/modelrollouts/modelrollouts/stacks"
)

type routeVirtualHost = route.VirtualHost

// podsPerVersion: several pods behind each subset, so a subset is a set of
// endpoints and not one pod.
const podsPerVersion = 2

// callerNamespace is a namespace other than the model's, with a sidecar.
const callerNamespace = "callers"

// meshLab is istiod's view of one rendered stack.
type meshLab struct {
	server    *xds.FakeDiscoveryServer
	proxies   []meshProxy
	fqdn      string
	serviceIP string
	// podIPs are each version's pod addresses.
	podIPs map[string][]string
	cfg    *stacks.Config
	// standIn is the journey tier's ingress stand-in reading the same
	// objects, held to istiod's answers (standin_test.go).
	standIn standInClients
}

// newMeshLab renders the stack file as `pulumi up` would register it and
// hands the objects to istiod's translation.
func newMeshLab(t *testing.T, stackFile string, cfg *stacks.Config) *meshLab {
	t.Helper()
	projectDir, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	// The real program, as cmd/render runs it: what `pulumi up` registers.
	program := func(ctx *pulumi.Context, cfg *stacks.Config) error {
		_, err := infra.Deploy(ctx, cfg, projectDir)
		return err
	}
	rec, err := render.Stack(stackFile, program)
	if err != nil {
		t.Fatalf("render %s: %v", stackFile, err)
	}
	out, err := render.YAML(rec.Resources(), projectDir)
	if err != nil {
		t.Fatal(err)
	}
	lab := &meshLab{cfg: cfg, serviceIP: "10.96.0.10", podIPs: map[string][]string{},
		fqdn: fmt.Sprintf("%s.%s.svc.cluster.local", cfg.Shadow.Service, cfg.Namespace)}

	var istioDocs []string // each document's text, for Istio's own reader
	objects := []runtime.Object{namespace(callerNamespace, map[string]string{"istio-injection": "enabled"})}
	var svc *corev1.Service
	var deployments []*appsv1.Deployment
	for _, raw := range render.RawDocuments(out) {
		doc := string(raw)
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal(raw, &meta); err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasPrefix(meta.APIVersion, "networking.istio.io/"):
			istioDocs = append(istioDocs, doc)
		case meta.Kind == "Service":
			svc = &corev1.Service{}
			mustDecode(t, doc, svc)
			// The API server would assign one; callers dial it.
			svc.Spec.ClusterIP, svc.Spec.ClusterIPs = lab.serviceIP, []string{lab.serviceIP}
			objects = append(objects, svc)
		case meta.Kind == "Deployment":
			d := &appsv1.Deployment{}
			mustDecode(t, doc, d)
			deployments = append(deployments, d)
		case meta.Kind == "Namespace":
			ns := &corev1.Namespace{}
			mustDecode(t, doc, ns)
			objects = append(objects, ns)
		}
	}
	if svc == nil || len(deployments) != 2 || len(istioDocs) == 0 {
		t.Fatalf("rendered %s: service %v, %d deployments, %d Istio objects", stackFile, svc != nil, len(deployments), len(istioDocs))
	}
	pods, slice := lab.endpoints(t, svc, deployments)
	objects = append(objects, pods...)
	objects = append(objects, slice)

	lab.standIn = newStandInClients(t, istioDocs, svc)

	configs, _, err := crd.ParseInputs(strings.Join(istioDocs, "---\n"))
	if err != nil {
		t.Fatalf("Istio could not read the rendered objects: %v", err)
	}
	now := time.Now()
	for i := range configs {
		// istiod stamps every config with the mesh's domain; without it a
		// short host such as "model" resolves to no cluster.
		configs[i].Domain = "cluster.local"
		configs[i].CreationTimestamp = now
	}
	lab.server = xds.NewFakeDiscoveryServer(t, xds.FakeOptions{KubernetesObjects: objects, Configs: configs})
	lab.proxies = []meshProxy{
		{name: "ingress gateway", gateway: true, namespace: "istio-system", proxy: &model.Proxy{
			Type: model.Router, ConfigNamespace: "istio-system",
			Labels:   map[string]string{"istio": "ingressgateway"},
			Metadata: &model.NodeMetadata{Namespace: "istio-system", Labels: map[string]string{"istio": "ingressgateway"}},
		}},
		sidecar("sidecar in "+cfg.Namespace, cfg.Namespace, "10.244.9.1"),
		sidecar("sidecar in "+callerNamespace, callerNamespace, "10.244.9.2"),
	}
	return lab
}

func sidecar(name, ns, ip string) meshProxy {
	labels := map[string]string{"app": "caller"}
	return meshProxy{name: name, namespace: ns, proxy: &model.Proxy{
		Type: model.SidecarProxy, ConfigNamespace: ns, IPAddresses: []string{ip}, ID: "caller." + ns,
		Labels: labels, Metadata: &model.NodeMetadata{Namespace: ns, Labels: labels},
	}}
}

// endpoints plays the kubelet and the EndpointSlice controller: ready pods
// of each Deployment's template, and one slice for the Service.
func (l *meshLab) endpoints(t *testing.T, svc *corev1.Service, deployments []*appsv1.Deployment) ([]runtime.Object, *discoveryv1.EndpointSlice) {
	t.Helper()
	ready := true
	port := svc.Spec.Ports[0]
	targetPort := port.TargetPort.IntVal
	portName, proto := port.Name, corev1.ProtocolTCP
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: svc.Name + "-abc", Namespace: svc.Namespace,
			Labels: map[string]string{discoveryv1.LabelServiceName: svc.Name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &portName, Port: &targetPort, Protocol: &proto}},
	}
	var pods []runtime.Object
	for d, dep := range deployments {
		labels := dep.Spec.Template.Labels
		for i := range podsPerVersion {
			ip := fmt.Sprintf("10.244.%d.%d", d+1, i+10)
			name := fmt.Sprintf("%s-%d", dep.Name, i)
			pods = append(pods, &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: dep.Namespace, Labels: labels},
				Spec:       corev1.PodSpec{NodeName: "node", Containers: dep.Spec.Template.Spec.Containers},
				Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
					Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
			})
			slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{
				Addresses:  []string{ip},
				Conditions: discoveryv1.EndpointConditions{Ready: &ready},
				TargetRef:  &corev1.ObjectReference{Kind: "Pod", Name: name, Namespace: dep.Namespace},
			})
			version := labels["version"]
			l.podIPs[version] = append(l.podIPs[version], fmt.Sprintf("%s:%d", ip, targetPort))
		}
	}
	return pods, slice
}

// assertSubsetEndpoints checks what a caller's clusters hold: each
// subset the pods of that version, and only those; the Service's own
// cluster (the default route) every pod of both.
func (l *meshLab) assertSubsetEndpoints(t *testing.T) {
	t.Helper()
	p := l.server.SetupProxy(l.proxies[2].proxy)
	got := xdstest.ExtractLoadAssignments(l.server.Endpoints(p))
	for _, v := range l.cfg.Shadow.Versions {
		cluster := fmt.Sprintf("outbound|80|%s|%s", v.Name, l.fqdn)
		eps := slices.Clone(got[cluster])
		want := slices.Clone(l.podIPs[v.Name])
		slices.Sort(eps)
		slices.Sort(want)
		if !slices.Equal(eps, want) {
			t.Errorf("%s holds %v, want the %s pods %v", cluster, eps, v.Name, want)
		}
	}
	all := slices.Concat(slices.Collect(maps.Values(l.podIPs))...)
	eps := slices.Clone(got["outbound|80||"+l.fqdn])
	slices.Sort(all)
	slices.Sort(eps)
	if !slices.Equal(eps, all) || len(all) != podsPerVersion*len(l.cfg.Shadow.Versions) {
		t.Errorf("outbound|80||%s holds %v, want every pod %v", l.fqdn, eps, all)
	}
}

func namespace(name string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

func mustDecode(t *testing.T, doc string, into any) {
	t.Helper()
	if err := yaml.Unmarshal([]byte(doc), into); err != nil {
		t.Fatalf("decode %T: %v", into, err)
	}
}
