package infra_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/modelrollouts/modelrollouts/infra"
	"github.com/modelrollouts/modelrollouts/internal/gatewayaddress/gatewayaddresstest"
	"github.com/modelrollouts/modelrollouts/stacks"
)

// gatewayService is the Service Istio's gateway chart creates for us.
func gatewayService(typ corev1.ServiceType, ingress ...corev1.LoadBalancerIngress) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "istio-ingressgateway"},
		Spec: corev1.ServiceSpec{Type: typ, Ports: []corev1.ServicePort{
			{Name: "status-port", Port: 15021},
			{Name: "http2", Port: 80, NodePort: 31080},
		}},
		Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: ingress}},
	}
}

func withCluster(client kubernetes.Interface) infra.Option {
	return infra.WithClusterClient(func() (kubernetes.Interface, error) { return client, nil })
}

// existingCluster is the cloud stack with Istio installed by the stack
// and no ingressUrl, the path that used to panic.
func existingCluster(t *testing.T, serviceType string, waitSeconds int) map[string]string {
	t.Helper()
	cfg := stackConfig(t, "cloud")
	platform := map[string]any{"istio": map[string]any{"gatewayServiceType": serviceType}}
	cluster := map[string]any{"type": "existing", "context": "my-cloud-cluster", "ingressWaitSeconds": waitSeconds}
	for key, v := range map[string]any{"platform": platform, "cluster": cluster} {
		b, _ := json.Marshal(v)
		cfg["modelrollouts:"+key] = string(b)
	}
	return cfg
}

// pendingOutputs decodes outputs a smoke test must refuse, and checks it
// refuses them with the pending explanation.
func pendingOutputs(t *testing.T, raw []byte) stacks.Outputs {
	t.Helper()
	var out stacks.Outputs
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	if out.IngressURL != "" {
		t.Errorf("ingressUrl %q, want it empty while pending", out.IngressURL)
	}
	_, err := stacks.ParseOutputs(raw)
	if err == nil || out.IngressPending == "" || !strings.Contains(err.Error(), out.IngressPending) {
		t.Errorf("smoke would say %v; want the pending explanation %q", err, out.IngressPending)
	}
	return out
}

func assertSays(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(text, want) {
			t.Errorf("%s %q does not say %q", what, text, want)
		}
	}
}

func TestExistingClusterWithANodePortGatewayFinishesWithTheAddressPending(t *testing.T) {
	client := fake.NewClientset(gatewayService(corev1.ServiceTypeNodePort))
	w := gatewayaddresstest.NewWaiter(t, nil)
	_, raw := deployedRaw(t, existingCluster(t, "NodePort", 300), withCluster(client), infra.WithGatewayWaiter(w.Waiter))
	if w.Waited() != 0 {
		t.Errorf("waited %s: a NodePort Service never gets an address, nothing to wait for", w.Waited())
	}
	out := pendingOutputs(t, raw)
	assertSays(t, "ingressPending", out.IngressPending, "NodePort", "node port 31080",
		"pulumi config set --path cluster.ingressUrl http://<node address>:31080")
}

func TestExistingClusterWaitsForALoadBalancerThatGetsItsAddressLate(t *testing.T) {
	client := fake.NewClientset(gatewayService(corev1.ServiceTypeLoadBalancer))
	w := gatewayaddresstest.NewWaiter(t, func(n int) {
		if n != 1 {
			return
		}
		// What a cloud controller does once the load balancer exists.
		svc := gatewayService(corev1.ServiceTypeLoadBalancer, corev1.LoadBalancerIngress{Hostname: "lb.example.com"})
		if _, err := client.CoreV1().Services("istio-system").UpdateStatus(context.Background(), svc, metav1.UpdateOptions{}); err != nil {
			t.Error(err)
		}
	})
	_, out := deployed(t, existingCluster(t, "LoadBalancer", 60), withCluster(client), infra.WithGatewayWaiter(w.Waiter))
	if out.IngressURL != "http://lb.example.com" || out.IngressPending != "" {
		t.Errorf("ingressUrl %q pending %q, want the load balancer's address", out.IngressURL, out.IngressPending)
	}
	if w.Sleeps() != 1 {
		t.Errorf("slept %d times; the address came after the first", w.Sleeps())
	}
}

func TestExistingClusterStopsWaitingForALoadBalancerThatNeverGetsAnAddress(t *testing.T) {
	client := fake.NewClientset(gatewayService(corev1.ServiceTypeLoadBalancer))
	w := gatewayaddresstest.NewWaiter(t, nil)
	_, raw := deployedRaw(t, existingCluster(t, "LoadBalancer", 300), withCluster(client), infra.WithGatewayWaiter(w.Waiter))
	if w.Waited() != 300*time.Second {
		t.Errorf("gave up after %s, want the configured 300s", w.Waited())
	}
	out := pendingOutputs(t, raw)
	assertSays(t, "ingressPending", out.IngressPending, "no load-balancer address after waiting 5m0s",
		"kubectl -n istio-system get service istio-ingressgateway", "pulumi config set --path cluster.ingressUrl")
}

func TestAPreviewReadsTheGatewayOnceWithoutWaiting(t *testing.T) {
	t.Setenv("PULUMI_DRY_RUN", "true")
	client := fake.NewClientset(gatewayService(corev1.ServiceTypeLoadBalancer))
	w := gatewayaddresstest.NewWaiter(t, nil)
	_, raw := deployedRaw(t, existingCluster(t, "LoadBalancer", 300), withCluster(client), infra.WithGatewayWaiter(w.Waiter))
	if w.Waited() != 0 || len(client.Actions()) != 1 {
		t.Errorf("a preview waited %s and read the gateway %d times, want once without waiting", w.Waited(), len(client.Actions()))
	}
	out := pendingOutputs(t, raw)
	assertSays(t, "ingressPending", out.IngressPending, "no load-balancer address yet")
}

func TestAnUnreachableClusterLeavesTheAddressPending(t *testing.T) {
	noCluster := infra.WithClusterClient(func() (kubernetes.Interface, error) {
		return nil, errors.New("context my-cloud-cluster not found")
	})
	_, raw := deployedRaw(t, existingCluster(t, "LoadBalancer", 300), noCluster)
	out := pendingOutputs(t, raw)
	assertSays(t, "ingressPending", out.IngressPending, "context my-cloud-cluster not found", "cluster.ingressUrl")
}

func TestAPreinstalledIstioLeavesTheAddressToTheConfig(t *testing.T) {
	cfg := stackConfig(t, "cloud")
	cfg["modelrollouts:platform"] = `{"istio":{"install":false},"knative":{"install":false}}`
	_, raw := deployedRaw(t, cfg, withCluster(fake.NewClientset()))
	out := pendingOutputs(t, raw)
	assertSays(t, "ingressPending", out.IngressPending, "platform.istio.install is false", "pulumi config set --path cluster.ingressUrl")

	cfg["modelrollouts:cluster"] = `{"type":"existing","ingressUrl":"http://gateway.example.org"}`
	_, set := deployed(t, cfg)
	if set.IngressURL != "http://gateway.example.org" || set.IngressPending != "" {
		t.Errorf("ingressUrl %q pending %q, want the configured address", set.IngressURL, set.IngressPending)
	}
}
