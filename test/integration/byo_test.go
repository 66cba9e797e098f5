//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
	"github.com/modelrollouts/modelrollouts/stacks"
	"github.com/modelrollouts/modelrollouts/test/integration/harness"
)

// TestTheByoStackFileDeploysTwoOwnModelsBehindTheAgent deploys the shadow
// block of the committed Pulumi.byo.yaml, as written, on the kwok cluster:
// each version's pod runs the user's image on its own port with
// model-agent owning the serving port in front of it, probed on the
// model's readiness path, payload log on; the outputs say so, so smoke and
// shadow-report know the agent fronts them.
func TestTheByoStackFileDeploysTwoOwnModelsBehindTheAgent(t *testing.T) {
	requireTier(t)
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "Pulumi.byo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	values, err := stacks.ParseStackFile(data)
	if err != nil {
		t.Fatalf("Pulumi.byo.yaml: %v", err)
	}
	var shadow map[string]any
	if err := json.Unmarshal([]byte(values["shadow"]), &shadow); err != nil {
		t.Fatalf("Pulumi.byo.yaml's shadow block: %v", err)
	}
	if values["strategy"] != "shadow" {
		t.Fatalf("Pulumi.byo.yaml's strategy is %q; this test deploys its shadow block", values["strategy"])
	}
	// Only the cluster is this tier's (kwok, existing); the versions are the file's.
	st := newStack(t, "it-byo", config("shadow", map[string]any{"namespace": "it-byo", "shadow": shadow}))
	_, out := st.up("byo: up from the committed stack file")

	want := map[string]struct{ image, readiness string }{}
	for _, raw := range shadow["versions"].([]any) {
		v := raw.(map[string]any)
		want[v["name"].(string)] = struct{ image, readiness string }{v["image"].(string), v["readinessPath"].(string)}
	}
	if len(want) != 2 {
		t.Fatalf("Pulumi.byo.yaml names %d versions, want 2", len(want))
	}
	for name, w := range want {
		o, ok := out.Versions[name]
		if !ok || !o.Agent || o.ReadinessPath != w.readiness || o.ProbePath() != w.readiness {
			t.Errorf("output of version %s: %+v; want the agent in front, probed on %s", name, o, w.readiness)
		}
		dep := kubectlJSON(t, "-n", "it-byo", "get", "deployment", "model-"+name)
		if !conditionTrue(dep, "Available") {
			t.Errorf("deployment model-%s is not Available", name)
		}
		containers, _ := field(dep, "spec", "template", "spec", "containers").([]any)
		var model, agent map[string]any
		for _, c := range containers {
			c := c.(map[string]any)
			if c["name"] == modelapi.AgentContainerName {
				agent = c
			} else if c["image"] == w.image {
				model = c
			}
		}
		if model == nil || agent == nil || len(containers) != 2 {
			t.Fatalf("deployment model-%s runs %v; want the image %s and %s beside it", name, containers, w.image, modelapi.AgentContainerName)
		}
		env := func(c map[string]any) map[string]string {
			out := map[string]string{}
			list, _ := c["env"].([]any)
			for _, e := range list {
				e := e.(map[string]any)
				s, _ := e["value"].(string)
				out[e["name"].(string)] = s
			}
			return out
		}
		modelEnv, agentEnv := env(model), env(agent)
		if modelEnv[modelapi.EnvPort] != "8081" {
			t.Errorf("model-%s's model container has PORT %q, want the file's port 8081", name, modelEnv[modelapi.EnvPort])
		}
		if model["ports"] != nil || model["readinessProbe"] != nil {
			t.Errorf("model-%s's model container declares ports %v / probe %v: the agent owns the serving port", name, model["ports"], model["readinessProbe"])
		}
		for k, v := range map[string]string{
			modelapi.EnvModelUpstream: "127.0.0.1:8081", modelapi.EnvModelReadinessPath: w.readiness,
			modelapi.EnvModelVersion: name, modelapi.EnvPayloadLog: "true",
		} {
			if agentEnv[k] != v {
				t.Errorf("model-%s's agent has %s=%q, want %q", name, k, agentEnv[k], v)
			}
		}
		if got := field(agent, "ports", 0, "containerPort"); got != float64(modelapi.Port) {
			t.Errorf("model-%s's agent listens on %v, want the serving port %d", name, got, modelapi.Port)
		}
		if got := field(agent, "readinessProbe", "httpGet", "path"); got != modelapi.PathReady {
			t.Errorf("model-%s's agent is probed on %v, want %s (which asks the model's %s)", name, got, modelapi.PathReady, w.readiness)
		}
	}

	destroy(t, st, "byo: destroy")
	assertNamespaceGone(t, "it-byo")
}
