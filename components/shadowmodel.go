package components

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	istionet "istio.io/api/networking/v1"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

const istioNetworkingAPI = "networking.istio.io/v1"

// ShadowVersion is one model version of a shadow rollout.
type ShadowVersion struct {
	ModelVersion
	Replicas int
}

// ShadowModelArgs configures a primary that serves users and a shadow that
// receives mirrored copies of their requests.
type ShadowModelArgs struct {
	// Namespace must have Istio sidecar injection on.
	Namespace pulumi.StringInput
	// Service names the Service, DestinationRule, Gateway and VirtualService.
	Service string
	// Host is the Host header users send through the ingress gateway.
	Host    string
	Primary ShadowVersion
	Shadow  ShadowVersion
	// MirrorPercent of user requests copied to the shadow, 0 to 100.
	MirrorPercent float64
	// ViaGateway applies the routing to callers outside the mesh, through
	// the ingress gateway; InMesh to callers with a sidecar, in any
	// namespace, calling the Service. At least one must be set.
	ViaGateway, InMesh bool
	// HeaderRouting sends a request carrying modelapi.HeaderRouteVersion
	// straight to the version it names, unmirrored.
	HeaderRouting bool
}

// ShadowModel is a Deployment per version behind one Service, and the Istio
// objects that route users to the primary and mirror to the shadow.
type ShadowModel struct {
	pulumi.ResourceState

	// Host is the Host header of user traffic.
	Host pulumi.StringOutput
	// VersionHosts maps each version to a host that reaches only it, so
	// its metrics and answers can be read from outside.
	VersionHosts pulumi.StringMapOutput
}

// NewShadowModel registers the Deployments, Service and Istio objects.
func NewShadowModel(ctx *pulumi.Context, name string, args *ShadowModelArgs, opts ...pulumi.ResourceOption) (*ShadowModel, error) {
	if args == nil {
		return nil, fmt.Errorf("shadow model %s: args are required", name)
	}
	if !args.ViaGateway && !args.InMesh {
		// An empty gateways list would silently mean the mesh.
		return nil, fmt.Errorf("shadow model %s: route callers via the gateway, in the mesh, or both; neither is set", name)
	}
	comp := &ShadowModel{}
	if err := ctx.RegisterComponentResource(typeToken("ShadowModel"), name, comp, opts...); err != nil {
		return nil, err
	}
	var workloads []pulumi.Resource
	for _, v := range []ShadowVersion{args.Primary, args.Shadow} {
		d, err := modelDeployment(ctx, comp, args, v)
		if err != nil {
			return nil, err
		}
		workloads = append(workloads, d)
	}
	svc, err := corev1.NewService(ctx, args.Service, &corev1.ServiceArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:      pulumi.String(args.Service),
			Namespace: args.Namespace,
			Labels:    pulumi.StringMap{"app": pulumi.String(args.Service)},
		},
		Spec: &corev1.ServiceSpecArgs{
			Selector: pulumi.StringMap{"app": pulumi.String(args.Service)},
			Ports: corev1.ServicePortArray{corev1.ServicePortArgs{
				// Istio reads the protocol from the port name.
				Name:       pulumi.String("http"),
				Port:       pulumi.Int(80),
				TargetPort: serviceTargetPort(args.Primary, args.Shadow),
			}},
		},
	}, childOpts(comp, pulumi.DependsOn(workloads))...)
	if err != nil {
		return nil, fmt.Errorf("service %s: %w", args.Service, err)
	}

	routing := ShadowRouting(args)
	type istioObject struct {
		kind, name string
		spec       any
	}
	objects := []istioObject{{"DestinationRule", args.Service, routing.DestinationRule}}
	if routing.Gateway != nil {
		objects = append(objects, istioObject{"Gateway", routing.GatewayName, routing.Gateway})
	}
	objects = append(objects, istioObject{"VirtualService", args.Service, routing.VirtualService})
	var istioObjects []pulumi.Resource
	for _, obj := range objects {
		r, err := apiextensions.NewCustomResource(ctx, obj.name, &apiextensions.CustomResourceArgs{
			ApiVersion: pulumi.String(istioNetworkingAPI),
			Kind:       pulumi.String(obj.kind),
			Metadata: &metav1.ObjectMetaArgs{
				Name:      pulumi.String(obj.name),
				Namespace: args.Namespace,
				Labels:    pulumi.StringMap{"app": pulumi.String(args.Service)},
			},
			OtherFields: kubernetes.UntypedArgs{"spec": Plain[any](obj.spec)},
		}, childOpts(comp, pulumi.DependsOn(append([]pulumi.Resource{svc}, istioObjects...)))...)
		if err != nil {
			return nil, fmt.Errorf("istio %s %s: %w", obj.kind, obj.name, err)
		}
		// The VirtualService goes last: every subset it names must exist.
		istioObjects = append(istioObjects, r)
	}
	last := istioObjects[len(istioObjects)-1]
	comp.Host = last.URN().ApplyT(func(pulumi.URN) string { return args.Host }).(pulumi.StringOutput)
	comp.VersionHosts = last.URN().ApplyT(func(pulumi.URN) map[string]string { return routing.VersionHosts }).(pulumi.StringMapOutput)
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{
		"host":         comp.Host,
		"versionHosts": comp.VersionHosts,
	})
}

