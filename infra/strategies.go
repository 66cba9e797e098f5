package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/modelrollouts/modelrollouts/components"
	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
	"github.com/modelrollouts/modelrollouts/stacks"
)

// strategyDeploy registers the strategy's workloads and routing into
// namespace and adds the strategy's outputs.
type strategyDeploy struct {
	ctx       *pulumi.Context
	cfg       *stacks.Config
	namespace pulumi.StringOutput
	image     pulumi.StringInput
	opts      []pulumi.ResourceOption
	outputs   pulumi.Map
}

func (d strategyDeploy) Canary() error {
	return deployCanary(d.ctx, d.cfg, d.namespace, d.image, d.opts, d.outputs)
}

func (d strategyDeploy) Shadow() error {
	return deployShadow(d.ctx, d.cfg, d.namespace, d.image, d.opts, d.outputs)
}

func deployCanary(ctx *pulumi.Context, cfg *stacks.Config, namespace pulumi.StringOutput, image pulumi.StringInput, opts []pulumi.ResourceOption, outputs pulumi.Map) error {
	cn := cfg.Canary
	args := &components.CanaryModelArgs{
		Namespace:    namespace,
		Service:      cn.Service,
		Domain:       cfg.Platform.Knative.Domain,
		WaitForReady: *cn.WaitForReady,
	}
	split := map[string]int{}
	for _, v := range cn.Versions {
		args.Versions = append(args.Versions, components.CanaryVersion{
			ModelVersion: modelVersion(v.ModelSettings, image),
			Percent:      *v.Percent,
			Tag:          v.Tag,
			MinScale:     v.MinScale,
			MaxScale:     v.MaxScale,
			InitialScale: v.InitialScale,
		})
		split[v.Name] = *v.Percent
	}
	canary, err := components.NewCanaryModel(ctx, cn.Service, args, opts...)
	if err != nil {
		return err
	}
	outputs[stacks.OutputHost] = canary.Host
	outputs[stacks.OutputSplit] = pulumi.ToIntMap(split)
	outputs[stacks.OutputVersions] = canary.VersionHosts.ApplyT(func(hosts map[string]string) map[string]any {
		out := map[string]any{}
		for _, v := range cn.Versions {
			vo := stacks.VersionOutput{Target: v.Target, Tag: v.Tag, Percent: v.Percent,
				PodSelector: podSelector(cn.Service, v.Name)}
			agentContract(&vo, &v.ModelSettings)
			if cn.HeaderRouting && v.Tag != "" {
				vo.RouteHeader = &stacks.HeaderMatch{Name: components.KnativeTagHeader, Value: v.Tag}
			}
			out[v.Name] = versionOutput(vo, hosts[v.Name])
		}
		return out
	})
	// Inside the cluster a Route answers on its cluster-local names, through
	// Knative's local gateway; a tag's name is tag-service.
	outputs[stacks.OutputInCluster] = namespace.ApplyT(func(ns string) map[string]any {
		local := func(name string) string { return fmt.Sprintf("%s.%s.svc.cluster.local", name, ns) }
		hosts := map[string]string{}
		for _, v := range cn.Versions {
			if v.Tag != "" {
				hosts[v.Name] = local(v.Tag + "-" + cn.Service)
			}
		}
		return inClusterOutput(stacks.InClusterOutputs{
			URL: "http://" + local(cn.Service), Host: local(cn.Service), VersionHosts: hosts,
		})
	})
	if cn.Rollout != nil {
		outputs[stacks.OutputRollout] = pulumi.ToMap(components.Plain[map[string]any](cn.Rollout.Output(cn.Versions)))
	}
	return nil
}

