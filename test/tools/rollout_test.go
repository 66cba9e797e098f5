//go:build slow

package tools

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRolloutReadsWhatPulumiConfigSetPathWrites: the rollout block set
// with the real Pulumi CLI, as the README says (`pulumi config set --path`,
// which stores whole numbers typed and, without --type, other numbers as
// strings), loads, and `rollout advance` then edits only the two percents
// of the file the CLI wrote.
func TestRolloutReadsWhatPulumiConfigSetPathWrites(t *testing.T) {
	cli := findPulumiCLI(t)
	dir := clone(t)
	env := append([]string{"PATH=" + filepath.Dir(cli) + string(os.PathListSeparator) + os.Getenv("PATH"),
		"PULUMI_HOME=" + t.TempDir()}, makeEnv...)
	if r := command(t, dir, env, "make", "stack", "STACK=dev"); r.code != 0 {
		t.Fatalf("make stack exited %d:\n%s", r.code, r.stderr)
	}
	set := "source hack/lib/pulumi-env.sh"
	for _, kv := range [][2]string{
		{"canary.rollout.steps[0]", "10"}, {"canary.rollout.steps[1]", "40"}, {"canary.rollout.steps[2]", "100"},
		{"canary.rollout.gate.alpha", "0.05"}, {"canary.rollout.gate.minRequests", "200"}, {"canary.rollout.gate.maxP99Ms", "750"},
		{"canary.rollout.gate.warmupRequests", "300"},
	} {
		set += " && pulumi config set --stack dev --path '" + kv[0] + "' " + kv[1]
	}
	set += " && pulumi config set --stack dev --path canary.rollout.gate.power 0.9 --type float"
	if r := command(t, dir, env, "bash", "-c", set); r.code != 0 {
		t.Fatalf("pulumi config set failed (%d):\n%s", r.code, r.stderr)
	}
	stackFile := filepath.Join(dir, "Pulumi.dev.yaml")
	written, err := os.ReadFile(stackFile)
	if err != nil {
		t.Fatal(err)
	}
	// Both spellings are in the file, so both are what the loader reads.
	for _, want := range []string{`alpha: "0.05"`, "minRequests: 200", "warmupRequests: 300", "power: 0.9", "- 40"} {
		if !strings.Contains(string(written), want) {
			t.Fatalf("the CLI did not write %q:\n%s", want, written)
		}
	}

	bin := filepath.Join(t.TempDir(), "rollout")
	if r := command(t, repoRoot(t), nil, "go", "build", "-o", bin, "./cmd/rollout"); r.code != 0 {
		t.Fatalf("go build ./cmd/rollout: %s", r.stderr)
	}
	r := command(t, dir, nil, bin, "status", "--stack", "dev", "--json")
	var st struct {
		Status struct {
			Steps    []int `json:"steps"`
			Position struct{ Percent, Step, Next int }
		} `json:"status"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &st) != nil {
		t.Fatalf("rollout status exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	if p := st.Status.Position; len(st.Status.Steps) != 3 || p.Percent != 10 || p.Step != 0 || p.Next != 40 {
		t.Fatalf("status %+v, want v2 at 10%% (step 1 of 10, 40, 100), next 40%%", st.Status)
	}
	if r := command(t, dir, nil, bin, "advance", "--stack", "dev", "--no-evidence"); r.code != 0 || !strings.HasPrefix(r.stdout, "rollout(dev): v2 10% → 40%") {
		t.Fatalf("rollout advance exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	after, err := os.ReadFile(stackFile)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(strings.Replace(string(written), "percent: 90", "percent: 60", 1), "percent: 10", "percent: 40", 1)
	if string(after) != want {
		t.Fatalf("after advance:\n%s\nwant only the two percents changed:\n%s", after, want)
	}
}
