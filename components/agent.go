package components

import (
	"strconv"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// ModelServer is how a version's model server is reached, and whether
// model-agent runs in front of it in the same pod.
type ModelServer struct {
	// OwnServer: the model is the user's own server, not model-echo (which
	// gets small fixed limits and a read-only root).
	OwnServer bool
	// Port is where the model listens (0: ModelPort); ReadinessPath its
	// readiness path ("": model-echo's).
	Port          int
	ReadinessPath string
	// Agent runs model-agent from AgentImage as the container that owns
	// the serving port; the model then listens on Port inside the pod.
	Agent      bool
	AgentImage pulumi.StringInput
}

func (v ModelVersion) readinessPath() string {
	if v.ReadinessPath == "" {
		return modelapi.PathReady
	}
	return v.ReadinessPath
}

func (v ModelVersion) modelPort() int {
	if v.Port == 0 {
		return ModelPort
	}
	return v.Port
}

// resources: model-echo needs little; an own model server (a Python
// runtime and a model) gets room to load.
func (v ModelVersion) resources() *corev1.ResourceRequirementsArgs {
	if !v.OwnServer {
		return &corev1.ResourceRequirementsArgs{
			Requests: pulumi.StringMap{"cpu": pulumi.String("10m"), "memory": pulumi.String("16Mi")},
			Limits:   pulumi.StringMap{"cpu": pulumi.String("500m"), "memory": pulumi.String("64Mi")},
		}
	}
	return &corev1.ResourceRequirementsArgs{
		Requests: pulumi.StringMap{"cpu": pulumi.String("50m"), "memory": pulumi.String("128Mi")},
		Limits:   pulumi.StringMap{"cpu": pulumi.String("1"), "memory": pulumi.String("1Gi")},
	}
}

// versionContainers are a version's containers. Without the agent, the
// model alone serves port (and is probed on its readiness path). With it,
// the agent serves port and answers readiness by asking the model; the
// model declares no port (Knative routes to the one container that does)
// and listens on its own port, told by PORT.
func versionContainers(modelName string, v ModelVersion, port corev1.ContainerPortArgs, probePort pulumi.IntInput) corev1.ContainerArray {
	if !v.Agent {
		port.ContainerPort = pulumi.Int(v.modelPort())
		if probePort == nil { // Knative: it sets PORT to the declared port itself
			return corev1.ContainerArray{modelContainer(modelName, v, port, nil)}
		}
		c := modelContainer(modelName, v, port, pulumi.Int(v.modelPort()))
		if v.modelPort() != ModelPort {
			c.Env = append(c.Env.(corev1.EnvVarArray), envVar(modelapi.EnvPort, strconv.Itoa(v.modelPort())))
		}
		return corev1.ContainerArray{c}
	}
	model := modelContainer(modelName, v, port, probePort)
	model.Ports, model.ReadinessProbe = nil, nil
	model.Env = append(model.Env.(corev1.EnvVarArray), envVar(modelapi.EnvPort, strconv.Itoa(v.modelPort())))
	return corev1.ContainerArray{model, agentContainer(modelName, v, port, probePort)}
}

// agentContainer runs model-agent from the stack's image (model-echo's,
// which carries it) with model-echo's restricted profile.
func agentContainer(modelName string, v ModelVersion, port corev1.ContainerPortArgs, probePort pulumi.IntInput) corev1.ContainerArgs {
	env := corev1.EnvVarArray{
		envVar(modelapi.EnvModelUpstream, "127.0.0.1:"+strconv.Itoa(v.modelPort())),
		envVar(modelapi.EnvModelReadinessPath, v.readinessPath()),
		envVar(modelapi.EnvModelName, modelName),
		envVar(modelapi.EnvModelVersion, v.Name),
	}
	if v.PayloadLog {
		env = append(env, envVar(modelapi.EnvPayloadLog, "true"))
	}
	if v.LoggerURL != "" {
		env = append(env, envVar(modelapi.EnvLoggerURL, v.LoggerURL))
	}
	port.ContainerPort = pulumi.Int(modelapi.Port)
	return corev1.ContainerArgs{
		Name:    pulumi.String(modelapi.AgentContainerName),
		Image:   v.AgentImage,
		Command: pulumi.ToStringArray(modelapi.AgentCommand),
		Env:     env,
		Ports:   corev1.ContainerPortArray{port},
		ReadinessProbe: &corev1.ProbeArgs{
			HttpGet:       &corev1.HTTPGetActionArgs{Path: pulumi.String(modelapi.PathReady), Port: probePort},
			PeriodSeconds: pulumi.Int(2),
		},
		Resources: &corev1.ResourceRequirementsArgs{
			Requests: pulumi.StringMap{"cpu": pulumi.String("10m"), "memory": pulumi.String("16Mi")},
			// Bounded: queues of 8 MiB each and at most 256 KiB per body in
			// flight for the payload log (docs/model-agent.md).
			Limits: pulumi.StringMap{"cpu": pulumi.String("500m"), "memory": pulumi.String("64Mi")},
		},
		SecurityContext: &corev1.SecurityContextArgs{
			RunAsNonRoot:             pulumi.Bool(true),
			AllowPrivilegeEscalation: pulumi.Bool(false),
			ReadOnlyRootFilesystem:   pulumi.Bool(true),
			Capabilities:             &corev1.CapabilitiesArgs{Drop: pulumi.StringArray{pulumi.String("ALL")}},
			SeccompProfile:           &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
		},
	}
}

// servingPort is the container port a version's Service or Route reaches:
// the agent's, or the model's own.
func (v ModelVersion) servingPort() int {
	if v.Agent {
		return modelapi.Port
	}
	return v.modelPort()
}