func deployShadow(ctx *pulumi.Context, cfg *stacks.Config, namespace pulumi.StringOutput, image pulumi.StringInput, opts []pulumi.ResourceOption, outputs pulumi.Map) error {
	sh := cfg.Shadow
	args := &components.ShadowModelArgs{
		Namespace:     namespace,
		Service:       sh.Service,
		Host:          sh.Host,
		MirrorPercent: *sh.MirrorPercent,
		ViaGateway:    sh.ViaGateway(),
		InMesh:        sh.InMesh(),
		HeaderRouting: sh.HeaderRouting,
	}
	for _, v := range sh.Versions {
		version := components.ShadowVersion{ModelVersion: modelVersion(v.ModelSettings, image), Replicas: *v.Replicas}
		if v.Role == stacks.RolePrimary {
			args.Primary = version
		} else {
			args.Shadow = version
		}
	}
	shadow, err := components.NewShadowModel(ctx, sh.Service, args, opts...)
	if err != nil {
		return err
	}
	outputs[stacks.OutputHost] = shadow.Host
	outputs[stacks.OutputPrimary] = pulumi.String(args.Primary.Name)
	outputs[stacks.OutputShadow] = pulumi.String(args.Shadow.Name)
	outputs[stacks.OutputMirrorPercent] = pulumi.Float64(*sh.MirrorPercent)
	outputs[stacks.OutputBindTo] = pulumi.String(sh.BindTo)
	outputs[stacks.OutputVersions] = shadow.VersionHosts.ApplyT(func(hosts map[string]string) map[string]any {
		out := map[string]any{}
		for _, v := range sh.Versions {
			// Replicas and the pod selector let a smoke test read every
			// pod of a version, through the ingress or the Kubernetes API.
			vo := stacks.VersionOutput{Target: v.Target, Role: v.Role, Replicas: v.Replicas,
				PodSelector: podSelector(sh.Service, v.Name)}
			agentContract(&vo, &v.ModelSettings)
			if sh.HeaderRouting {
				vo.RouteHeader = &stacks.HeaderMatch{Name: modelapi.HeaderRouteVersion, Value: v.Name}
			}
			out[v.Name] = versionOutput(vo, hosts[v.Name])
		}
		return out
	})
	if sh.InMesh() {
		// A caller with a sidecar calls the Service; the version hosts pick
		// a version by Host header there too.
		outputs[stacks.OutputInCluster] = pulumi.All(namespace, shadow.VersionHosts).ApplyT(func(v []any) map[string]any {
			host := fmt.Sprintf("%s.%s.svc.cluster.local", sh.Service, v[0])
			return inClusterOutput(stacks.InClusterOutputs{
				URL: "http://" + host, Host: host, VersionHosts: v[1].(map[string]string), Sidecar: true,
			})
		})
	}
	return nil
}

// inClusterOutput renders the in-cluster addresses through their JSON
// names, as versionOutput does.
func inClusterOutput(o stacks.InClusterOutputs) map[string]any {
	return components.Plain[map[string]any](o)
}

// versionOutput fills a version's host and URL and renders it as the plain
// map a stack output holds, through stacks.VersionOutput's own JSON names,
// which smoke tests decode.
func versionOutput(v stacks.VersionOutput, host string) map[string]any {
	if host != "" {
		v.Host, v.URL = host, "http://"+host
	}
	return components.Plain[map[string]any](v)
}

// podSelector selects one version's pods by the labels the components
// put on them.
func podSelector(service, version string) string {
	return fmt.Sprintf("app=%s,%s=%s", service, components.VersionLabel, version)
}

// modelVersion maps a configured version onto the components' type; a
// version's own image wins over the stack's.
func modelVersion(m stacks.ModelSettings, image pulumi.StringInput) components.ModelVersion {
	v := components.ModelVersion{
		Name: m.Name, Target: m.Target, Image: image,
		Bias: m.Bias, LatencyMs: m.LatencyMs, ErrorRate: m.ErrorRate, Env: m.Env,
		PayloadLog: m.PayloadLog != nil && *m.PayloadLog, LoggerURL: m.LoggerURL,
		// The agent runs from the stack's image, which carries it.
		ModelServer: components.ModelServer{
			OwnServer: !m.RunsModelEcho(), Port: m.ModelPort(), ReadinessPath: m.ModelReadinessPath(),
			Agent: m.AgentEnabled(), AgentImage: image,
		},
	}
	if m.Image != "" {
		v.Image = pulumi.String(m.Image)
	}
	return v
}

func registryArgs(r *stacks.RegistryConfig) *docker.RegistryArgs {
	args := &docker.RegistryArgs{Server: pulumi.String(r.Server)}
	if r.Username != "" {
		args.Username = pulumi.String(r.Username)
	}
	if r.Password != "" {
		args.Password = pulumi.ToSecret(pulumi.String(r.Password)).(pulumi.StringOutput)
	}
	return args
}

// agentContract exports, for a version whose own model runs behind
// model-agent, the readiness path smoke probes instead of GET /.
func agentContract(vo *stacks.VersionOutput, m *stacks.ModelSettings) {
	if m.AgentEnabled() && !m.RunsModelEcho() {
		vo.Agent, vo.ReadinessPath = true, m.ModelReadinessPath()
	}
}
