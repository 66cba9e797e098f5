package stacks

import (
	"net/netip"
	"strings"
)

// Validate checks the cluster's own keys. A key that does not apply to
// the cluster type is reported at that key.
func (cl *ClusterConfig) Validate() *FieldError {
	var errs *FieldError
	switch cl.Type {
	case ClusterKind:
		errs = errs.Also(checkDNS1123Label(cl.Name, "name"))
		if cl.Workers < 0 || cl.Workers > maxWorkers {
			errs = errs.Also(ErrOutOfBoundsValue(cl.Workers, 0, maxWorkers, "workers"))
		}
		if cl.IngressHostPort < 1 || cl.IngressHostPort > 65535 {
			errs = errs.Also(ErrOutOfBoundsValue(cl.IngressHostPort, 1, 65535, "ingressHostPort"))
		}
		// The default Kubernetes NodePort range.
		if cl.IngressNodePort < 30000 || cl.IngressNodePort > 32767 {
			errs = errs.Also(ErrOutOfBoundsValue(cl.IngressNodePort, 30000, 32767, "ingressNodePort"))
		}
		errs = errs.Also(checkIPAddress(cl.ListenAddress, "listenAddress"))
		if cl.Kubeconfig != "" {
			errs = errs.Also(ErrGeneric("kind clusters make their own kubeconfig; set cluster.type to existing to use one", "kubeconfig"))
		}
		if cl.Context != "" {
			errs = errs.Also(ErrGeneric("applies only to existing clusters: kind clusters make their own kubeconfig (set cluster.type to existing to use one)", "context"))
		}
		if cl.IngressWaitSeconds != nil {
			errs = errs.Also(ErrGeneric("applies only to existing clusters: kind's ingress is the mapped host port", "ingressWaitSeconds"))
		}
	case ClusterExisting:
		kindOnly := []struct {
			field string
			set   bool
		}{
			{"name", cl.Name != ""}, {"nodeImage", cl.NodeImage != ""}, {"workers", cl.Workers != 0},
			{"ingressHostPort", cl.IngressHostPort != 0}, {"ingressNodePort", cl.IngressNodePort != 0},
			{"listenAddress", cl.ListenAddress != ""},
		}
		for _, k := range kindOnly {
			if k.set {
				errs = errs.Also(ErrGeneric("applies only to kind clusters, and cluster.type is existing", k.field))
			}
		}
		if w := cl.IngressWaitSeconds; w != nil && (*w < 0 || *w > maxIngressWaitSeconds) {
			errs = errs.Also(ErrOutOfBoundsValue(*w, 0, maxIngressWaitSeconds, "ingressWaitSeconds"))
		}
	default:
		errs = errs.Also(ErrUnknownValue(cl.Type, "type", "cluster type", ClusterKind, ClusterExisting))
	}
	if cl.IngressURL != "" && !strings.HasPrefix(cl.IngressURL, "http://") && !strings.HasPrefix(cl.IngressURL, "https://") {
		errs = errs.Also(ErrInvalidValue(cl.IngressURL, "ingressUrl", "an http(s) URL"))
	}
	return errs
}

// maxWorkers bounds kind worker nodes: each is a container on one machine.
const maxWorkers = 10

// maxIngressWaitSeconds bounds the wait for a load balancer's address.
const maxIngressWaitSeconds = 3600

// checkIPAddress reports value at field unless it is an IP address, which
// is what kind's port mapping binds to (a port there is a common mistake).
func checkIPAddress(value, field string) *FieldError {
	if addr, err := netip.ParseAddr(value); err == nil && addr.Zone() == "" {
		return nil
	}
	return ErrInvalidValue(value, field, "an IP address (without a port: the port is cluster.ingressHostPort), e.g. 127.0.0.1 or 0.0.0.0")
}
