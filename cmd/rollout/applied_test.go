package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelrollouts/modelrollouts/internal/rollout"
)

// deployedOutputs writes outputs of the dev stack deployed at v1/v2
// percents, with an ingress nothing listens on.
func deployedOutputs(t *testing.T, v1, v2 int) string {
	t.Helper()
	data, err := json.Marshal(map[string]any{
		"strategy": "canary", "ingressUrl": "http://127.0.0.1:9", "host": "model.default.example.com",
		"versions": map[string]any{
			"v1": map[string]any{"target": "model v1", "host": "v1-model.default.example.com"},
			"v2": map[string]any{"target": "model v2", "host": "v2-model.default.example.com"},
		},
		"split":   map[string]int{"v1": v1, "v2": v2},
		"rollout": map[string]any{"candidate": "v2", "baseline": "v1", "steps": []int{5, 10, 25, 50, 100}},
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "outputs.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// A merged step that `pulumi up` has not applied: the file says 90/10, the
// cluster still runs 95/5. The gate does not judge the old split (its PR
// would move the new file a step further): it says so and exits 3, in the
// JSON the rollout workflow reads too.
func TestCheckRefusesToJudgeAStepNotYetApplied(t *testing.T) {
	dir, _ := copyDevStack(t)
	outputs := deployedOutputs(t, 95, 5)
	code, out, errOut := rollout2(t, "check", "--stack", "dev", "--cwd", dir, "--outputs", outputs)
	if code != rollout.ExitInconclusive {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, rollout.ExitInconclusive, out, errOut)
	}
	for _, want := range []string{"NOT APPLIED", "Pulumi.dev.yaml", "v2 deployed at 5%, the file says 10%", "pulumi up"} {
		if !strings.Contains(out, want) {
			t.Errorf("the verdict lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = rollout2(t, "check", "--stack", "dev", "--cwd", dir, "--outputs", outputs, "--json")
	var v struct{ Verdict, Reason string }
	if err := json.Unmarshal([]byte(out), &v); err != nil || code != rollout.ExitInconclusive {
		t.Fatalf("exit %d, JSON %v:\n%s", code, err, out)
	}
	if v.Verdict != "not-applied" || !strings.Contains(v.Reason, "not at the step") {
		t.Errorf("JSON verdict %q, reason %q", v.Verdict, v.Reason)
	}
	if _, err := rollout.ReadReport([]byte(out)); err == nil {
		t.Error("advance or rollback would take the not-applied answer as a gate report")
	}
}

// At the file's step the check goes on to measure (here it finds no
// answering ingress: an error, exit 2, not a refusal).
func TestCheckAtTheFilesStepGoesOnToMeasure(t *testing.T) {
	dir, _ := copyDevStack(t)
	outputs := deployedOutputs(t, 90, 10)
	code, out, errOut := rollout2(t, "check", "--stack", "dev", "--cwd", dir, "--outputs", outputs,
		"--wake-timeout", "100ms", "--timeout", "5s")
	if code != rollout.ExitError || strings.Contains(out+errOut, "NOT APPLIED") || !strings.Contains(errOut, "gave no answer") {
		t.Fatalf("exit %d, want 2 from the probes\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

// A named stack without its file is an error, not a silent skip.
func TestCheckOfAStackWithoutItsFileIsAnError(t *testing.T) {
	code, _, errOut := rollout2(t, "check", "--stack", "nosuch", "--cwd", t.TempDir(), "--outputs", deployedOutputs(t, 90, 10))
	if code != rollout.ExitError || !strings.Contains(errOut, "Pulumi.nosuch.yaml") {
		t.Fatalf("exit %d:\n%s", code, errOut)
	}
}
