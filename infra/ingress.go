package infra

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"k8s.io/client-go/kubernetes"

	"github.com/modelrollouts/modelrollouts/components"
	"github.com/modelrollouts/modelrollouts/internal/gatewayaddress"
	"github.com/modelrollouts/modelrollouts/stacks"
)

// ingress is where smoke tests send requests (URL), or, while that is
// unknown, why and what to set (Pending).
type ingress struct {
	URL, Pending pulumi.StringOutput
}

// ingressAddress is the kind host port, a configured address, or the
// address of the gateway Service the mesh installed. The last is read
// through the mesh's GatewayService output, so the read follows the
// gateway's install (a read would ignore an explicit DependsOn,
// pulumi/pulumi#16395), and waits a bounded time for a load balancer.
func ingressAddress(ctx *pulumi.Context, cfg *stacks.Config, mesh *components.IstioMesh, client clusterClient, waiter gatewayaddress.Waiter) ingress {
	cl := cfg.Cluster
	switch {
	case cl.IngressURL != "":
		return known(pulumi.String(cl.IngressURL).ToStringOutput())
	case cl.Type == stacks.ClusterKind:
		return known(pulumi.Sprintf("http://%s:%d", cl.ListenAddress, cl.IngressHostPort))
	case mesh == nil:
		return pending(ctx, fmt.Sprintf("this stack does not install Istio (platform.istio.install is false), so nothing says where its gateway is reachable. "+
			"Set the address: pulumi config set --path %s http://<address>", gatewayaddress.IngressURLKey))
	}
	wait := time.Duration(*cl.IngressWaitSeconds) * time.Second
	if ctx.DryRun() {
		wait = 0 // a preview reads what is there, and does not wait
	}
	address := mesh.GatewayService.ApplyTWithContext(ctx.Context(), func(c context.Context, namespacedName string) (gatewayaddress.Address, error) {
		namespace, name, _ := strings.Cut(namespacedName, "/")
		svc := gatewayaddress.Service{Namespace: namespace, Name: name}
		var a gatewayaddress.Address
		if client == nil {
			a = gatewayaddress.Address{Pending: fmt.Sprintf("the program has no client to read the ingress gateway Service %s (rendered without a cluster)", svc)}
		} else if k, err := client(); err != nil {
			a = gatewayaddress.Address{Pending: fmt.Sprintf("cannot reach the cluster to read the ingress gateway Service %s: %v. Set the address: pulumi config set --path %s http://<address>", svc, err, gatewayaddress.IngressURLKey)}
		} else {
			a = waiter.Wait(c, k, svc, wait)
		}
		if a.Pending != "" && client != nil {
			_ = ctx.Log.Warn("ingressUrl is pending: "+a.Pending, nil)
		}
		return a, nil
	})
	return ingress{
		URL:     address.ApplyT(func(a any) string { return a.(gatewayaddress.Address).URL }).(pulumi.StringOutput),
		Pending: address.ApplyT(func(a any) string { return a.(gatewayaddress.Address).Pending }).(pulumi.StringOutput),
	}
}

// clusterClient reaches an existing cluster with client-go; nil where
// there is no cluster (render, mocks without one).
type clusterClient = func() (kubernetes.Interface, error)

func known(url pulumi.StringOutput) ingress {
	return ingress{URL: url, Pending: pulumi.String("").ToStringOutput()}
}

func pending(ctx *pulumi.Context, why string) ingress {
	_ = ctx.Log.Warn("ingressUrl is pending: "+why, nil)
	return ingress{URL: pulumi.String("").ToStringOutput(), Pending: pulumi.String(why).ToStringOutput()}
}
