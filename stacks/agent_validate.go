package stacks

import (
	"fmt"
	"strings"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// Ports a model server must not take in its pod: Knative's queue-proxy
// listens on these beside every revision (Knative refuses them), and
// Istio's sidecar on these in every shadow pod.
var (
	knativeReservedPorts = []int{8012, 8013, 8022, 9090, 9091}
	istioSidecarPorts    = []int{15000, 15001, 15004, 15006, 15008, 15009, 15020, 15021, 15053, 15090}
)

// validateModelServer checks agent, port, readinessPath and how payloadLog
// fits them, at the version's keys.
func (m *ModelSettings) validateModelServer() *FieldError {
	var errs *FieldError
	if m.Agent != "" && !oneOf(string(m.Agent), AgentModes) {
		errs = errs.Also(ErrUnknownValue(string(m.Agent), "agent", "agent mode", AgentModes...))
	}
	if m.Port != nil {
		errs = errs.Also(m.validatePort(*m.Port))
	}
	switch {
	case m.ReadinessPath == "" && !m.RunsModelEcho():
		errs = errs.Also(ErrMissingField("readinessPath", "the model server's own readiness path, e.g. /v2/health/ready (Open Inference Protocol) or /healthz: the pod is ready when it answers 2xx"))
	case m.ReadinessPath != "" && (!strings.HasPrefix(m.ReadinessPath, "/") || strings.ContainsAny(m.ReadinessPath, " ?#")):
		errs = errs.Also(ErrInvalidValue(m.ReadinessPath, "readinessPath", "an absolute URL path without query, e.g. /v2/health/ready"))
	}
	if m.PayloadLog != nil && *m.PayloadLog && !m.LogsPayloads() {
		errs = errs.Also(ErrGeneric("is true, but agent is off and the version runs its own image, not model-echo: nothing in the pod would write the events; "+
			"set agent: on (or leave it auto), or payloadLog: false", "payloadLog"))
	}
	return errs
}

func (m *ModelSettings) validatePort(port int) *FieldError {
	switch {
	case port < 1 || port > 65535:
		return ErrOutOfBoundsValue(port, 1, 65535, "port")
	case port == modelapi.Port && m.AgentEnabled():
		return ErrGeneric(fmt.Sprintf("%d is the agent's port (it owns the pod's serving port): give the model server another, e.g. %d",
			port, modelapi.DefaultModelPortBehindAgent), "port")
	case containsInt(knativeReservedPorts, port):
		return ErrGeneric(fmt.Sprintf("%d is taken by Knative's queue-proxy in every revision (reserved: %s)", port, joinInts(knativeReservedPorts)), "port")
	case containsInt(istioSidecarPorts, port):
		return ErrGeneric(fmt.Sprintf("%d is taken by Istio's sidecar in every shadow pod (reserved: %s)", port, joinInts(istioSidecarPorts)), "port")
	}
	return nil
}

// validateAgentImage is at image: the agent runs from the stack's image
// (model-echo's, which carries model-agent too), so with any version's
// agent on something must provide it.
func (c *Config) validateAgentImage() *FieldError {
	if c.Image.Ref != "" || (c.Image.Build != nil && *c.Image.Build) {
		return nil
	}
	for _, m := range c.models() {
		if m.AgentEnabled() {
			return ErrMissingField("ref", fmt.Sprintf("version %s runs model-agent, which comes from the stack's image: "+
				"set image.ref to a model-echo image (it carries /model-agent) or build it (image.build)", m.Name))
		}
	}
	return nil
}

func containsInt(list []int, n int) bool {
	for _, v := range list {
		if v == n {
			return true
		}
	}
	return false
}

func joinInts(list []int) string {
	s := make([]string, len(list))
	for i, v := range list {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ", ")
}
