package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelrollouts/modelrollouts/internal/labtest"
	"github.com/modelrollouts/modelrollouts/internal/rollout"
)

// Latencies the model-echo processes inject: clear of timer noise on a
// shared machine, short enough for a fast test.
const baseLatencyMS = 10

func rollout2(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr, false)
	return code, stdout.String(), stderr.String()
}

// checkArgs are a check of the lab's outputs with enough requests in
// flight for a short test; more flags follow.
func checkArgs(outputs string, more ...string) []string {
	return append([]string{"check", "--outputs", outputs, "--concurrency", "16"}, more...)
}

// lab starts v1 (baseline, 90%) and v2 (candidate, 10%) and writes their
// outputs to a file.
func lab(t *testing.T, v2 labtest.ProcessVersion) (*labtest.ProcessLab, string) {
	t.Helper()
	v2.Name = "v2"
	l := labtest.StartProcesses(t, []labtest.ProcessVersion{{Name: "v1", LatencyMS: baseLatencyMS}, v2},
		map[string]int{"v1": 90, "v2": 10}, "v2", "v1")
	path := filepath.Join(t.TempDir(), "outputs.json")
	l.WriteOutputs(t, path)
	return l, path
}

// copyDevStack copies the repository's Pulumi.dev.yaml into a project
// folder of its own.
func copyDevStack(t *testing.T) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	data, err := os.ReadFile(filepath.Join("..", "..", "Pulumi.dev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, "Pulumi.dev.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, path
}

func TestRollbackAndStatus(t *testing.T) {
	t.Parallel()
	dir, path := copyDevStack(t)
	code, out, errOut := rollout2(t, "status", "--stack", "dev", "--cwd", dir)
	if code != 0 || !strings.Contains(out, "v2 at 10% — step 2 of 5 on 5 → [10] → 25 → 50 → 100") || !strings.Contains(out, "next: 25%") {
		t.Fatalf("status exit %d:\n%s%s", code, out, errOut)
	}
	code, out, errOut = rollout2(t, "rollback", "--stack", "dev", "--cwd", dir, "--no-evidence")
	if code != 0 || !strings.Contains(out, "rollout(dev): roll back v2 (10% → 0%)") || !strings.Contains(out, "No gate evidence was attached") {
		t.Fatalf("rollback exit %d:\n%s%s", code, out, errOut)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Contains(after, []byte("percent: 0\n")) || !bytes.Contains(after, []byte("percent: 100\n")) {
		t.Fatalf("after rollback:\n%s", after)
	}
	code, out, _ = rollout2(t, "status", "--stack", "dev", "--cwd", dir)
	if code != 0 || !strings.Contains(out, "v2 at 0% — not started, or rolled back") {
		t.Fatalf("status after rollback:\n%s", out)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{}, {"promote"}, {"check"}, {"check", "--outputs", "/nonexistent.json"}, {"advance"}, {"check", "--bogus"},
	} {
		if code, _, _ := rollout2(t, args...); code != rollout.ExitError {
			t.Errorf("rollout %q exit %d, want 2", args, code)
		}
	}
}
