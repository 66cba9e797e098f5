package components

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	istionet "istio.io/api/networking/v1"
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
				TargetPort: pulumi.Int(ModelPort),
			}},
		},
	}, childOpts(comp, pulumi.DependsOn(workloads))...)
	if err != nil {
		return nil, fmt.Errorf("service %s: %w", args.Service, err)
	}

	routing := ShadowRouting(args)
	var istioObjects []pulumi.Resource
	for _, obj := range []struct {
		kind, name string
		spec       any
	}{
		{"DestinationRule", args.Service, routing.DestinationRule},
		{"Gateway", args.Service + "-gateway", routing.Gateway},
		{"VirtualService", args.Service, routing.VirtualService},
	} {
		r, err := apiextensions.NewCustomResource(ctx, obj.name, &apiextensions.CustomResourceArgs{
			ApiVersion: pulumi.String(istioNetworkingAPI),
			Kind:       pulumi.String(obj.kind),
			Metadata: &metav1.ObjectMetaArgs{
				Name:      pulumi.String(obj.name),
				Namespace: args.Namespace,
				Labels:    pulumi.StringMap{"app": pulumi.String(args.Service)},
			},
			OtherFields: kubernetes.UntypedArgs{"spec": untyped(obj.spec)},
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
					Containers: corev1.ContainerArray{modelContainer(args.Service, v.ModelVersion, port, pulumi.Int(ModelPort))},
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
	Gateway         *istionet.Gateway
	VirtualService  *istionet.VirtualService
	// VersionHosts maps each version to its own host.
	VersionHosts map[string]string
}

// ShadowRouting builds the DestinationRule (a subset per version), the
// Gateway for the user host and every version host, and the VirtualService:
// each version host goes to its version; the user host goes to the primary
// and mirrors MirrorPercent of requests to the shadow.
func ShadowRouting(args *ShadowModelArgs) Routing {
	r := Routing{VersionHosts: map[string]string{}}
	dest := func(version string) *istionet.Destination {
		return &istionet.Destination{
			Host:   args.Service,
			Subset: version,
			Port:   &istionet.PortSelector{Number: 80},
		}
	}
	r.DestinationRule = &istionet.DestinationRule{Host: args.Service}
	hosts := []string{args.Host}
	vs := &istionet.VirtualService{Gateways: []string{args.Service + "-gateway"}}
	for _, v := range []ShadowVersion{args.Primary, args.Shadow} {
		r.DestinationRule.Subsets = append(r.DestinationRule.Subsets, &istionet.Subset{
			Name:   v.Name,
			Labels: map[string]string{VersionLabel: v.Name},
		})
		vhost := v.Name + "." + args.Host
		r.VersionHosts[v.Name] = vhost
		hosts = append(hosts, vhost)
		vs.Http = append(vs.Http, &istionet.HTTPRoute{
			Name:  "direct-" + v.Name,
			Match: []*istionet.HTTPMatchRequest{{Authority: &istionet.StringMatch{MatchType: &istionet.StringMatch_Exact{Exact: vhost}}}},
			Route: []*istionet.HTTPRouteDestination{{Destination: dest(v.Name), Weight: 100}},
		})
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
	vs.Hosts = hosts
	r.VirtualService = vs
	r.Gateway = &istionet.Gateway{
		Selector: map[string]string{IngressGatewayLabel: IngressGatewayTarget},
		Servers: []*istionet.Server{{
			Port:  &istionet.Port{Number: 80, Name: "http", Protocol: "HTTP"},
			Hosts: hosts,
		}},
	}
	return r
}
