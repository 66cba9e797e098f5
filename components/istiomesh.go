package components

import (
	"fmt"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/modelrollouts/modelrollouts/internal/pulumik8s"
)

// Istio's well-known names, which Knative's Istio networking layer and the
// ShadowModel's Gateway select on.
const (
	IngressGatewayLabel  = "istio"
	IngressGatewayTarget = "ingressgateway"
)

const (
	istioNamespace     = "istio-system"
	ingressGatewayName = "istio-ingressgateway"
)

// IstioMeshArgs configures Istio from its official Helm charts.
type IstioMeshArgs struct {
	// Version of the charts in ChartRepo; ignored with ChartsDir.
	Version   string
	ChartRepo string
	// ChartsDir installs from a local istio/manifests/charts folder instead.
	ChartsDir string
	// GatewayServiceType is NodePort on kind, LoadBalancer elsewhere.
	GatewayServiceType string
	// GatewayNodePort is the NodePort of the gateway's HTTP port (NodePort).
	GatewayNodePort int
}

// IstioMesh is Istio's base (CRDs), istiod and an ingress gateway.
type IstioMesh struct {
	pulumi.ResourceState

	// GatewayService is "namespace/name" of the ingress gateway Service,
	// known once the gateway's release is installed: read the Service
	// through it. Depend on the mesh with DependsOn to wait for all of Istio.
	GatewayService pulumi.StringOutput

	registered pulumi.ResourceArrayOutput
}

func (m *IstioMesh) whole() pulumi.ResourceArrayOutput { return m.registered }

// NewIstioMesh installs the three charts in order: the CRDs first, the
// control plane next (it validates gateways), the gateway last.
func NewIstioMesh(ctx *pulumi.Context, name string, args *IstioMeshArgs, opts ...pulumi.ResourceOption) (*IstioMesh, error) {
	if args == nil {
		return nil, fmt.Errorf("istio mesh %s: args are required", name)
	}
	comp := &IstioMesh{}
	if err := ctx.RegisterComponentResource(typeToken("IstioMesh"), name, comp, opts...); err != nil {
		return nil, err
	}
	base, err := istioRelease(ctx, comp, name+"-base", "istio-base", args, "base", true, pulumi.Map{
		"defaultRevision": pulumi.String("default"),
	})
	if err != nil {
		return nil, err
	}
	istiod, err := istioRelease(ctx, comp, name+"-istiod", "istiod", args, "istiod", true, pulumi.Map{
		"pilot": pulumi.Map{
			// Lab-sized: istiod's default request is 2 GiB.
			"resources": pulumi.Map{"requests": pulumi.Map{"cpu": pulumi.String("100m"), "memory": pulumi.String("256Mi")}},
		},
		"meshConfig": pulumi.Map{"accessLogFile": pulumi.String("/dev/stdout")},
	}, pulumi.DependsOn([]pulumi.Resource{base}))
	if err != nil {
		return nil, err
	}
	// Helm's wait counts a LoadBalancer Service ready only once it has an
	// address, and fails the release when none comes in time: a cluster
	// without a load-balancer controller never gives one. The address is
	// waited for (bounded) by whoever reads GatewayService instead.
	awaitGateway := args.GatewayServiceType != "LoadBalancer"
	gateway, err := istioRelease(ctx, comp, name+"-gateway", ingressGatewayName, args, "gateway", awaitGateway, gatewayValues(args),
		pulumi.DependsOn([]pulumi.Resource{istiod}))
	if err != nil {
		return nil, err
	}
	comp.registered = wholeOnceRegistered(comp, base, istiod, gateway)
	comp.GatewayService = pulumi.Sprintf("%s/%s", gateway.Status.Namespace().Elem(), gateway.Status.Name().Elem())
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{
		"gatewayService": comp.GatewayService,
	})
}

// istioRelease installs one chart into istio-system, from the repository
// or from a local charts folder.
func istioRelease(ctx *pulumi.Context, comp *IstioMesh, name, release string, args *IstioMeshArgs, chart string, await bool, values pulumi.Map, extra ...pulumi.ResourceOption) (*pulumik8s.Release, error) {
	releaseArgs := &pulumik8s.ReleaseArgs{
		Name:            pulumi.String(release),
		Namespace:       pulumi.String(istioNamespace),
		CreateNamespace: pulumi.Bool(true),
		Values:          values,
		SkipAwait:       pulumi.Bool(!await),
		Timeout:         pulumi.Int(600),
	}
	if args.ChartsDir != "" {
		releaseArgs.Chart = pulumi.String(filepath.Join(args.ChartsDir, localChartPath[chart]))
	} else {
		releaseArgs.Chart = pulumi.String(chart)
		releaseArgs.Version = pulumi.String(args.Version)
		releaseArgs.RepositoryOpts = &pulumik8s.RepositoryOpts{Repo: args.ChartRepo}
	}
	r, err := pulumik8s.NewRelease(ctx, name, releaseArgs, childOpts(comp, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("istio chart %s: %w", chart, err)
	}
	return r, nil
}

// localChartPath maps a published chart to its folder in istio's source.
var localChartPath = map[string]string{
	"base":    "base",
	"istiod":  "istio-control/istio-discovery",
	"gateway": "gateway",
}

func gatewayValues(args *IstioMeshArgs) pulumi.Map {
	http := pulumi.Map{
		"name": pulumi.String("http2"), "port": pulumi.Int(80), "targetPort": pulumi.Int(80), "protocol": pulumi.String("TCP"),
	}
	if args.GatewayServiceType == "NodePort" && args.GatewayNodePort != 0 {
		http["nodePort"] = pulumi.Int(args.GatewayNodePort)
	}
	return pulumi.Map{
		// Knative's Istio layer and our Gateways select istio=ingressgateway.
		"labels": pulumi.StringMap{IngressGatewayLabel: pulumi.String(IngressGatewayTarget)},
		"service": pulumi.Map{
			"type": pulumi.String(args.GatewayServiceType),
			"ports": pulumi.Array{
				pulumi.Map{"name": pulumi.String("status-port"), "port": pulumi.Int(15021), "targetPort": pulumi.Int(15021), "protocol": pulumi.String("TCP")},
				http,
				pulumi.Map{"name": pulumi.String("https"), "port": pulumi.Int(443), "targetPort": pulumi.Int(443), "protocol": pulumi.String("TCP")},
			},
		},
	}
}
