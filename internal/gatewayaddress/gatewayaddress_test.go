package gatewayaddress

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

var gateway = Service{Namespace: "istio-system", Name: "istio-ingressgateway"}

func init() { pollInterval = 50 * time.Millisecond }

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
	client := fake.NewClientset(gatewayService(corev1.ServiceTypeLoadBalancer))
	const delay = 300 * time.Millisecond
	go func() {
		// As a cloud controller would: the status, once the LB exists.
		time.Sleep(delay)
		s := gatewayService(corev1.ServiceTypeLoadBalancer, corev1.LoadBalancerIngress{IP: "203.0.113.20"})
		if _, err := client.CoreV1().Services(gateway.Namespace).UpdateStatus(context.Background(), s, metav1.UpdateOptions{}); err != nil {
			t.Error(err)
		}
	}()
	start := time.Now()
	a := Wait(context.Background(), client, gateway, time.Minute)
	if a.URL != "http://203.0.113.20" {
		t.Fatalf("%+v, want the address the load balancer got", a)
	}
	if took := time.Since(start); took < delay || took > 20*time.Second {
		t.Errorf("returned after %s; the address came after %s", took, delay)
	}
}

func TestALoadBalancerThatNeverGetsAnAddressIsPendingAfterTheTimeout(t *testing.T) {
	client := fake.NewClientset(gatewayService(corev1.ServiceTypeLoadBalancer))
	start := time.Now()
	a := Wait(context.Background(), client, gateway, 500*time.Millisecond)
	if took := time.Since(start); took < 500*time.Millisecond || took > 10*time.Second {
		t.Errorf("gave up after %s, want about the 500ms timeout", took)
	}
	assertPending(t, a, "istio-system/istio-ingressgateway has no load-balancer address after waiting 500ms",
		"kubectl -n istio-system get service istio-ingressgateway")
}

func TestANodePortGatewayIsPendingAtOnceWithItsNodePort(t *testing.T) {
	client := fake.NewClientset(gatewayService(corev1.ServiceTypeNodePort))
	start := time.Now()
	a := Wait(context.Background(), client, gateway, time.Minute)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("waited %s for a NodePort Service, which never gets an address", took)
	}
	assertPending(t, a, "NodePort", "node port 31080", "http://<node address>:31080")
}

func TestAClusterIPGatewayIsPendingWithAPortForward(t *testing.T) {
	a := Wait(context.Background(), fake.NewClientset(gatewayService(corev1.ServiceTypeClusterIP)), gateway, 0)
	assertPending(t, a, "ClusterIP", "port-forward service/istio-ingressgateway 8080:80")
}

func TestAMissingGatewayIsPendingAtOnceNotAPanic(t *testing.T) {
	for _, timeout := range []time.Duration{0, time.Minute} {
		start := time.Now()
		a := Wait(context.Background(), fake.NewClientset(), gateway, timeout)
		assertPending(t, a, "cannot read the ingress gateway Service istio-system/istio-ingressgateway", "not found")
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("waited %s for a Service that is not there", took)
		}
	}
}

func TestALoadBalancerWithoutAnAddressInAPreviewIsPendingYet(t *testing.T) {
	a := Wait(context.Background(), fake.NewClientset(gatewayService(corev1.ServiceTypeLoadBalancer)), gateway, 0)
	assertPending(t, a, "has no load-balancer address yet")
}

func TestALoadBalancerPortOtherThan80IsInTheURL(t *testing.T) {
	s := gatewayService(corev1.ServiceTypeLoadBalancer, corev1.LoadBalancerIngress{IP: "203.0.113.10"})
	s.Spec.Ports[1].Port = 8080
	if a := Wait(context.Background(), fake.NewClientset(s), gateway, 0); a.URL != "http://203.0.113.10:8080" {
		t.Errorf("%+v, want the http2 port in the URL", a)
	}
}
