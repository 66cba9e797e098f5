package rollout

import (
	"fmt"
	"strings"

	"github.com/modelrollouts/modelrollouts/internal/gate"
)

// PR is a pull request's title and Markdown body for one step.
type PR struct {
	Title string `json:"title"`
	Body  string `json:"body"`
}

// CheckEvidence refuses evidence that does not back the step: a report
// about other versions, about another percent than the stack's, or with
// another verdict.
func CheckEvidence(s *Step, rep *Report) error {
	want := gate.Promote
	if s.Action == ActionRollback {
		want = gate.Rollback
	}
	switch {
	case rep.Candidate != s.Candidate || rep.Baseline != s.Baseline:
		return fmt.Errorf("the evidence judges %s against %s, the stack rolls out %s against %s", rep.Candidate, rep.Baseline, s.Candidate, s.Baseline)
	case rep.CandidatePercent != s.Before[s.Candidate]:
		return fmt.Errorf("the evidence was measured with %s at %d%%, the stack file has it at %d%%", s.Candidate, rep.CandidatePercent, s.Before[s.Candidate])
	case rep.Result.Verdict != want:
		return fmt.Errorf("the evidence's verdict is %s, and %s needs %s", rep.Result.Verdict, s.Action, want)
	}
	return nil
}

// NewPR writes the title and body of the PR for a step of stack. evidence
// may be nil (a step taken by hand); the body then says so.
func NewPR(stack string, s *Step, evidence *Report) PR {
	before, after := s.Before[s.Candidate], s.After[s.Candidate]
	var title string
	var b strings.Builder
	switch s.Action {
	case ActionRollback:
		title = fmt.Sprintf("rollout(%s): roll back %s (%d%% → 0%%)", stack, s.Candidate, before)
		fmt.Fprintf(&b, "Roll back **%s** on stack `%s`: %d%% → 0%%, %s takes its traffic. %s stays tagged, so its own host still answers for debugging.\n\n",
			s.Candidate, stack, before, s.Baseline, s.Candidate)
	default:
		title = fmt.Sprintf("rollout(%s): %s %d%% → %d%%", stack, s.Candidate, before, after)
		fmt.Fprintf(&b, "Rollout of **%s** on stack `%s`: %d%% → %d%% (%s).\n\n", s.Candidate, stack, before, after, ladder(s.Steps, after))
	}
	fmt.Fprintln(&b, "| version | role | before | after |\n|---|---|---:|---:|")
	for _, name := range s.Order {
		role := ""
		switch name {
		case s.Candidate:
			role = "candidate"
		case s.Baseline:
			role = "baseline"
		}
		cell := fmt.Sprintf("%d%%", s.After[name])
		if s.After[name] != s.Before[name] {
			cell = "**" + cell + "**"
		}
		fmt.Fprintf(&b, "| %s | %s | %d%% | %s |\n", name, role, s.Before[name], cell)
	}
	fmt.Fprintln(&b, "\n### Gate evidence")
	command := fmt.Sprintf("bin/rollout check --stack %s", stack)
	if evidence == nil {
		fmt.Fprintln(&b, "\nNo gate evidence was attached: this step was taken by hand. Run the gate before merging.")
	} else {
		fmt.Fprintln(&b)
		evidence.WriteMarkdown(&b)
		if evidence.Command != "" {
			command = evidence.Command
		}
	}
	fmt.Fprintf(&b, "\n### Reproduce\n\n```sh\n")
	if file := outputsFile(command); file != "" {
		// The check read a saved copy of the outputs: say how to make one.
		fmt.Fprintf(&b, "pulumi stack output --json --stack %s > %s   # the deployed stack's outputs\n", stack, file)
	}
	fmt.Fprintf(&b, "%s   # the gate's verdict (exit 0 promote, 1 rollback, 3 inconclusive)\nmake review   # the Kubernetes objects this change edits\n```\n", command)
	fmt.Fprintf(&b, "\nNothing changes in the cluster until this PR is reviewed, merged and `pulumi up --stack %s` runs.\n", stack)
	return PR{Title: title, Body: b.String()}
}

// ladder renders the steps with the current one in bold.
func ladder(steps []int, current int) string {
	parts := make([]string, len(steps))
	for i, p := range steps {
		parts[i] = fmt.Sprintf("%d", p)
		if p == current {
			parts[i] = fmt.Sprintf("**%d** (step %d of %d)", p, i+1, len(steps))
		}
	}
	return strings.Join(parts, " → ")
}

// outputsFile is the file a check command read its outputs from
// (--outputs FILE or --outputs=FILE), or "".
func outputsFile(command string) string {
	fields := strings.Fields(command)
	for i, f := range fields {
		switch {
		case (f == "--outputs" || f == "-outputs") && i+1 < len(fields):
			return fields[i+1]
		case strings.HasPrefix(f, "--outputs="), strings.HasPrefix(f, "-outputs="):
			_, v, _ := strings.Cut(f, "=")
			return v
		}
	}
	return ""
}
