package infra_test

import (
	"encoding/json"

	"github.com/modelrollouts/modelrollouts/stacks"
)

// decodeOutputs turns resolved outputs into stacks.Outputs through JSON,
// the path `pulumi stack output --json` takes to a smoke test.
func decodeOutputs(m map[string]any) (*stacks.Outputs, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var o stacks.Outputs
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, err
	}
	return &o, nil
}
