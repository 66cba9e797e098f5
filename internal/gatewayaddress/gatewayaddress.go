// Package gatewayaddress finds where a mesh's ingress gateway Service is
// reachable from outside the cluster: its load balancer's address, waited
// for a bounded time because cloud load balancers take minutes and
// clusters without a load-balancer controller never assign one. When no
// address is known it says why, and how to set cluster.ingressUrl.
package gatewayaddress

import (
	"context"
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
)

// IngressURLKey is the config key that overrides the address.
const IngressURLKey = "cluster.ingressUrl"

// Address is what is known of where the gateway is reachable.
type Address struct {
	// URL is http://host[:port], or empty when it is not known.
	URL string
	// Pending says, when URL is empty, why and what to do about it.
	Pending string
}

// Service names the gateway Service.
type Service struct {
	Namespace, Name string
}

func (s Service) String() string { return s.Namespace + "/" + s.Name }

// DefaultPollInterval is how often a Waiter reads the Service again: a
// load balancer takes minutes, so a few seconds late costs nothing.
const DefaultPollInterval = 2 * time.Second

// Waiter reads the gateway Service on a schedule. The zero Waiter reads
// every DefaultPollInterval on the real clock; tests give it a fake clock
// so that minutes of waiting for a load balancer take no real time.
type Waiter struct {
	Clock        clock.Clock   // nil: the real clock
	PollInterval time.Duration // zero: DefaultPollInterval
}

// Wait is the zero Waiter's Wait.
func Wait(ctx context.Context, client kubernetes.Interface, svc Service, timeout time.Duration) Address {
	return Waiter{}.Wait(ctx, client, svc, timeout)
}

// Wait reads the gateway Service and, while it is a LoadBalancer without
// an address, reads it again every poll interval until timeout has passed
// on the Waiter's clock. A timeout of zero reads once. Wait never fails:
// every problem becomes Address.Pending.
func (w Waiter) Wait(ctx context.Context, client kubernetes.Interface, svc Service, timeout time.Duration) Address {
	clk, interval := w.Clock, w.PollInterval
	if clk == nil {
		clk = clock.RealClock{}
	}
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	var last *corev1.Service
	var lastErr error
	// read reports whether reading again is pointless: the Service has
	// its answer, or the error is permanent.
	read := func(ctx context.Context) bool {
		s, err := client.CoreV1().Services(svc.Namespace).Get(ctx, svc.Name, metav1.GetOptions{})
		if err != nil {
			lastErr = err
			// Only a transient error is worth waiting out.
			return apierrors.IsNotFound(err) || apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err)
		}
		last, lastErr = s, nil
		return s.Spec.Type != corev1.ServiceTypeLoadBalancer || loadBalancerHost(s) != ""
	}
	if timeout <= 0 {
		read(ctx)
	} else {
		// A hanging API server is cut at the timeout too.
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		deadline := clk.Now().Add(timeout)
		// A timeout is an answer too: the address is still pending.
		for !read(ctx) {
			left := deadline.Sub(clk.Now())
			if left <= 0 || !sleep(ctx, clk, min(interval, left)) {
				break
			}
		}
	}
	if last == nil {
		return unreadable(svc, lastErr)
	}
	return describe(last, svc, timeout)
}

// sleep waits d on clk, or returns false once ctx is done.
func sleep(ctx context.Context, clk clock.Clock, d time.Duration) bool {
	t := clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-ctx.Done():
		return false
	}
}

// describe turns the Service's current state into an Address.
func describe(s *corev1.Service, svc Service, waited time.Duration) Address {
	port := httpPort(s)
	switch s.Spec.Type {
	case corev1.ServiceTypeLoadBalancer:
		if host := loadBalancerHost(s); host != "" {
			return Address{URL: url(host, port.Port, 80)}
		}
		when := "yet"
		if waited > 0 {
			when = "after waiting " + waited.String()
		}
		return Address{Pending: fmt.Sprintf(
			"the ingress gateway Service %s has no load-balancer address %s. "+
				"Run `pulumi up` again once `kubectl -n %s get service %s` shows an EXTERNAL-IP, "+
				"or set the address: pulumi config set --path %s http://<address>",
			svc, when, svc.Namespace, svc.Name, IngressURLKey)}
	case corev1.ServiceTypeNodePort:
		return Address{Pending: fmt.Sprintf(
			"the ingress gateway Service %s is a NodePort Service (HTTP on node port %d), which has no address of its own. "+
				"Set one that reaches it: pulumi config set --path %s http://<node address>:%d",
			svc, port.NodePort, IngressURLKey, port.NodePort)}
	default:
		return Address{Pending: fmt.Sprintf(
			"the ingress gateway Service %s is a %s Service, reachable only inside the cluster. "+
				"Forward a port (kubectl -n %s port-forward service/%s 8080:%d) and set: pulumi config set --path %s http://127.0.0.1:8080",
			svc, s.Spec.Type, svc.Namespace, svc.Name, port.Port, IngressURLKey)}
	}
}

func unreadable(svc Service, err error) Address {
	return Address{Pending: fmt.Sprintf(
		"cannot read the ingress gateway Service %s: %v. Set the address: pulumi config set --path %s http://<address>",
		svc, err, IngressURLKey)}
}

// loadBalancerHost is the first address the load balancer reports.
func loadBalancerHost(s *corev1.Service) string {
	for _, ing := range s.Status.LoadBalancer.Ingress {
		if ing.Hostname != "" {
			return ing.Hostname
		}
		if ing.IP != "" {
			return ing.IP
		}
	}
	return ""
}

// httpPort is the gateway's plain-HTTP port: Istio's chart names it http2.
func httpPort(s *corev1.Service) corev1.ServicePort {
	for _, p := range s.Spec.Ports {
		if p.Name == "http2" || p.Name == "http" {
			return p
		}
	}
	for _, p := range s.Spec.Ports {
		if p.Port == 80 {
			return p
		}
	}
	return corev1.ServicePort{Port: 80}
}

func url(host string, port, defaultPort int32) string {
	if port == 0 || port == defaultPort {
		return "http://" + host
	}
	return "http://" + host + ":" + strconv.Itoa(int(port))
}
