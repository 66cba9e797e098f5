package components

import (
	"fmt"

	"github.com/pulumi/pulumi-command/sdk/go/command/local"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	kindv1alpha4 "sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"
)

// KindClusterArgs configures a local kind cluster.
type KindClusterArgs struct {
	// Name of the kind cluster (and of its Docker containers' prefix).
	Name string
	// NodeImage pins the node image and so the Kubernetes version.
	NodeImage string
	// Workers is the number of worker nodes besides the control plane.
	Workers int
	// IngressHostPort on ListenAddress reaches IngressNodePort in the cluster,
	// where the mesh's ingress gateway listens.
	IngressHostPort int
	IngressNodePort int
	ListenAddress   string
}

// KindCluster is a kind cluster created and deleted with the kind CLI, and
// a Kubernetes provider for everything deployed into it.
type KindCluster struct {
	pulumi.ResourceState

	// ClusterName is the kind cluster's name, known once it exists.
	ClusterName pulumi.StringOutput
	// Kubeconfig reaches the cluster from the host (secret).
	Kubeconfig pulumi.StringOutput
	// Provider deploys into the cluster.
	Provider *kubernetes.Provider
}

// NewKindCluster creates a kind cluster. Any change to its args replaces
// it: kind cannot change a cluster in place.
func NewKindCluster(ctx *pulumi.Context, name string, args *KindClusterArgs, opts ...pulumi.ResourceOption) (*KindCluster, error) {
	if args == nil {
		return nil, fmt.Errorf("kind cluster %s: args are required", name)
	}
	comp := &KindCluster{}
	if err := ctx.RegisterComponentResource(typeToken("KindCluster"), name, comp, opts...); err != nil {
		return nil, err
	}
	config, err := kindConfig(args)
	if err != nil {
		return nil, err
	}
	cluster, err := local.NewCommand(ctx, name, &local.CommandArgs{
		// kind prints progress on stderr; stdout carries only the kubeconfig.
		Create: pulumi.String(`kind create cluster --name "$KIND_CLUSTER_NAME" --config - --wait 180s 1>&2 && kind get kubeconfig --name "$KIND_CLUSTER_NAME"`),
		Delete: pulumi.String(`kind delete cluster --name "$KIND_CLUSTER_NAME"`),
		Environment: pulumi.StringMap{
			"KIND_CLUSTER_NAME": pulumi.String(args.Name),
		},
		Stdin:   pulumi.String(config),
		Logging: local.LoggingStderr,
	}, childOpts(comp,
		pulumi.ReplaceOnChanges([]string{"*"}),
		// The new cluster takes the old one's name and host port.
		pulumi.DeleteBeforeReplace(true),
		pulumi.AdditionalSecretOutputs([]string{"stdout"}),
	)...)
	if err != nil {
		return nil, fmt.Errorf("kind cluster %s: %w", args.Name, err)
	}
	// The name waits for the cluster through its ID: derived from stdout,
	// it would inherit the kubeconfig's secrecy and be masked in previews.
	comp.ClusterName = cluster.ID().ApplyT(func(pulumi.ID) string { return args.Name }).(pulumi.StringOutput)
	comp.Kubeconfig = pulumi.ToSecret(cluster.Stdout).(pulumi.StringOutput)

	comp.Provider, err = kubernetes.NewProvider(ctx, name, &kubernetes.ProviderArgs{
		Kubeconfig: comp.Kubeconfig,
	}, childOpts(comp)...)
	if err != nil {
		return nil, fmt.Errorf("kubernetes provider for kind cluster %s: %w", args.Name, err)
	}
	return comp, ctx.RegisterResourceOutputs(comp, pulumi.Map{
		"clusterName": comp.ClusterName,
		"kubeconfig":  comp.Kubeconfig,
	})
}

// kindConfig renders kind's own typed cluster config: the node image,
// the workers, and the host port that reaches the ingress NodePort.
func kindConfig(args *KindClusterArgs) (string, error) {
	controlPlane := kindv1alpha4.Node{
		Role:  kindv1alpha4.ControlPlaneRole,
		Image: args.NodeImage,
		ExtraPortMappings: []kindv1alpha4.PortMapping{{
			ContainerPort: int32(args.IngressNodePort),
			HostPort:      int32(args.IngressHostPort),
			ListenAddress: args.ListenAddress,
			Protocol:      kindv1alpha4.PortMappingProtocolTCP,
		}},
	}
	cfg := kindv1alpha4.Cluster{
		TypeMeta: kindv1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
		Name:     args.Name,
		Nodes:    []kindv1alpha4.Node{controlPlane},
	}
	for i := 0; i < args.Workers; i++ {
		cfg.Nodes = append(cfg.Nodes, kindv1alpha4.Node{Role: kindv1alpha4.WorkerRole, Image: args.NodeImage})
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return "", fmt.Errorf("render kind config: %w", err)
	}
	return string(out), nil
}
