package components

import (
	"sort"
	"strconv"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ModelPort is the port model-echo listens on ($PORT).
const ModelPort = modelapi.Port

// ModelVersion is what every strategy knows of one model version.
type ModelVersion struct {
	// Name is a DNS label: MODEL_VERSION, and part of object names.
	Name string
	// Target is what the version answers on GET /.
	Target string
	// Image runs the version.
	Image pulumi.StringInput
	// Bias, LatencyMs and ErrorRate are model-echo's knobs.
	Bias      float64
	LatencyMs int
	ErrorRate float64
	// Env adds environment variables.
	Env map[string]string
	// PayloadLog logs each inference request's input and output as
	// CloudEvents (PAYLOAD_LOG), for the shadow report; LoggerURL also
	// POSTs them to a KServe-compatible sink (LOGGER_URL).
	PayloadLog bool
	LoggerURL  string
	// ModelServer says where the model listens and whether model-agent
	// runs in front of it (agent.go).
	ModelServer
}

// VersionLabel carries the version on pods, for Istio subsets, people
// and the shadow report, which selects pods by it.
const VersionLabel = modelapi.PodVersionLabel

// modelContainer is the one container spec every strategy runs: restricted
// security context, requests and limits, and a readiness probe that fails
// during graceful shutdown.
func modelContainer(modelName string, v ModelVersion, port corev1.ContainerPortArgs, probePort pulumi.IntInput) corev1.ContainerArgs {
	return corev1.ContainerArgs{
		Name:  pulumi.String(modelapi.ContainerName),
		Image: v.Image,
		Env:   modelEnv(modelName, v),
		Ports: corev1.ContainerPortArray{port},
		ReadinessProbe: &corev1.ProbeArgs{
			HttpGet: &corev1.HTTPGetActionArgs{
				Path: pulumi.String(v.readinessPath()),
				Port: probePort,
			},
			PeriodSeconds: pulumi.Int(2),
		},
		Resources: v.resources(),
		SecurityContext: &corev1.SecurityContextArgs{
			RunAsNonRoot:             pulumi.Bool(true),
			AllowPrivilegeEscalation: pulumi.Bool(false),
			// An own model server may write caches and temp files.
			ReadOnlyRootFilesystem: pulumi.Bool(!v.OwnServer),
			Capabilities:           &corev1.CapabilitiesArgs{Drop: pulumi.StringArray{pulumi.String("ALL")}},
			SeccompProfile:         &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
		},
	}
}

// modelEnv sets model-echo's variables from the typed fields, then the
// extras in a stable order so a re-run plans no change.
func modelEnv(modelName string, v ModelVersion) corev1.EnvVarArray {
	env := corev1.EnvVarArray{}
	if v.Target != "" {
		env = append(env, envVar(modelapi.EnvTarget, v.Target))
	}
	env = append(env, envVar(modelapi.EnvModelName, modelName), envVar(modelapi.EnvModelVersion, v.Name))
	if v.Bias != 0 {
		env = append(env, envVar(modelapi.EnvModelBias, strconv.FormatFloat(v.Bias, 'g', -1, 64)))
	}
	if v.LatencyMs != 0 {
		env = append(env, envVar(modelapi.EnvLatencyMS, strconv.Itoa(v.LatencyMs)))
	}
	if v.ErrorRate != 0 {
		env = append(env, envVar(modelapi.EnvErrorRate, strconv.FormatFloat(v.ErrorRate, 'g', -1, 64)))
	}
	if v.PayloadLog && !v.Agent { // with the agent, the agent logs
		env = append(env, envVar(modelapi.EnvPayloadLog, "true"))
	}
	if v.LoggerURL != "" && !v.Agent {
		env = append(env, envVar(modelapi.EnvLoggerURL, v.LoggerURL))
	}
	names := make([]string, 0, len(v.Env))
	for name := range v.Env {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		env = append(env, envVar(name, v.Env[name]))
	}
	return env
}

func envVar(name, value string) corev1.EnvVarArgs {
	return corev1.EnvVarArgs{Name: pulumi.String(name), Value: pulumi.String(value)}
}
