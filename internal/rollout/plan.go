package rollout

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/modelrollouts/modelrollouts/internal/stackedit"
	"github.com/modelrollouts/modelrollouts/stacks"
)

// Action is what a step does to the candidate.
type Action string

const (
	ActionAdvance  Action = "advance"
	ActionRollback Action = "rollback"
)

// Step is one reviewed change of the split: the candidate's and the
// baseline's percents before and after; other versions keep theirs.
type Step struct {
	Action    Action         `json:"action"`
	Candidate string         `json:"candidate"`
	Baseline  string         `json:"baseline"`
	Steps     []int          `json:"steps"`
	Before    map[string]int `json:"before"`
	After     map[string]int `json:"after"`
	// Order lists the versions as the stack file does.
	Order []string `json:"order"`
}

// Status is where a stack stands on its ladder.
type Status struct {
	Candidate string          `json:"candidate"`
	Baseline  string          `json:"baseline"`
	Steps     []int           `json:"steps"`
	Position  stacks.Position `json:"position"`
	Percents  map[string]int  `json:"percents"`
	Order     []string        `json:"order"`
}

// StatusOf reads a stack's rollout.
func StatusOf(cfg *stacks.Config) (*Status, error) {
	r, err := rolloutOf(cfg)
	if err != nil {
		return nil, err
	}
	st := &Status{Candidate: r.Candidate, Baseline: r.Baseline, Steps: r.Steps, Percents: map[string]int{}}
	for _, v := range cfg.Canary.Versions {
		st.Percents[v.Name] = *v.Percent
		st.Order = append(st.Order, v.Name)
	}
	st.Position = stacks.PositionOf(r.Steps, st.Percents[r.Candidate])
	return st, nil
}

func rolloutOf(cfg *stacks.Config) (*stacks.RolloutConfig, error) {
	if cfg.Strategy != stacks.StrategyCanary || cfg.Canary == nil {
		return nil, errors.New("the stack is not a canary: a rollout moves a canary's percents")
	}
	if cfg.Canary.Rollout == nil {
		return nil, fmt.Errorf("the stack has no %s:canary.rollout; start one with: pulumi config set --path canary.rollout.candidate NAME", stacks.Namespace)
	}
	return cfg.Canary.Rollout, nil
}

// PlanAdvance is the next step up the ladder: the candidate gets the first
// step above its percent, the baseline what the candidate gains less.
func PlanAdvance(cfg *stacks.Config) (*Step, error) {
	st, err := StatusOf(cfg)
	if err != nil {
		return nil, err
	}
	if st.Position.Next < 0 {
		return nil, fmt.Errorf("%s is at %d%%, the top of its ladder %v: nothing to advance", st.Candidate, st.Position.Percent, st.Steps)
	}
	return st.step(ActionAdvance, st.Position.Next)
}

// PlanRollback takes the candidate to 0%, the baseline taking its share.
// The candidate stays tagged, so it is still reachable for debugging.
func PlanRollback(cfg *stacks.Config) (*Step, error) {
	st, err := StatusOf(cfg)
	if err != nil {
		return nil, err
	}
	if st.Position.Percent == 0 {
		return nil, fmt.Errorf("%s already has 0%%: nothing to roll back", st.Candidate)
	}
	return st.step(ActionRollback, 0)
}

func (st *Status) step(action Action, candidatePercent int) (*Step, error) {
	s := &Step{
		Action: action, Candidate: st.Candidate, Baseline: st.Baseline, Steps: st.Steps,
		Before: st.Percents, After: map[string]int{}, Order: slices.Clone(st.Order),
	}
	for name, p := range st.Percents {
		s.After[name] = p
	}
	gain := candidatePercent - st.Percents[st.Candidate]
	s.After[st.Candidate] = candidatePercent
	s.After[st.Baseline] = st.Percents[st.Baseline] - gain
	if s.After[st.Baseline] < 0 {
		return nil, fmt.Errorf("%s has %d%%, too little to give %s %d%%", st.Baseline, st.Percents[st.Baseline], st.Candidate, candidatePercent)
	}
	return s, nil
}

// Changed is the percents the step changes.
func (s *Step) Changed() map[string]int {
	return map[string]int{s.Candidate: s.After[s.Candidate], s.Baseline: s.After[s.Baseline]}
}

// EditStackFile plans a step from a stack file's content and returns the
// content with the step applied: only the changed percents' numbers are
// rewritten, and the result is known to load as a valid stack config.
func EditStackFile(data []byte, plan func(*stacks.Config) (*Step, error)) (*Step, []byte, error) {
	cfg, err := stackedit.LoadBytes(data)
	if err != nil {
		return nil, nil, err
	}
	s, err := plan(cfg)
	if err != nil {
		return nil, nil, err
	}
	out, err := stackedit.SetPercents(data, s.Changed())
	if err != nil {
		return nil, nil, err
	}
	return s, out, nil
}

// WriteStatus prints where a stack stands on its ladder, and, given the
// deployed outputs, whether the cluster is there yet.
func WriteStatus(w io.Writer, file string, st *Status, deployed *stacks.Outputs) error {
	pos := st.Position
	steps := make([]string, len(st.Steps))
	for i, p := range st.Steps {
		steps[i] = fmt.Sprintf("%d", p)
		if i == pos.Step {
			steps[i] = "[" + steps[i] + "]"
		}
	}
	where := fmt.Sprintf("step %d of %d", pos.Step+1, len(st.Steps))
	switch {
	case pos.Percent == 0:
		where = "not started, or rolled back"
	case pos.Step < 0:
		where = "between steps (set by hand)"
	}
	fmt.Fprintf(w, "%s: %s at %d%% — %s on %s\n", file, st.Candidate, pos.Percent, where, strings.Join(steps, " → "))
	fmt.Fprintf(w, "baseline: %s at %d%%\n", st.Baseline, st.Percents[st.Baseline])
	for _, name := range st.Order {
		if name != st.Candidate && name != st.Baseline {
			fmt.Fprintf(w, "other: %s at %d%% (untouched by the rollout)\n", name, st.Percents[name])
		}
	}
	if pos.Next < 0 {
		fmt.Fprintln(w, "next: none, the candidate is at the top of its ladder")
	} else {
		fmt.Fprintf(w, "next: %d%% (rollout check, then rollout advance)\n", pos.Next)
	}
	if deployed != nil {
		var diff []string
		for _, name := range st.Order {
			if d, ok := deployed.Split[name]; !ok || d != st.Percents[name] {
				diff = append(diff, fmt.Sprintf("%s deployed at %d%%, file says %d%%", name, d, st.Percents[name]))
			}
		}
		if len(diff) == 0 {
			fmt.Fprintln(w, "deployed: the cluster runs this split")
		} else {
			fmt.Fprintf(w, "deployed: differs (merge and pulumi up pending?): %s\n", strings.Join(diff, "; "))
		}
	}
	return nil
}
