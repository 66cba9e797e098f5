package stacks

import (
	"testing"
)

const irisImage = "ghcr.io/example/iris-sklearn:1.0"

// byoShadow is a shadow of two models of the user's own, on kind with the
// stack's image built (it carries model-agent).
func byoShadow() *Config {
	c := baseShadow()
	for i := range c.Shadow.Versions {
		v := &c.Shadow.Versions[i].ModelSettings
		v.Image, v.Target, v.ReadinessPath = irisImage, "", "/v2/health/ready"
	}
	return c
}

func TestAVersionWithItsOwnImageRunsTheAgentByDefaultAndModelEchoDoesNot(t *testing.T) {
	tests := []struct {
		image string
		agent AgentMode
		want  bool
		port  int
	}{
		{"", "", false, 8080},
		{"ghcr.io/example/model-echo:1.1.0", "", false, 8080}, // another model-echo release
		{irisImage, "", true, 8081},
		{irisImage, AgentAuto, true, 8081},
		{irisImage, AgentOff, false, 8080},
		{"", AgentOn, true, 8081},
	}
	for _, tt := range tests {
		m := ModelSettings{Image: tt.image, ModelServer: ModelServer{Agent: tt.agent}}
		if got := m.AgentEnabled(); got != tt.want {
			t.Errorf("image %q agent %q: agent enabled %v, want %v", tt.image, tt.agent, got, tt.want)
		}
		if got := m.ModelPort(); got != tt.port {
			t.Errorf("image %q agent %q: model port %d, want %d", tt.image, tt.agent, got, tt.port)
		}
	}
	if got := (&ModelSettings{}).ModelReadinessPath(); got != "/v2/health/ready" {
		t.Errorf("model-echo's readiness path %q", got)
	}
}

func TestABareOnOrOffIsReadAsTheAgentModeEvenWhereYAMLMadeItABoolean(t *testing.T) {
	// `pulumi config set --path 'shadow.versions[0].agent' true` stores a
	// boolean; a YAML 1.1 reader turns on/off into one too.
	for raw, want := range map[string]AgentMode{"on": AgentOn, "off": AgentOff, "true": AgentOn, "false": AgentOff} {
		c, err := Load(pulumiGetter(map[string]string{
			"strategy": "canary",
			"canary":   `{"versions":[{"name":"v1","target":"t","percent":100,"agent":` + jsonScalar(raw) + `}]}`,
		}, new([]string)))
		if err != nil {
			t.Fatalf("agent %s: %v", raw, err)
		}
		if got := c.Canary.Versions[0].Agent; got != want {
			t.Errorf("agent %s read as %q, want %q", raw, got, want)
		}
	}
}

func jsonScalar(raw string) string {
	if raw == "true" || raw == "false" {
		return raw
	}
	return `"` + raw + `"`
}

func TestModelServerMistakesAreReportedAtTheKeysToSet(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		wants  []want
	}{
		{"the model on the agent's port", func(c *Config) { c.Shadow.Versions[0].Port = ptr(8080) },
			[]want{{shadowV(0, "port"), "8080 is the agent's port"}}},
		{"the model on the agent's port is fine without the agent", func(c *Config) {
			c.Shadow.Versions[0].Port, c.Shadow.Versions[0].Agent = ptr(8080), AgentOff
			c.Shadow.Versions[0].PayloadLog = ptr(false)
		}, nil},
		{"a port Knative's queue-proxy holds", func(c *Config) { c.Shadow.Versions[1].Port = ptr(8012) },
			[]want{{shadowV(1, "port"), "queue-proxy"}}},
		{"a port Istio's sidecar holds", func(c *Config) { c.Shadow.Versions[1].Port = ptr(15001) },
			[]want{{shadowV(1, "port"), "Istio's sidecar"}}},
		{"no port at all", func(c *Config) { c.Shadow.Versions[1].Port = ptr(0) },
			[]want{{shadowV(1, "port"), "0 is out of range, want 1 to 65535"}}},
		{"an own image without a readiness path", func(c *Config) { c.Shadow.Versions[0].ReadinessPath = "" },
			[]want{{shadowV(0, "readinessPath"), "required: the model server's own readiness path"}}},
		{"a readiness path that is not a path", func(c *Config) { c.Shadow.Versions[0].ReadinessPath = "healthz" },
			[]want{{shadowV(0, "readinessPath"), `"healthz" is not an absolute URL path`}}},
		{"an unknown agent mode", func(c *Config) { c.Shadow.Versions[0].Agent = "sometimes" },
			[]want{{shadowV(0, "agent"), `unknown agent mode "sometimes", want auto, on or off`}}},
		{"payload logging asked of an own image without the agent", func(c *Config) {
			c.Shadow.Versions[1].Agent, c.Shadow.Versions[1].PayloadLog = AgentOff, ptr(true)
		}, []want{{shadowV(1, "payloadLog"), "agent is off"}}},
		{"payload logging of model-echo without the agent is model-echo's own", func(c *Config) {
			c.Shadow.Versions[1].Image, c.Shadow.Versions[1].Target = "", "model v2"
			c.Shadow.Versions[1].Agent, c.Shadow.Versions[1].PayloadLog = AgentOff, ptr(true)
		}, nil},
		{"no target is needed by a model that is not model-echo", func(c *Config) {}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := byoShadow()
			tt.mutate(c)
			assertProblems(t, validationErrors(t, c), tt.wants)
		})
	}
}

func TestAnOwnImageWithoutTheAgentLogsNoPayloadsByDefaultAndIsNotBlamedForIt(t *testing.T) {
	c := byoShadow()
	c.Shadow.Versions[1].Agent = AgentOff
	assertProblems(t, validationErrors(t, c), nil)
	if pl := c.Shadow.Versions[1].PayloadLog; pl == nil || *pl {
		t.Errorf("payloadLog defaulted to %v, want false: nothing in the pod writes events", pl)
	}
	if pl := c.Shadow.Versions[0].PayloadLog; pl == nil || !*pl {
		t.Errorf("with the agent, payloadLog defaulted to %v, want true", pl)
	}
}

func TestTheAgentNeedsTheStacksImageWhichCarriesIt(t *testing.T) {
	c := byoShadow()
	c.Cluster = ClusterConfig{Type: ClusterExisting}
	assertProblems(t, validationErrors(t, c), []want{{"modelrollouts:image.ref", "version v1 runs model-agent"}})

	c = byoShadow()
	c.Cluster = ClusterConfig{Type: ClusterExisting}
	c.Image.Ref = "ghcr.io/example/model-echo:1.2.0"
	assertProblems(t, validationErrors(t, c), nil)
}
