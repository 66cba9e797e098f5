package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The rollout workflow's contract (actionlint checks its syntax and shell
// in make lint): on a schedule and by hand it runs the gate, then advance
// or rollback on the gate's evidence, then opens a PR with the body the
// command wrote, and nothing in it applies a change to a cluster.
func TestTheRolloutWorkflowChecksStepsAndOpensAPRWithoutApplying(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", ".github", "workflows", "rollout.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		On   map[string]any `yaml:"on"`
		Jobs map[string]struct {
			Steps []struct {
				Name string `yaml:"name"`
				If   string `yaml:"if"`
				Run  string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatal(err)
	}
	for _, trigger := range []string{"workflow_dispatch", "schedule"} {
		if _, ok := wf.On[trigger]; !ok {
			t.Errorf("the workflow is not triggered by %s", trigger)
		}
	}
	// Each stage, in this order, in steps of their own.
	stages := []struct {
		name string
		run  *regexp.Regexp
	}{
		{"the gate", regexp.MustCompile(`args=\(check --outputs outputs\.json --json\).*go run ./cmd/rollout "\$\{args\[@\]\}"`)},
		{"advance or rollback with the gate's evidence", regexp.MustCompile(`go run ./cmd/rollout "\$action" .*--evidence verdict\.json`)},
		{"gh pr create with the written body", regexp.MustCompile(`gh pr create .*--body-file pr-body\.md`)},
	}
	applies := regexp.MustCompile(`pulumi (up|update|destroy|refresh|config set)|make (up|down)|kubectl (apply|patch|edit|scale)|git push origin (main|master|HEAD:)`)
	next := 0
	for _, job := range wf.Jobs {
		for _, st := range job.Steps {
			run := strings.Join(strings.Fields(strings.ReplaceAll(st.Run, "\\\n", " ")), " ")
			if applies.MatchString(run) {
				t.Errorf("step %q applies a change without review: %s", st.Name, applies.FindString(run))
			}
			if next < len(stages) && stages[next].run.MatchString(run) {
				next++
			}
		}
	}
	if next < len(stages) {
		t.Errorf("the workflow lacks %s (after the stages before it)", stages[next].name)
	}
}
