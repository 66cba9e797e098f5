package components

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/modelrollouts/modelrollouts/internal/pulumik8s"
)

// KnativeNamespace is where Knative Serving runs.
const KnativeNamespace = "knative-serving"

// KnativeTagHeader is the request header Knative routes by when
// tag-header-based-routing is on: its value is a traffic tag.
const KnativeTagHeader = "Knative-Serving-Tag"

// KnativeServingArgs configures Knative Serving and its Istio layer.
type KnativeServingArgs struct {
	// Manifest files, URLs or globs: the release's serving-crds.yaml,
	// serving-core.yaml and net-istio.yaml, or local copies.
	CRDManifests      []string
	CoreManifests     []string
	NetIstioManifests []string
	// Domain of every route (config-domain).
	Domain string
	// ScaleToZero lets idle revisions scale to zero (config-autoscaler).
	ScaleToZero bool
	// SkipTagResolution lists registries Knative does not resolve tags for
	// (config-deployment): locally loaded images are in no registry.
	SkipTagResolution []string
	// TagHeaderRouting lets a request on a route's own host pick a tagged
	// revision with the KnativeTagHeader header (config-features'
	// tag-header-based-routing); an unknown tag falls back to the split.
	TagHeaderRouting bool
}

// KnativeServing installs Knative Serving from its release manifests and
// configures it for the lab. Depend on it with DependsOn to wait until
// Serving is installed and configured.
type KnativeServing struct {
	pulumi.ResourceState

	registered pulumi.ResourceArrayOutput
}

func (k *KnativeServing) whole() pulumi.ResourceArrayOutput { return k.registered }

// NewKnativeServing applies CRDs, core, then the Istio networking layer,
// and patches the three ConfigMaps the lab depends on.
func NewKnativeServing(ctx *pulumi.Context, name string, args *KnativeServingArgs, opts ...pulumi.ResourceOption) (*KnativeServing, error) {
	if args == nil {
		return nil, fmt.Errorf("knative serving %s: args are required", name)
	}
	comp := &KnativeServing{}
	if err := ctx.RegisterComponentResource(typeToken("KnativeServing"), name, comp, opts...); err != nil {
		return nil, err
	}
	crds, err := manifests(ctx, comp, name+"-crds", args.CRDManifests)
	if err != nil {
		return nil, err
	}
	core, err := manifests(ctx, comp, name+"-core", args.CoreManifests, pulumi.DependsOn([]pulumi.Resource{crds}))
	if err != nil {
		return nil, err
	}
	netIstio, err := manifests(ctx, comp, name+"-net-istio", args.NetIstioManifests, pulumi.DependsOn([]pulumi.Resource{core}))
	if err != nil {
		return nil, err
	}
	children := []pulumi.Resource{crds, core, netIstio}
	for _, patch := range knativeSettings(args) {
		p, err := corev1.NewConfigMapPatch(ctx, name+"-"+patch.configMap, &corev1.ConfigMapPatchArgs{
			Metadata: &metav1.ObjectMetaPatchArgs{
				Name:      pulumi.String(patch.configMap),
				Namespace: pulumi.String(KnativeNamespace),
				// The release manifest owns these ConfigMaps; we own our keys.
				Annotations: pulumi.StringMap{"pulumi.com/patchForce": pulumi.String("true")},
			},
			Data: patch.data,
		}, childOpts(comp, pulumi.DependsOn([]pulumi.Resource{core}))...)
		if err != nil {
			return nil, fmt.Errorf("knative %s: %w", patch.configMap, err)
		}
		children = append(children, p)
	}
	comp.registered = wholeOnceRegistered(comp, children...)
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{
		"domain": pulumi.String(args.Domain),
	})
}

func manifests(ctx *pulumi.Context, comp *KnativeServing, name string, files []string, extra ...pulumi.ResourceOption) (*pulumik8s.ConfigGroup, error) {
	g, err := pulumik8s.NewConfigGroup(ctx, name, &pulumik8s.ConfigGroupArgs{
		Files: pulumi.ToStringArray(files),
	}, childOpts(comp, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("knative manifests %s: %w", name, err)
	}
	return g, nil
}

type configMapSettings struct {
	configMap string
	data      pulumi.StringMap
}

// knativeSettings are the lab's settings, by ConfigMap.
func knativeSettings(args *KnativeServingArgs) []configMapSettings {
	return []configMapSettings{
		// A key with an empty value makes it the default domain.
		{"config-domain", pulumi.StringMap{args.Domain: pulumi.String("")}},
		{"config-autoscaler", pulumi.StringMap{"enable-scale-to-zero": pulumi.String(strconv.FormatBool(args.ScaleToZero))}},
		{"config-deployment", pulumi.StringMap{"registries-skipping-tag-resolving": pulumi.String(strings.Join(args.SkipTagResolution, ","))}},
		// Written either way, so turning it off in the stack turns it off.
		{"config-features", pulumi.StringMap{"tag-header-based-routing": pulumi.String(featureFlag(args.TagHeaderRouting))}},
	}
}

// featureFlag spells a boolean the way config-features wants it.
func featureFlag(on bool) string {
	if on {
		return "Enabled"
	}
	return "Disabled"
}
