package components

import (
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/modelrollouts/modelrollouts/stacks"
)

const knativeServingAPI = "serving.knative.dev/v1"

// CanaryVersion is one model version and its share of the traffic.
type CanaryVersion struct {
	ModelVersion
	// Percent of user traffic, 0 to 100; all versions sum to 100.
	Percent int
	// Tag gives the version its own host: tag-service.namespace.domain.
	Tag string
	// MinScale, MaxScale and InitialScale become the revision's autoscaling
	// annotations; nil leaves Knative's defaults (scale to zero).
	MinScale, MaxScale, InitialScale *int
}

// CanaryModelArgs configures a Knative traffic split across versions.
type CanaryModelArgs struct {
	Namespace pulumi.StringInput
	// Service names the Route users call.
	Service string
	// Domain is Knative's route domain, for the hosts this reports.
	Domain   string
	Versions []CanaryVersion
	// WaitForReady waits for every Configuration and the Route to be Ready.
	WaitForReady bool
}

// CanaryModel is one Knative Configuration per version and one Route that
// splits traffic across their latest revisions by percent.
//
// A Knative Service holds one template at a time, so it cannot declare two
// live versions from an empty cluster; a Configuration per version can,
// and the Route carries the same traffic block a Service would. Changing a
// percent changes only the Route.
type CanaryModel struct {
	pulumi.ResourceState

	// Host is the Host header of user traffic.
	Host pulumi.StringOutput
	// VersionHosts maps a tagged version's name to its own host.
	VersionHosts pulumi.StringMapOutput
}

// trafficTarget is one entry of a Knative Route's spec.traffic.
type trafficTarget struct {
	ConfigurationName string `json:"configurationName"`
	LatestRevision    bool   `json:"latestRevision"`
	Percent           int    `json:"percent"`
	Tag               string `json:"tag,omitempty"`
}

// NewCanaryModel registers the Configurations and the Route.
func NewCanaryModel(ctx *pulumi.Context, name string, args *CanaryModelArgs, opts ...pulumi.ResourceOption) (*CanaryModel, error) {
	if args == nil {
		return nil, fmt.Errorf("canary model %s: args are required", name)
	}
	comp := &CanaryModel{}
	if err := ctx.RegisterComponentResource(typeToken("CanaryModel"), name, comp, opts...); err != nil {
		return nil, err
	}
	var configurations []pulumi.Resource
	var traffic []trafficTarget
	versionHosts := pulumi.StringMap{}
	for _, v := range args.Versions {
		configName := args.Service + "-" + v.Name
		c, err := apiextensions.NewCustomResource(ctx, configName, &apiextensions.CustomResourceArgs{
			ApiVersion: pulumi.String(knativeServingAPI),
			Kind:       pulumi.String("Configuration"),
			Metadata: &metav1.ObjectMetaArgs{
				Name:        pulumi.String(configName),
				Namespace:   args.Namespace,
				Labels:      versionLabels(args.Service, v.Name),
				Annotations: awaitAnnotations(args.WaitForReady),
			},
			OtherFields: kubernetes.UntypedArgs{"spec": configurationSpec(args.Service, v)},
		}, childOpts(comp)...)
		if err != nil {
			return nil, fmt.Errorf("knative configuration %s: %w", configName, err)
		}
		configurations = append(configurations, c)
		traffic = append(traffic, trafficTarget{ConfigurationName: configName, LatestRevision: true, Percent: v.Percent, Tag: v.Tag})
		if v.Tag != "" {
			versionHosts[v.Name] = args.Namespace.ToStringOutput().ApplyT(func(ns string) string {
				return stacks.CanaryTagHost(v.Tag, args.Service, ns, args.Domain)
			}).(pulumi.StringOutput)
		}
	}
	route, err := apiextensions.NewCustomResource(ctx, args.Service, &apiextensions.CustomResourceArgs{
		ApiVersion: pulumi.String(knativeServingAPI),
		Kind:       pulumi.String("Route"),
		Metadata: &metav1.ObjectMetaArgs{
			Name:        pulumi.String(args.Service),
			Namespace:   args.Namespace,
			Labels:      pulumi.StringMap{"app": pulumi.String(args.Service)},
			Annotations: awaitAnnotations(args.WaitForReady),
		},
		OtherFields: kubernetes.UntypedArgs{"spec": map[string]any{"traffic": Plain[any](traffic)}},
	}, childOpts(comp, pulumi.DependsOn(configurations))...)
	if err != nil {
		return nil, fmt.Errorf("knative route %s: %w", args.Service, err)
	}
	// Hosts wait on the Route: a smoke test reading them finds it applied.
	comp.Host = pulumi.All(route.ID(), args.Namespace).ApplyT(func(v []any) string {
		return fmt.Sprintf("%s.%s.%s", args.Service, v[1], args.Domain)
	}).(pulumi.StringOutput)
	comp.VersionHosts = pulumi.All(route.ID(), versionHosts.ToStringMapOutput()).ApplyT(func(v []any) map[string]string {
		return v[1].(map[string]string)
	}).(pulumi.StringMapOutput)
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{
		"host":         comp.Host,
		"versionHosts": comp.VersionHosts,
	})
}

// configurationSpec is the revision template of one version.
func configurationSpec(service string, v CanaryVersion) pulumi.Map {
	annotations := pulumi.StringMap{}
	for key, n := range map[string]*int{
		"autoscaling.knative.dev/min-scale":     v.MinScale,
		"autoscaling.knative.dev/max-scale":     v.MaxScale,
		"autoscaling.knative.dev/initial-scale": v.InitialScale,
	} {
		if n != nil {
			annotations[key] = pulumi.String(strconv.Itoa(*n))
		}
	}
	// Knative routes to the one declared port and probes it itself.
	port := corev1.ContainerPortArgs{Name: pulumi.String("http1"), ContainerPort: pulumi.Int(ModelPort)}
	containers := versionContainers(service, v.ModelVersion, port, nil)
	return pulumi.Map{
		"template": pulumi.Map{
			"metadata": pulumi.Map{
				"labels":      versionLabels(service, v.Name),
				"annotations": annotations,
			},
			"spec": pulumi.Map{
				"containers": containers,
			},
		},
	}
}

func versionLabels(app, version string) pulumi.StringMap {
	return pulumi.StringMap{"app": pulumi.String(app), VersionLabel: pulumi.String(version)}
}

// awaitAnnotations make the provider wait for Knative's Ready condition,
// or, where no Knative controller runs, not wait at all.
func awaitAnnotations(waitForReady bool) pulumi.StringMap {
	if waitForReady {
		return pulumi.StringMap{
			"pulumi.com/waitFor":        pulumi.String("condition=Ready"),
			"pulumi.com/timeoutSeconds": pulumi.String("600"),
		}
	}
	return pulumi.StringMap{"pulumi.com/skipAwait": pulumi.String("true")}
}
