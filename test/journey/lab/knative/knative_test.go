package knative

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// A multi-container revision (an own model with model-agent beside it, as
// components/agent.go writes it): Knative gives PORT and the default probe
// to the container that declares the port only; the model keeps its own
// PORT 8081 and no probe, or it would bind the agent's 8080.
func TestOnlyTheServingContainerOfARevisionGetsPortAndTheDefaultProbe(t *testing.T) {
	r := &Reconciler{opts: Options{Client: fake.NewClientset()}}
	rev := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "serving.knative.dev/v1", "kind": "Revision",
		"metadata": map[string]any{"name": "model-v1-00001", "namespace": "models", "labels": map[string]any{LabelConfiguration: "model-v1"}},
	}}
	template := map[string]any{"spec": map[string]any{"containers": []any{
		map[string]any{"name": modelapi.ContainerName, "image": "dev.local/sklearn-iris:v1",
			"env": []any{map[string]any{"name": modelapi.EnvPort, "value": "8081"}}},
		map[string]any{"name": modelapi.AgentContainerName, "image": "kind.local/model-echo:abc", "command": []any{"/model-agent"},
			"ports":          []any{map[string]any{"containerPort": int64(8080)}},
			"readinessProbe": map[string]any{"httpGet": map[string]any{"path": modelapi.PathReady}}},
	}}}
	d, err := r.ensureDeployment(context.Background(), rev, template)
	if err != nil {
		t.Fatal(err)
	}
	env := func(c corev1.Container) map[string][]string {
		out := map[string][]string{}
		for _, e := range c.Env {
			out[e.Name] = append(out[e.Name], e.Value)
		}
		return out
	}
	model, agent := d.Spec.Template.Spec.Containers[0], d.Spec.Template.Spec.Containers[1]
	if got := env(model)[modelapi.EnvPort]; len(got) != 1 || got[0] != "8081" || model.ReadinessProbe != nil {
		t.Errorf("the model: PORT %v, probe %+v; want its own 8081 and no probe", got, model.ReadinessProbe)
	}
	if got := env(agent)[modelapi.EnvPort]; len(got) != 1 || got[0] != "8080" || agent.ReadinessProbe.HTTPGet.Port.IntValue() != 8080 {
		t.Errorf("the agent: PORT %v, probe %+v; want 8080 for both", got, agent.ReadinessProbe)
	}
	for _, c := range []corev1.Container{model, agent} {
		if got := env(c)["K_REVISION"]; len(got) != 1 || got[0] != "model-v1-00001" {
			t.Errorf("%s: K_REVISION %v", c.Name, got)
		}
	}
	// The queue-proxy's drain, stood in by a preStop sleep on the
	// container the gateway reaches.
	if h := agent.Lifecycle; h == nil || h.PreStop == nil || h.PreStop.Sleep == nil || h.PreStop.Sleep.Seconds != drainSeconds {
		t.Errorf("the agent's lifecycle %+v: want a preStop sleep of %d s (the drain)", agent.Lifecycle, drainSeconds)
	}
	if model.Lifecycle != nil {
		t.Errorf("the model's lifecycle %+v: want none (the gateway does not reach it)", model.Lifecycle)
	}
}
