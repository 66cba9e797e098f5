package components_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	kindv1alpha4 "sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"

	"github.com/modelrollouts/modelrollouts/components"
	"github.com/modelrollouts/modelrollouts/internal/mocks"
)

var kindArgs = &components.KindClusterArgs{
	Name: "lab", NodeImage: "kindest/node:v1.37.0", Workers: 2,
	IngressHostPort: 8080, IngressNodePort: 31080, ListenAddress: "127.0.0.1",
}

func TestKindConfigMapsTheHostPortToTheIngressNodePort(t *testing.T) {
	out, err := components.KindConfig(kindArgs)
	if err != nil {
		t.Fatal(err)
	}
	var cfg kindv1alpha4.Cluster
	if err := yaml.UnmarshalStrict([]byte(out), &cfg); err != nil {
		t.Fatalf("kind would not read its config: %v\n%s", err, out)
	}
	if cfg.APIVersion != "kind.x-k8s.io/v1alpha4" || cfg.Kind != "Cluster" {
		t.Errorf("type meta %s/%s", cfg.APIVersion, cfg.Kind)
	}
	if len(cfg.Nodes) != 3 {
		t.Fatalf("want a control plane and 2 workers, got %d nodes", len(cfg.Nodes))
	}
	cp := cfg.Nodes[0]
	if cp.Role != kindv1alpha4.ControlPlaneRole || len(cp.ExtraPortMappings) != 1 {
		t.Fatalf("control plane: %+v", cp)
	}
	m := cp.ExtraPortMappings[0]
	if m.ContainerPort != 31080 || m.HostPort != 8080 || m.ListenAddress != "127.0.0.1" {
		t.Errorf("port mapping %+v, want 127.0.0.1:8080 -> 31080", m)
	}
	for _, n := range cfg.Nodes {
		if n.Image != "kindest/node:v1.37.0" {
			t.Errorf("node %s image %q, want the pinned image", n.Role, n.Image)
		}
	}
	if cfg.Nodes[1].Role != kindv1alpha4.WorkerRole {
		t.Errorf("second node is %s, want worker", cfg.Nodes[1].Role)
	}
}

func TestKindClusterCreatesDeletesAndProvidesKubernetes(t *testing.T) {
	var kubeconfig, name string
	rec, err := mocks.Run(func(ctx *pulumi.Context) error {
		kind, err := components.NewKindCluster(ctx, "lab", kindArgs)
		if err != nil {
			return err
		}
		kind.Kubeconfig.ApplyT(func(s string) string { kubeconfig = s; return s })
		kind.ClusterName.ApplyT(func(s string) string { name = s; return s })
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cmd := mustFind(t, rec, "command:local:Command", "lab")
	if create := str(t, cmd.Inputs, "create"); !strings.Contains(create, "kind create cluster") || !strings.Contains(create, "--config -") {
		t.Errorf("create = %q", create)
	}
	if del := str(t, cmd.Inputs, "delete"); !strings.Contains(del, "kind delete cluster") {
		t.Errorf("delete = %q", del)
	}
	if env := str(t, cmd.Inputs, "environment", "KIND_CLUSTER_NAME"); env != "lab" {
		t.Errorf("cluster name env %q", env)
	}
	want, _ := components.KindConfig(kindArgs)
	if stdin := str(t, cmd.Inputs, "stdin"); stdin != want {
		t.Errorf("stdin is not the kind config:\n%s", stdin)
	}
	// kind cannot change a cluster: any change replaces it, and the old one
	// goes first because the new one takes its name and host port.
	if !slices.Contains(cmd.ReplaceOnChanges, "*") || !cmd.DeleteBeforeReplace {
		t.Errorf("replaceOnChanges %v, deleteBeforeReplace %v: want every change to replace, deleting first", cmd.ReplaceOnChanges, cmd.DeleteBeforeReplace)
	}
	if !reflect.DeepEqual(cmd.AdditionalSecretOutputs, []string{"stdout"}) {
		t.Errorf("additionalSecretOutputs %v: the kubeconfig on stdout must stay secret", cmd.AdditionalSecretOutputs)
	}
	provider := mustFind(t, rec, "pulumi:providers:kubernetes", "lab")
	if v := get(t, provider.Inputs, "kubeconfig"); !v.ContainsSecrets() {
		t.Errorf("the provider's kubeconfig is not secret: %v", v)
	}
	if !strings.Contains(kubeconfig, "kind: Config") || name != "lab" {
		t.Errorf("outputs: name %q, kubeconfig %q", name, kubeconfig)
	}
	comp := mustFind(t, rec, "modelrollouts:index:KindCluster", "lab")
	for _, child := range []mocks.Resource{cmd, provider} {
		if child.Parent != comp.URN {
			t.Errorf("%s %s is not a child of the KindCluster", child.Type, child.Name)
		}
	}
}

func TestKindClusterNameIsPlainWhileTheKubeconfigIsSecret(t *testing.T) {
	var nameSecret, kubeconfigSecret bool
	_, err := mocks.Run(func(ctx *pulumi.Context) error {
		kind, err := components.NewKindCluster(ctx, "lab", kindArgs)
		if err != nil {
			return err
		}
		// Both wait for the cluster; only the kubeconfig holds credentials.
		nameSecret = pulumi.IsSecret(kind.ClusterName)
		kubeconfigSecret = pulumi.IsSecret(kind.Kubeconfig)
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if nameSecret {
		t.Error("the cluster name is secret: previews and outputs would mask it")
	}
	if !kubeconfigSecret {
		t.Error("the kubeconfig is not secret")
	}
}
