package components_test

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/modelrollouts/modelrollouts/components"
	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// withAgent makes version i an own model server on port 8081 behind the agent.
func withAgent(v *components.ModelVersion) {
	v.Image = pulumi.String("kind.local/iris:1")
	v.Target = ""
	v.ModelServer = components.ModelServer{OwnServer: true, Port: 8081, ReadinessPath: "/healthz", Agent: true,
		AgentImage: pulumi.String("kind.local/model-echo:abc")}
}

func containersByName(t *testing.T, list []resource.PropertyValue) map[string]resource.PropertyMap {
	t.Helper()
	out := map[string]resource.PropertyMap{}
	for _, c := range list {
		out[c.ObjectValue()["name"].StringValue()] = c.ObjectValue()
	}
	return out
}

func TestACanaryRevisionWithTheAgentHasTheAgentOwnTheServingPort(t *testing.T) {
	args := canaryArgs(90, 10)
	withAgent(&args.Versions[1].ModelVersion)
	args.Versions[1].PayloadLog = true
	rec, _, _ := runCanary(t, args)

	one := get(t, mustFind(t, rec, knConfiguration, "model-v1").Inputs, "spec", "template", "spec", "containers").ArrayValue()
	if len(one) != 1 {
		t.Errorf("model-echo without the agent: %d containers, want 1", len(one))
	}
	cs := containersByName(t, get(t, mustFind(t, rec, knConfiguration, "model-v2").Inputs, "spec", "template", "spec", "containers").ArrayValue())
	agent, model := cs[modelapi.AgentContainerName], cs[modelapi.ContainerName]
	if agent == nil || model == nil || len(cs) != 2 {
		t.Fatalf("containers %v, want %s and %s", cs, modelapi.ContainerName, modelapi.AgentContainerName)
	}
	// Knative routes to the one container that declares a port.
	if model.HasValue("ports") || model.HasValue("readinessProbe") {
		t.Errorf("the model declares a port or a probe: %v", model)
	}
	if got := agent["ports"].ArrayValue()[0].ObjectValue()["containerPort"].NumberValue(); got != float64(modelapi.Port) {
		t.Errorf("agent port %v, want %d", got, modelapi.Port)
	}
	if got := agent["image"].StringValue(); got != "kind.local/model-echo:abc" {
		t.Errorf("agent image %q, want the stack's", got)
	}
	if got := str(t, agent, "readinessProbe", "httpGet", "path"); got != modelapi.PathReady {
		t.Errorf("agent probe %q", got)
	}
	aenv, menv := envOf(t, resource.NewObjectProperty(agent)), envOf(t, resource.NewObjectProperty(model))
	if aenv[modelapi.EnvModelUpstream] != "127.0.0.1:8081" || aenv[modelapi.EnvModelReadinessPath] != "/healthz" ||
		aenv[modelapi.EnvModelVersion] != "v2" || aenv[modelapi.EnvPayloadLog] != "true" {
		t.Errorf("agent env %v", aenv)
	}
	// The model gets its port; the payload log is the agent's; Knative
	// sets PORT only on the serving container and allows it on sidecars.
	if menv[modelapi.EnvPort] != "8081" || menv[modelapi.EnvPayloadLog] != "" || menv[modelapi.EnvTarget] != "" {
		t.Errorf("model env %v", menv)
	}
}

func TestAShadowPodWithTheAgentRunsItAsASidecarTheServiceReaches(t *testing.T) {
	args := shadowArgs(50)
	withAgent(&args.Shadow.ModelVersion)
	args.Shadow.PayloadLog = true
	rec, _ := runShadow(t, args)
	cs := containersByName(t, get(t, mustFind(t, rec, "kubernetes:apps/v1:Deployment", "model-v2").Inputs, "spec", "template", "spec", "containers").ArrayValue())
	if cs[modelapi.AgentContainerName] == nil || cs[modelapi.ContainerName] == nil {
		t.Fatalf("containers %v", cs)
	}
	if got := str(t, cs[modelapi.AgentContainerName], "readinessProbe", "httpGet", "path"); got != modelapi.PathReady {
		t.Errorf("agent probe %q", got)
	}
	svc := mustFind(t, rec, "kubernetes:core/v1:Service", "model")
	if got := get(t, svc.Inputs, "spec", "ports").ArrayValue()[0].ObjectValue()["targetPort"].NumberValue(); got != float64(modelapi.Port) {
		t.Errorf("Service targetPort %v, want the agent's %d", got, modelapi.Port)
	}
}

func TestAnOwnModelWithoutTheAgentServesAndIsProbedOnItsOwnPort(t *testing.T) {
	args := shadowArgs(50)
	args.Shadow.Image = pulumi.String("kind.local/iris:1")
	args.Shadow.ModelServer = components.ModelServer{OwnServer: true, Port: 9000, ReadinessPath: "/healthz"}
	rec, _ := runShadow(t, args)
	cs := containersByName(t, get(t, mustFind(t, rec, "kubernetes:apps/v1:Deployment", "model-v2").Inputs, "spec", "template", "spec", "containers").ArrayValue())
	model := cs[modelapi.ContainerName]
	if len(cs) != 1 || str(t, model, "readinessProbe", "httpGet", "path") != "/healthz" ||
		model["readinessProbe"].ObjectValue()["httpGet"].ObjectValue()["port"].NumberValue() != 9000 {
		t.Errorf("containers %v, want the model alone probed on /healthz at 9000", cs)
	}
	svc := mustFind(t, rec, "kubernetes:core/v1:Service", "model")
	if got := get(t, svc.Inputs, "spec", "ports").ArrayValue()[0].ObjectValue()["targetPort"].StringValue(); got != "http" {
		t.Errorf("Service targetPort %q, want the port's name (the versions serve on different ports)", got)
	}
}
