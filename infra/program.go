package infra

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	k8sclient "k8s.io/client-go/kubernetes"

	"github.com/modelrollouts/modelrollouts/components"
	"github.com/modelrollouts/modelrollouts/internal/gatewayaddress"
	"github.com/modelrollouts/modelrollouts/internal/imagetag"
	"github.com/modelrollouts/modelrollouts/internal/kubeclient"
	"github.com/modelrollouts/modelrollouts/stacks"
)

// Program is the Pulumi program: `pulumi up` and the Automation API run it.
// An invalid config fails here, before any resource is registered.
func Program(ctx *pulumi.Context) error { return run(ctx, "") }

// ProgramIn is Program for an inline Automation API program whose project
// (Pulumi.yaml and the stack files) is in dir: the engine does not tell an
// inline program where its project is, and the process's working
// directory may be another checkout.
func ProgramIn(dir string) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error { return run(ctx, dir) }
}

func run(ctx *pulumi.Context, root string) error {
	cfg, err := stacks.Load(func(name string) (string, bool) {
		return ctx.GetConfig(stacks.Namespace + ":" + name)
	})
	if err != nil {
		return err
	}
	if root == "" {
		root = ctx.RootDirectory()
	}
	if root == "" {
		// Mocks and inline programs are not told where the project is.
		if root, err = stacks.FindProjectDir("."); err != nil {
			return err
		}
	}
	if err := refuseLabPassphrase(cfg, filepath.Join(root, "Pulumi."+ctx.Stack()+".yaml")); err != nil {
		return err
	}
	outputs, err := Deploy(ctx, cfg, root, WithClusterClient(func() (k8sclient.Interface, error) {
		return kubeclient.New(kubeclient.Source{Path: cfg.Cluster.Kubeconfig, Context: cfg.Cluster.Context})
	}))
	if err != nil {
		return err
	}
	for name, value := range outputs {
		ctx.Export(name, value)
	}
	return nil
}

// Option configures Deploy.
type Option func(*options)

type options struct {
	clusterClient clusterClient
	gatewayWaiter gatewayaddress.Waiter
}

// WithClusterClient lets Deploy read from an existing cluster, with
// client-go, where the ingress gateway is reachable. Without it (render,
// tests without a cluster) the ingressUrl output of such a stack stays
// pending.
func WithClusterClient(client func() (k8sclient.Interface, error)) Option {
	return func(o *options) { o.clusterClient = client }
}

// WithGatewayWaiter sets how Deploy waits for the ingress gateway's
// load-balancer address (cluster.ingressWaitSeconds); tests pass one on a
// fake clock. Without it: the real clock, polling every 2 s.
func WithGatewayWaiter(w gatewayaddress.Waiter) Option {
	return func(o *options) { o.gatewayWaiter = w }
}

// Deploy registers everything a valid config asks for and returns the
// stack outputs (see stacks.Outputs). projectDir is where Pulumi.yaml
// lives; the image build context is relative to it.
func Deploy(ctx *pulumi.Context, cfg *stacks.Config, projectDir string, opts ...Option) (pulumi.Map, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	target, err := deployCluster(ctx, cfg)
	if err != nil {
		return nil, err
	}
	k8s := pulumi.Providers(target.provider)

	platform, mesh, err := deployPlatform(ctx, cfg, k8s)
	if err != nil {
		return nil, err
	}
	image, err := modelImage(ctx, cfg, projectDir, target)
	if err != nil {
		return nil, err
	}
	smokeImage, err := smokeClientImage(ctx, cfg, projectDir, target)
	if err != nil {
		return nil, err
	}

	labels := pulumi.StringMap{"app.kubernetes.io/part-of": pulumi.String("modelrollouts")}
	if cfg.Strategy.NeedsSidecars() {
		labels["istio-injection"] = pulumi.String("enabled")
	}
	ns, err := corev1.NewNamespace(ctx, cfg.Namespace, &corev1.NamespaceArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(cfg.Namespace), Labels: labels},
	}, k8s, components.DependsOn(platform...))
	if err != nil {
		return nil, fmt.Errorf("namespace %s: %w", cfg.Namespace, err)
	}
	namespace := ns.Metadata.Name().Elem()
	strategyOpts := []pulumi.ResourceOption{k8s, pulumi.DependsOn([]pulumi.Resource{ns}), components.DependsOn(platform...)}

	ingress := ingressAddress(ctx, cfg, mesh, o.clusterClient, o.gatewayWaiter)
	outputs := pulumi.Map{
		stacks.OutputStrategy:       pulumi.String(cfg.Strategy),
		stacks.OutputNamespace:      namespace,
		stacks.OutputIngressURL:     ingress.URL,
		stacks.OutputIngressPending: ingress.Pending,
		stacks.OutputSmokeImage:     smokeImage,
	}
	if cfg.Cluster.Type == stacks.ClusterKind {
		outputs[stacks.OutputKubeconfig] = target.kubeconfig
	}
	deploy := strategyDeploy{ctx: ctx, cfg: cfg, namespace: namespace, image: image, opts: strategyOpts, outputs: outputs}
	deployErr, err := stacks.ByStrategy[error](cfg.Strategy, deploy)
	if err = errors.Join(err, deployErr); err != nil {
		return nil, err
	}
	return outputs, nil
}

