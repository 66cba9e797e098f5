package stacks

import (
	"path"

	"github.com/distribution/reference"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// AgentMode says whether a version's pod runs model-agent in front of its
// model server (versions[i].agent).
type AgentMode string

const (
	// AgentAuto, the default, runs the agent for a version with its own
	// image and not for model-echo, which keeps the contract itself.
	AgentAuto AgentMode = "auto"
	AgentOn   AgentMode = "on"
	AgentOff  AgentMode = "off"
)

// AgentModes are the values versions[i].agent takes.
var AgentModes = []string{string(AgentAuto), string(AgentOn), string(AgentOff)}

// ModelServer says how a version's model server is reached, for a model
// that is not model-echo (bring your own image).
type ModelServer struct {
	// Port is where the model server listens in its pod. Default:
	// modelapi.DefaultModelPortBehindAgent (8081) behind the agent, which
	// owns modelapi.Port (8080); modelapi.Port without it.
	Port *int `json:"port,omitempty"`
	// ReadinessPath is the model server's own readiness path, e.g.
	// /v2/health/ready (Open Inference Protocol) or /healthz. Required for
	// a version with its own image; model-echo's by default.
	ReadinessPath string `json:"readinessPath,omitempty"`
	// Agent is auto (the default), on or off.
	Agent AgentMode `json:"agent,omitempty"`
}

// ModelEchoRepository is the last path component of a model-echo image's
// repository: a version's own image named so (ghcr.io/you/model-echo:1.1)
// is another model-echo release.
const ModelEchoRepository = "model-echo"

// RunsModelEcho reports a version that runs model-echo: the stack's image
// (built from model-echo/Dockerfile, or image.ref), or its own image of a
// repository named model-echo. Any other image is the user's own model
// server. An image that does not parse is reported at image; it counts as
// model-echo here, so it brings no second problem.
func (m *ModelSettings) RunsModelEcho() bool {
	if m.Image == "" {
		return true
	}
	named, err := reference.ParseNormalizedNamed(m.Image)
	return err != nil || path.Base(reference.Path(named)) == ModelEchoRepository
}

// AgentEnabled reports whether the version's pod runs model-agent.
func (m *ModelSettings) AgentEnabled() bool {
	switch m.Agent {
	case AgentOn:
		return true
	case AgentOff:
		return false
	}
	return !m.RunsModelEcho()
}

// LogsPayloads reports whether something in the version's pod can write
// payload events: model-echo, or the agent.
func (m *ModelSettings) LogsPayloads() bool { return m.RunsModelEcho() || m.AgentEnabled() }

// ModelPort is the port the model server listens on (defaulted).
func (m *ModelSettings) ModelPort() int {
	if m.Port != nil {
		return *m.Port
	}
	if m.AgentEnabled() {
		return modelapi.DefaultModelPortBehindAgent
	}
	return modelapi.Port
}

// ModelReadinessPath is the model server's readiness path: its own, or
// model-echo's.
func (m *ModelSettings) ModelReadinessPath() string {
	if m.ReadinessPath == "" && m.RunsModelEcho() {
		return modelapi.PathReady
	}
	return m.ReadinessPath
}

// setModelServerDefaults leaves unset keys unset (ModelPort,
// ModelReadinessPath and AgentEnabled say what they mean), but reads a
// YAML 1.1 boolean as the word meant: such readers turn a bare on/off into
// true/false, which reaches us as "true"/"false".
func (m *ModelSettings) setModelServerDefaults() {
	switch m.Agent {
	case "true":
		m.Agent = AgentOn
	case "false":
		m.Agent = AgentOff
	}
}

// setModelServerDefaults defaults every version's model server keys.
func (c *Config) setModelServerDefaults() {
	if c.Canary != nil {
		for i := range c.Canary.Versions {
			c.Canary.Versions[i].setModelServerDefaults()
		}
	}
	if c.Shadow != nil {
		for i := range c.Shadow.Versions {
			c.Shadow.Versions[i].setModelServerDefaults()
		}
	}
}

// models lists the versions of the stack's strategy, as pointers so
// defaults can be set in place; none when its block is unset.
func (c *Config) models() []*ModelSettings {
	models, _ := ByStrategy[[]*ModelSettings](c.Strategy, strategyModelSettings{c})
	return models
}

// strategyModelSettings is models' case per strategy.
type strategyModelSettings struct{ c *Config }

func (m strategyModelSettings) Canary() []*ModelSettings {
	var out []*ModelSettings
	if m.c.Canary != nil {
		for i := range m.c.Canary.Versions {
			out = append(out, &m.c.Canary.Versions[i].ModelSettings)
		}
	}
	return out
}

func (m strategyModelSettings) Shadow() []*ModelSettings {
	var out []*ModelSettings
	if m.c.Shadow != nil {
		for i := range m.c.Shadow.Versions {
			out = append(out, &m.c.Shadow.Versions[i].ModelSettings)
		}
	}
	return out
}
