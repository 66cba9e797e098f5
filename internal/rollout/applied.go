package rollout

import (
	"fmt"
	"strings"

	"github.com/modelrollouts/modelrollouts/stacks"
)

// NotApplied says that the deployed stack is not at the step its stack file
// names: a merged step that `pulumi up` has not applied yet, or a file
// edited since. The gate then has nothing to judge: a verdict would be about
// the old split, and the PR it opens would move the new file one step more.
type NotApplied struct {
	File string `json:"file"`
	// Deployed and InFile are the percents per version in the stack's
	// outputs and in its file.
	Deployed    map[string]int `json:"deployedPercent"`
	InFile      map[string]int `json:"filePercent"`
	Differences []string       `json:"differences"`
}

func (n *NotApplied) Error() string {
	return fmt.Sprintf("the deployed stack is not at the step %s names (%s): a merged step waits for `pulumi up` (the deploy workflow, or make up); the gate judges only the step the file names, so it does not judge now",
		n.File, strings.Join(n.Differences, "; "))
}

// CompareApplied compares the stack file's canary percents (and rollout
// candidate) with the deployed outputs; nil means the cluster runs the
// file's step. A file that is not a canary has no step to compare.
func CompareApplied(file string, cfg *stacks.Config, deployed *stacks.Outputs) *NotApplied {
	if cfg.Strategy != stacks.StrategyCanary || cfg.Canary == nil {
		return nil
	}
	n := &NotApplied{File: file, Deployed: deployed.Split, InFile: map[string]int{}}
	for _, v := range cfg.Canary.Versions {
		if v.Percent == nil {
			continue
		}
		n.InFile[v.Name] = *v.Percent
		got, ok := deployed.Split[v.Name]
		switch {
		case !ok:
			n.Differences = append(n.Differences, fmt.Sprintf("%s is not deployed, the file gives it %d%%", v.Name, *v.Percent))
		case got != *v.Percent:
			n.Differences = append(n.Differences, fmt.Sprintf("%s deployed at %d%%, the file says %d%%", v.Name, got, *v.Percent))
		}
	}
	for _, name := range sortedKeys(deployed.Split) {
		if _, ok := n.InFile[name]; !ok {
			n.Differences = append(n.Differences, fmt.Sprintf("%s is deployed at %d%% but no longer in the file", name, deployed.Split[name]))
		}
	}
	if r := cfg.Canary.Rollout; r != nil && deployed.Rollout != nil && r.Candidate != deployed.Rollout.Candidate {
		n.Differences = append(n.Differences, fmt.Sprintf("the deployed rollout candidate is %s, the file's is %s", deployed.Rollout.Candidate, r.Candidate))
	}
	if len(n.Differences) == 0 {
		return nil
	}
	return n
}
