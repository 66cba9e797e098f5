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
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
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

// pollInterval is how often Wait reads the Service again: a load
// balancer takes minutes, so a few seconds late costs nothing.
var pollInterval = 2 * time.Second

// Wait reads the gateway Service and, while it is a LoadBalancer without
// an address, reads it again until timeout. A timeout of zero reads once.
// Wait never fails: every problem becomes Address.Pending.
func Wait(ctx context.Context, client kubernetes.Interface, svc Service, timeout time.Duration) Address {
	var last *corev1.Service
	var lastErr error
	read := func(ctx context.Context) (bool, error) {
		s, err := client.CoreV1().Services(svc.Namespace).Get(ctx, svc.Name, metav1.GetOptions{})
		if err != nil {
			lastErr = err
			// Only a transient error is worth waiting out.
			permanent := apierrors.IsNotFound(err) || apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err)
			return permanent, nil
		}
		last, lastErr = s, nil
		return s.Spec.Type != corev1.ServiceTypeLoadBalancer || loadBalancerHost(s) != "", nil
	}
	if timeout <= 0 {
		_, _ = read(ctx)
	} else {
		// A timeout is an answer too: the address is still pending.
		_ = wait.PollUntilContextTimeout(ctx, pollInterval, timeout, true, read)
	}
	if last == nil {
		return unreadable(svc, lastErr)
	}
	return describe(last, svc, timeout)
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