// serviceTargetPort is the versions' serving port, or the port's name
// where they serve on different ports (a model without the agent on its
// own port beside one with it).
func serviceTargetPort(versions ...ShadowVersion) pulumi.Input {
	for _, v := range versions {
		if v.servingPort() != ModelPort {
			return pulumi.String("http")
		}
	}
	return pulumi.Int(ModelPort)
}

func modelDeployment(ctx *pulumi.Context, comp *ShadowModel, args *ShadowModelArgs, v ShadowVersion) (*appsv1.Deployment, error) {
	name := args.Service + "-" + v.Name
	labels := versionLabels(args.Service, v.Name)
	port := corev1.ContainerPortArgs{Name: pulumi.String("http"), ContainerPort: pulumi.Int(ModelPort)}
	d, err := appsv1.NewDeployment(ctx, name, &appsv1.DeploymentArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(name), Namespace: args.Namespace, Labels: labels},
		Spec: &appsv1.DeploymentSpecArgs{
			Replicas: pulumi.Int(v.Replicas),
			Selector: &metav1.LabelSelectorArgs{MatchLabels: labels},
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: labels},
				Spec: &corev1.PodSpecArgs{
					Containers: versionContainers(args.Service, v.ModelVersion, port, pulumi.Int(ModelPort)),
					SecurityContext: &corev1.PodSecurityContextArgs{
						RunAsNonRoot:   pulumi.Bool(true),
						SeccompProfile: &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
					},
					AutomountServiceAccountToken: pulumi.Bool(false),
				},
			},
		},
	}, childOpts(comp)...)
	if err != nil {
		return nil, fmt.Errorf("deployment %s: %w", name, err)
	}
	return d, nil
}

// Routing is the Istio configuration of a shadow rollout, typed with
// Istio's own API structs.
type Routing struct {
	DestinationRule *istionet.DestinationRule
	// Gateway is nil when only callers inside the mesh are routed.
	Gateway        *istionet.Gateway
	GatewayName    string
	VirtualService *istionet.VirtualService
	// VersionHosts maps each version to its own host.
	VersionHosts map[string]string
}

// MeshGateway is Istio's name for "every sidecar" in a VirtualService's
// gateways.
const MeshGateway = "mesh"

