package gatewayaddress_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	. "github.com/modelrollouts/modelrollouts/internal/gatewayaddress"
	"github.com/modelrollouts/modelrollouts/internal/gatewayaddress/gatewayaddresstest"
)

var gateway = Service{Namespace: "istio-system", Name: "istio-ingressgateway"}

// gatewayService is the Service Istio's gateway chart creates, with our
// ports: status-port, http2 (80, on nodePort when NodePort) and https.
func gatewayService(typ corev1.ServiceType, ingress ...corev1.LoadBalancerIngress) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: gateway.Namespace, Name: gateway.Name},
		Spec: corev1.ServiceSpec{Type: typ, Ports: []corev1.ServicePort{
			{Name: "status-port", Port: 15021},
			{Name: "http2", Port: 80},
			{Name: "https", Port: 443},
		}},
		Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: ingress}},
	}
	if typ != corev1.ServiceTypeClusterIP {
		s.Spec.Ports[1].NodePort = 31080
	}
	return s
}

func assertPending(t *testing.T, a Address, wants ...string) {
	t.Helper()
	if a.URL != "" {
		t.Errorf("URL %q, want none", a.URL)
	}
	for _, want := range append(wants, "pulumi config set --path cluster.ingressUrl http://") {
		if !strings.Contains(a.Pending, want) {
			t.Errorf("pending %q does not say %q", a.Pending, want)
		}
	}
}

func TestALoadBalancerWithAnAddressIsReachableThere(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ingress corev1.LoadBalancerIngress
		want    string
	}{
		{corev1.LoadBalancerIngress{IP: "203.0.113.10"}, "http://203.0.113.10"},
		{corev1.LoadBalancerIngress{Hostname: "lb.example.com", IP: "203.0.113.10"}, "http://lb.example.com"},
	} {
		client := fake.NewClientset(gatewayService(corev1.ServiceTypeLoadBalancer, tc.ingress))
		for _, timeout := range []time.Duration{0, time.Minute} {
			a := Wait(context.Background(), client, gateway, timeout)
			if a.URL != tc.want || a.Pending != "" {
				t.Errorf("timeout %s: %+v, want URL %s", timeout, a, tc.want)
			}
		}
	}
}

func TestALoadBalancerThatGetsItsAddressLateIsWaitedFor(t *testing.T) {
	t.Parallel()
	client := fake.NewClientset(gatewayService(corev1.ServiceTypeLoadBalancer))
	const late = 3 // polls without an address
	w := gatewayaddresstest.NewWaiter(t, func(n int) {
		if n != late {
			return
		}
		// As a cloud controller would: the status, once the LB exists.
		s := gatewayService(corev1.ServiceTypeLoadBalancer, corev1.LoadBalancerIngress{IP: "203.0.113.20"})
		if _, err := client.CoreV1().Services(gateway.Namespace).UpdateStatus(context.Background(), s, metav1.UpdateOptions{}); err != nil {
			t.Error(err)
		}
	})
	a := w.Wait(context.Background(), client, gateway, time.Minute)
	if a.URL != "http://203.0.113.20" {
		t.Fatalf("%+v, want the address the load balancer got", a)
	}
	if want := late * DefaultPollInterval; w.Waited() != want {
		t.Errorf("returned after %s; the address came after %s", w.Waited(), want)
	}
}

func TestALoadBalancerThatNeverGetsAnAddressIsPendingAfterTheTimeout(t *testing.T) {
	t.Parallel()
	client := fake.NewClientset(gatewayService(corev1.ServiceTypeLoadBalancer))
	w := gatewayaddresstest.NewWaiter(t, nil)
	a := w.Wait(context.Background(), client, gateway, 5*time.Minute)
	if w.Waited() != 5*time.Minute {
		t.Errorf("gave up after %s, want the 5m timeout", w.Waited())
	}
	if reads := len(client.Actions()); reads != 5*30+1 {
		t.Errorf("read the Service %d times in 5m, want every 2s: %d", reads, 5*30+1)
	}
	assertPending(t, a, "istio-system/istio-ingressgateway has no load-balancer address after waiting 5m0s",
		"kubectl -n istio-system get service istio-ingressgateway")
}

func TestANodePortGatewayIsPendingAtOnceWithItsNodePort(t *testing.T) {
	t.Parallel()
	client := fake.NewClientset(gatewayService(corev1.ServiceTypeNodePort))
	w := gatewayaddresstest.NewWaiter(t, nil)
	a := w.Wait(context.Background(), client, gateway, time.Minute)
	if w.Waited() != 0 {
		t.Errorf("waited %s for a NodePort Service, which never gets an address", w.Waited())
	}
	assertPending(t, a, "NodePort", "node port 31080", "http://<node address>:31080")
}

func TestAClusterIPGatewayIsPendingWithAPortForward(t *testing.T) {
	t.Parallel()
	a := Wait(context.Background(), fake.NewClientset(gatewayService(corev1.ServiceTypeClusterIP)), gateway, 0)
	assertPending(t, a, "ClusterIP", "port-forward service/istio-ingressgateway 8080:80")
}

func TestAMissingGatewayIsPendingAtOnceNotAPanic(t *testing.T) {
	t.Parallel()
	for _, timeout := range []time.Duration{0, time.Minute} {
		w := gatewayaddresstest.NewWaiter(t, nil)
		a := w.Wait(context.Background(), fake.NewClientset(), gateway, timeout)
		assertPending(t, a, "cannot read the ingress gateway Service istio-system/istio-ingressgateway", "not found")
		if w.Waited() != 0 {
			t.Errorf("waited %s for a Service that is not there", w.Waited())
		}
	}
}

func TestALoadBalancerWithoutAnAddressInAPreviewIsPendingYet(t *testing.T) {
	t.Parallel()
	a := Wait(context.Background(), fake.NewClientset(gatewayService(corev1.ServiceTypeLoadBalancer)), gateway, 0)
	assertPending(t, a, "has no load-balancer address yet")
}

func TestALoadBalancerPortOtherThan80IsInTheURL(t *testing.T) {
	t.Parallel()
	s := gatewayService(corev1.ServiceTypeLoadBalancer, corev1.LoadBalancerIngress{IP: "203.0.113.10"})
	s.Spec.Ports[1].Port = 8080
	if a := Wait(context.Background(), fake.NewClientset(s), gateway, 0); a.URL != "http://203.0.113.10:8080" {
		t.Errorf("%+v, want the http2 port in the URL", a)
	}
}
