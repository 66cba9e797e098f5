package infra

import (
	"testing"

	"github.com/modelrollouts/modelrollouts/stacks"
)

// Only a version whose own model runs behind the agent exports the agent
// contract smoke probes; model-echo versions export nothing new.
func TestOnlyAnOwnModelBehindTheAgentExportsItsReadinessPath(t *testing.T) {
	own := stacks.ModelSettings{Image: "ghcr.io/you/iris:1"}
	own.ReadinessPath = "/v2/health/ready"
	var vo stacks.VersionOutput
	agentContract(&vo, &own)
	if !vo.Agent || vo.ReadinessPath != "/v2/health/ready" {
		t.Errorf("own model behind the agent exports %+v", vo)
	}
	for _, m := range []stacks.ModelSettings{{}, {Image: "ghcr.io/you/model-echo:1.1"}} {
		var vo stacks.VersionOutput
		agentContract(&vo, &m)
		if vo.Agent || vo.ReadinessPath != "" {
			t.Errorf("model-echo version %q exports %+v", m.Image, vo)
		}
	}
	off := stacks.ModelSettings{Image: "ghcr.io/you/iris:1"}
	off.ReadinessPath, off.Agent = "/healthz", stacks.AgentOff
	vo = stacks.VersionOutput{}
	agentContract(&vo, &off)
	if vo.Agent {
		t.Errorf("agent off exports %+v", vo)
	}
}