// ShadowRouting builds the DestinationRule (a subset per version), the
// Gateway for the user host and every version host, and the VirtualService.
// Its routes, first match wins:
//   - a version host, with or without a port, goes to its version;
//   - with header routing, a request naming a version in
//     modelapi.HeaderRouteVersion goes to it, unmirrored;
//   - anything else (the user host, or the Service called from inside the
//     mesh) goes to the primary and MirrorPercent of it is copied to the
//     shadow.
//
// Bound to the gateway, the user and version hosts apply to the ingress
// gateway; bound to the mesh, the Service's own host (which Istio resolves
// in the VirtualService's namespace) and the version hosts apply to every
// sidecar: a VirtualService bound only to a gateway does not.
func ShadowRouting(args *ShadowModelArgs) Routing {
	r := Routing{VersionHosts: map[string]string{}, GatewayName: args.Service + "-gateway"}
	dest := func(version string) *istionet.Destination {
		return &istionet.Destination{
			Host:   args.Service,
			Subset: version,
			Port:   &istionet.PortSelector{Number: 80},
		}
	}
	versions := []ShadowVersion{args.Primary, args.Shadow}
	r.DestinationRule = &istionet.DestinationRule{Host: args.Service}
	var versionHosts []string
	vs := &istionet.VirtualService{}
	for _, v := range versions {
		r.DestinationRule.Subsets = append(r.DestinationRule.Subsets, &istionet.Subset{
			Name:   v.Name,
			Labels: map[string]string{VersionLabel: v.Name},
		})
		vhost := v.Name + "." + args.Host
		r.VersionHosts[v.Name] = vhost
		versionHosts = append(versionHosts, vhost)
		vs.Http = append(vs.Http, &istionet.HTTPRoute{
			Name:  "direct-" + v.Name,
			Match: authorityMatches(vhost),
			Route: []*istionet.HTTPRouteDestination{{Destination: dest(v.Name), Weight: 100}},
		})
	}
	if args.HeaderRouting {
		for _, v := range versions {
			vs.Http = append(vs.Http, &istionet.HTTPRoute{
				Name: "header-" + v.Name,
				Match: []*istionet.HTTPMatchRequest{{Headers: map[string]*istionet.StringMatch{
					// Istio wants header names in lower case.
					strings.ToLower(modelapi.HeaderRouteVersion): {MatchType: &istionet.StringMatch_Exact{Exact: v.Name}},
				}}},
				Route: []*istionet.HTTPRouteDestination{{Destination: dest(v.Name), Weight: 100}},
			})
		}
	}
	users := &istionet.HTTPRoute{
		Name:  "users",
		Route: []*istionet.HTTPRouteDestination{{Destination: dest(args.Primary.Name), Weight: 100}},
	}
	if args.MirrorPercent > 0 {
		users.Mirror = dest(args.Shadow.Name)
		users.MirrorPercentage = &istionet.Percent{Value: args.MirrorPercent}
	}
	vs.Http = append(vs.Http, users)

	if args.ViaGateway {
		gatewayHosts := append([]string{args.Host}, versionHosts...)
		vs.Gateways = append(vs.Gateways, r.GatewayName)
		vs.Hosts = append(vs.Hosts, gatewayHosts...)
		r.Gateway = &istionet.Gateway{
			Selector: map[string]string{IngressGatewayLabel: IngressGatewayTarget},
			Servers: []*istionet.Server{{
				Port:  &istionet.Port{Number: 80, Name: "http", Protocol: "HTTP"},
				Hosts: gatewayHosts,
			}},
		}
	}
	if args.InMesh {
		vs.Gateways = append(vs.Gateways, MeshGateway)
		vs.Hosts = append(vs.Hosts, args.Service)
		if !args.ViaGateway {
			vs.Hosts = append(vs.Hosts, versionHosts...)
		}
	}
	r.VirtualService = vs
	return r
}

// authorityMatches match a host as Envoy sees it in :authority, which
// keeps any port the caller put in the URL (v1.model.example.com:8081 on
// kind): the host alone, or the host and a port.
func authorityMatches(host string) []*istionet.HTTPMatchRequest {
	return []*istionet.HTTPMatchRequest{
		{Authority: &istionet.StringMatch{MatchType: &istionet.StringMatch_Exact{Exact: host}}},
		{Authority: &istionet.StringMatch{MatchType: &istionet.StringMatch_Prefix{Prefix: host + ":"}}},
	}
}
