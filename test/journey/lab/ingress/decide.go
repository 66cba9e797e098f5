package ingress

import (
	"context"
	"net/http"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
)

// Decision is where the gateway sends one request. Exported so that
// test/istio can hold the stand-in to istiod's own translation of the
// same objects (the journeys cannot link Istio: see docs/journeys.md).
type Decision struct {
	Namespace string
	// Service, Subset and Port name an Istio destination; Revision a
	// Knative one.
	Service, Subset, Revision string
	Port                      int
	// Mirror is where a copy goes when the route mirrors, and
	// MirrorPercent the share of requests copied.
	Mirror        *Decision
	MirrorPercent float64
}

// Decide reads the routing objects from the API server and says where r
// goes; ok is false when the gateway has no route for it (Envoy's 404).
// Every draw is 0: a split takes its first weighted target, and a route
// that mirrors any share reports its mirror.
func Decide(ctx context.Context, client kubernetes.Interface, dyn dynamic.Interface, r *http.Request) (d Decision, ok bool, err error) {
	t, err := load(ctx, client, dyn)
	if err != nil {
		return Decision{}, false, err
	}
	got, ok := t.decide(r, func() float64 { return 0 })
	if !ok {
		return Decision{}, false, nil
	}
	d = exported(got.target)
	if got.mirrorShare > 0 {
		m := exported(*got.mirror)
		d.Mirror, d.MirrorPercent = &m, got.mirrorShare
	}
	return d, true, nil
}

func exported(d destination) Decision {
	return Decision{Namespace: d.namespace, Service: d.service, Subset: d.subset, Revision: d.revision, Port: d.port}
}