// clusterTarget is where everything is deployed.
type clusterTarget struct {
	provider *kubernetes.Provider
	// kindName and kubeconfig are set for kind clusters only.
	kindName   pulumi.StringOutput
	kubeconfig pulumi.StringOutput
}

func deployCluster(ctx *pulumi.Context, cfg *stacks.Config) (*clusterTarget, error) {
	cl := cfg.Cluster
	if cl.Type == stacks.ClusterKind {
		kind, err := components.NewKindCluster(ctx, cl.Name, &components.KindClusterArgs{
			Name:            cl.Name,
			NodeImage:       cl.NodeImage,
			Workers:         cl.Workers,
			IngressHostPort: cl.IngressHostPort,
			IngressNodePort: cl.IngressNodePort,
			ListenAddress:   cl.ListenAddress,
		})
		if err != nil {
			return nil, err
		}
		return &clusterTarget{provider: kind.Provider, kindName: kind.ClusterName, kubeconfig: kind.Kubeconfig}, nil
	}
	args := &kubernetes.ProviderArgs{}
	if cl.Kubeconfig != "" {
		args.Kubeconfig = pulumi.String(cl.Kubeconfig)
	}
	if cl.Context != "" {
		args.Context = pulumi.String(cl.Context)
	}
	provider, err := kubernetes.NewProvider(ctx, "existing-cluster", args)
	if err != nil {
		return nil, fmt.Errorf("kubernetes provider for the existing cluster: %w", err)
	}
	return &clusterTarget{provider: provider}, nil
}

// deployPlatform installs what the strategy needs and the stack does not
// say is already there. It returns the components workloads must wait
// for, and the mesh when this stack installs it.
func deployPlatform(ctx *pulumi.Context, cfg *stacks.Config, k8s pulumi.ResourceOption) ([]components.Whole, *components.IstioMesh, error) {
	var ready []components.Whole
	var mesh *components.IstioMesh
	istio := cfg.Platform.Istio
	if *istio.Install {
		var err error
		mesh, err = components.NewIstioMesh(ctx, "istio", &components.IstioMeshArgs{
			Version:            istio.Version,
			ChartRepo:          istio.ChartRepo,
			ChartsDir:          istio.ChartsDir,
			GatewayServiceType: istio.GatewayServiceType,
			GatewayNodePort:    cfg.Cluster.IngressNodePort,
		}, k8s)
		if err != nil {
			return nil, nil, err
		}
		ready = append(ready, mesh)
	}
	kn := cfg.Platform.Knative
	if *kn.Install && cfg.Strategy.RunsOnKnative() {
		serving, err := components.NewKnativeServing(ctx, "knative", &components.KnativeServingArgs{
			CRDManifests:      kn.CRDManifests,
			CoreManifests:     kn.CoreManifests,
			NetIstioManifests: kn.NetIstioManifests,
			Domain:            kn.Domain,
			ScaleToZero:       *kn.ScaleToZero,
			SkipTagResolution: kn.SkipTagResolution,
			TagHeaderRouting:  cfg.Canary != nil && cfg.Canary.HeaderRouting,
		}, k8s, components.DependsOn(ready...))
		if err != nil {
			return nil, nil, err
		}
		ready = append(ready, serving)
	}
	return ready, mesh, nil
}

// modelImage is the stack's image reference: built (and loaded into kind,
// or pushed), or taken from config.
func modelImage(ctx *pulumi.Context, cfg *stacks.Config, projectDir string, target *clusterTarget) (pulumi.StringInput, error) {
	img := cfg.Image
	if !*img.Build {
		return pulumi.String(img.Ref), nil
	}
	return buildImage(ctx, "model-echo", cfg, projectDir, target, img.Repository, img.Dockerfile)
}

// smokeClientImage is the image `smoke --from-cluster` runs as a Job:
// built and made available the same way as the model's, or taken from
// config (empty where neither applies: smoke then says so).
func smokeClientImage(ctx *pulumi.Context, cfg *stacks.Config, projectDir string, target *clusterTarget) (pulumi.StringInput, error) {
	img := cfg.Image
	if !*img.Build {
		return pulumi.String(img.SmokeRef), nil
	}
	return buildImage(ctx, "smoke-client", cfg, projectDir, target, img.SmokeRepository, img.SmokeDockerfile)
}

func buildImage(ctx *pulumi.Context, name string, cfg *stacks.Config, projectDir string, target *clusterTarget, repository, dockerfile string) (pulumi.StringInput, error) {
	img := cfg.Image
	context := filepath.Join(projectDir, img.Context)
	dockerfile = filepath.Join(context, dockerfile)
	tag := img.Tag
	if tag == "" {
		var err error
		tag, err = imagetag.FromBuild(context, dockerfile)
		if err != nil {
			return nil, err
		}
	}
	args := &components.ModelImageArgs{
		ImageName:  repository + ":" + tag,
		Context:    context,
		Dockerfile: dockerfile,
	}
	if cfg.Cluster.Type == stacks.ClusterKind {
		args.KindClusterName = target.kindName
	}
	if img.Push {
		args.Registry = registryArgs(img.Registry)
	}
	built, err := components.NewModelImage(ctx, name, args)
	if err != nil {
		return nil, err
	}
	return built.Ref, nil
}
