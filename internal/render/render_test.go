package render

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/modelrollouts/modelrollouts/internal/pulumik8s"
	"github.com/modelrollouts/modelrollouts/stacks"
)

const projectDir = "../.."

// stackFile writes a valid stack file and returns its path.
func stackFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "Pulumi.test.yaml")
	data := "config:\n  modelrollouts:strategy: canary\n  modelrollouts:canary:\n    versions:\n      - {name: v1, target: a, percent: 100}\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// program registers one of each kind of thing a render prints or leaves
// out: a provider with a secret kubeconfig, a typed Kubernetes object
// with a secret field, a Helm release, and a Docker build under project.
func program(project string) Program {
	return func(ctx *pulumi.Context, cfg *stacks.Config) error {
		p, err := kubernetes.NewProvider(ctx, "cluster", &kubernetes.ProviderArgs{
			Kubeconfig: pulumi.ToSecret(pulumi.String("apiVersion: v1\nkind: Config\n")).(pulumi.StringOutput),
		})
		if err != nil {
			return err
		}
		_, err = corev1.NewConfigMap(ctx, "settings", &corev1.ConfigMapArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String("settings"), Namespace: pulumi.String(cfg.Namespace)},
			Data: pulumi.StringMap{
				"strategy": pulumi.String(string(cfg.Strategy)),
				"token":    pulumi.ToSecret(pulumi.String("hunter2")).(pulumi.StringOutput),
			},
		}, pulumi.Provider(p))
		if err != nil {
			return err
		}
		if _, err := pulumik8s.NewRelease(ctx, "istio-base", &pulumik8s.ReleaseArgs{Chart: pulumi.String("base")}, pulumi.Provider(p)); err != nil {
			return err
		}
		_, err = docker.NewImage(ctx, "model-echo", &docker.ImageArgs{
			ImageName: pulumi.String("kind.local/model-echo:test"),
			Build: &docker.DockerBuildArgs{
				Context:    pulumi.String(project),
				Dockerfile: pulumi.String(filepath.Join(project, "model-echo", "Dockerfile")),
			},
			SkipPush: pulumi.Bool(true),
		})
		return err
	}
}

func render(t *testing.T) ([]byte, []map[string]any) {
	t.Helper()
	dir, err := filepath.Abs(projectDir)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := Stack(stackFile(t), program(dir))
	if err != nil {
		t.Fatal(err)
	}
	out, err := YAML(rec.Resources(), dir)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := Documents(out)
	if err != nil {
		t.Fatal(err)
	}
	return out, docs
}

func find(docs []map[string]any, kind, name string) map[string]any {
	for _, d := range docs {
		meta, _ := d["metadata"].(map[string]any)
		if d["kind"] == kind && meta["name"] == name {
			return d
		}
	}
	return nil
}

func TestRenderPrintsKubernetesObjectsAsTheProviderSendsThem(t *testing.T) {
	_, docs := render(t)
	for _, d := range docs {
		for _, field := range []string{"apiVersion", "kind", "metadata"} {
			if _, ok := d[field]; !ok {
				t.Errorf("document without %s: %v", field, d)
			}
		}
	}
	cm := find(docs, "ConfigMap", "settings")
	if cm == nil {
		t.Fatalf("no ConfigMap settings in %v", docs)
	}
	data := cm["data"].(map[string]any)
	// The config reached the program: defaults applied, values read.
	if data["strategy"] != "canary" || cm["metadata"].(map[string]any)["namespace"] != "models" {
		t.Errorf("configmap %v", cm)
	}
	if data["token"] != stacks.SecretPlaceholder {
		t.Errorf("a secret printed as %v, want %s", data["token"], stacks.SecretPlaceholder)
	}
	// Helm releases and non-Kubernetes resources appear as themselves.
	if find(docs, "PulumiResource", "istio-base") == nil {
		t.Error("no PulumiResource istio-base")
	}
	// Providers hold a secret kubeconfig and are not printed.
	for _, d := range docs {
		spec, _ := d["spec"].(map[string]any)
		if typ, _ := spec["type"].(string); d["kind"] == "PulumiResource" && strings.HasPrefix(typ, "pulumi:providers:") {
			t.Errorf("a provider was rendered: %v", d)
		}
	}
}

func TestRenderPrintsPathsRelativeToTheProject(t *testing.T) {
	_, docs := render(t)
	image := find(docs, "PulumiResource", "model-echo")
	build := image["spec"].(map[string]any)["inputs"].(map[string]any)["build"].(map[string]any)
	if build["context"] != "." || build["dockerfile"] != "model-echo/Dockerfile" {
		t.Errorf("build context %v, dockerfile %v: want them relative to the project", build["context"], build["dockerfile"])
	}
}

func TestRenderIsStable(t *testing.T) {
	a, _ := render(t)
	b, _ := render(t)
	if !bytes.Equal(a, b) {
		t.Error("two renders of one stack differ: a reviewer's diff would be noise")
	}
}

func TestRenderRefusesAnInvalidStack(t *testing.T) {
	dir := t.TempDir()
	bad := []byte("config:\n  modelrollouts:strategy: canary\n  modelrollouts:canary:\n    versions:\n      - name: v1\n        target: a\n        percent: 120\n")
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.bad.yaml"), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	ran := false
	rec, err := Stack(filepath.Join(dir, "Pulumi.bad.yaml"), func(*pulumi.Context, *stacks.Config) error { ran = true; return nil })
	if err == nil {
		t.Fatal("an invalid stack rendered")
	}
	if !strings.Contains(err.Error(), "modelrollouts:canary.versions[0].percent") {
		t.Errorf("error %q does not name the key", err)
	}
	if rec != nil || ran {
		t.Error("an invalid stack ran the program")
	}
}
