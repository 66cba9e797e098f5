package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/cli/clitest"
	"github.com/modelrollouts/modelrollouts/internal/labtest"
)

func writeOutputs(t *testing.T, lab *labtest.Lab) string {
	t.Helper()
	b, err := json.Marshal(lab.Outputs)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "outputs.json")
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestCommandPassesCorrectCanaryAsJSON(t *testing.T) {
	t.Parallel()
	lab := labtest.NewCanary(t, []labtest.Version{{Name: "v1", Target: "one"}, {Name: "v2", Target: "two", Bias: 1}},
		map[string]int{"v1": 90, "v2": 10}, 1)
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"--outputs", writeOutputs(t, lab), "--json", "--wake-timeout", "5s"}, &out, &errb, false)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	var rep struct {
		Pass bool `json:"pass"`
		N    int  `json:"n"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || !rep.Pass || rep.N == 0 {
		t.Fatalf("JSON report %+v (%v):\n%s", rep, err, out.String())
	}
	// Not a terminal: progress is plain lines, never carriage returns.
	if strings.Contains(errb.String(), "\r") || !strings.Contains(errb.String(), "requests") {
		t.Errorf("progress on a non-terminal stderr: %q", errb.String())
	}
}

func TestCommandFailsWrongSplit(t *testing.T) {
	t.Parallel()
	lab := labtest.NewCanary(t, []labtest.Version{{Name: "v1", Target: "one"}, {Name: "v2", Target: "two", Bias: 1}},
		map[string]int{"v1": 90, "v2": 10}, 2)
	lab.Proxy.SetWeights(map[string]float64{"v1": 80, "v2": 20})
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"--outputs", writeOutputs(t, lab), "--n", "400", "--concurrency", "4"}, &out, &errb, true)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "FAIL") || !strings.Contains(out.String(), "N=400 user requests (set by --n)") {
		t.Errorf("report:\n%s", out.String())
	}
	if !strings.Contains(errb.String(), "\r") {
		t.Errorf("no redrawn progress bar on a terminal: %q", errb.String())
	}
}

func TestCommandUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{},
		{"--stack", "dev", "extra"},
		{"--outputs", "x.json", "--margin", "0"},
		{"--outputs", "x.json", "--alpha", "0.7"},
		{"--outputs", filepath.Join(t.TempDir(), "missing.json")},
		{"--bogus"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, &out, &errb, false); code != 2 {
			t.Errorf("%q: exit %d, want 2 (%s)", args, code, errb.String())
		}
	}
}

func TestHelpListsTheExitStatuses(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, &out, &errb, false); code != 0 {
		t.Fatalf("--help exited %d", code)
	}
	for _, want := range []string{"exit status:", "  0  pass", "  1  fail", "  2  the run could not be made"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help lacks %q:\n%s", want, out.String())
		}
	}
	if problems := clitest.Problems("smoke", out.String()); len(problems) > 0 || errb.Len() > 0 {
		t.Errorf("-h breaks the convention: %q; stderr %q", problems, errb.String())
	}
}

func TestCommandRefusesAMeshOnlyStackFromOutside(t *testing.T) {
	t.Parallel()
	lab := labtest.NewShadow(t, labtest.Version{Name: "v1", Target: "one"}, labtest.Version{Name: "v2", Target: "two"}, 50, 3)
	lab.Outputs.BindTo = "mesh"
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--outputs", writeOutputs(t, lab)}, &out, &errb, false); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	if !strings.Contains(errb.String(), "--from-cluster") {
		t.Errorf("stderr %q does not say how to check a mesh-only stack", errb.String())
	}
}

func TestCommandFromTheClusterNeedsInClusterRouting(t *testing.T) {
	t.Parallel()
	lab := labtest.NewShadow(t, labtest.Version{Name: "v1", Target: "one"}, labtest.Version{Name: "v2", Target: "two"}, 50, 4)
	lab.Outputs.BindTo = "gateway"
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"--outputs", writeOutputs(t, lab), "--from-cluster"}, &out, &errb, false)
	if code != 2 || !strings.Contains(errb.String(), "inCluster") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}

func TestOnlyTheChecksFlagsReachTheJob(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("smoke", flag.ContinueOnError)
	fs.String("stack", "", "")
	fs.Bool("from-cluster", false, "")
	fs.Float64("margin", 5, "")
	fs.Bool("json", false, "")
	fs.Duration("timeout", time.Minute, "")
	fs.String("path", "", "")
	fs.String("body", "", "")
	// --body names the caller's file: its content goes in the Job's env.
	if err := fs.Parse([]string{"--stack", "shadow", "--from-cluster", "--margin", "3", "--json", "--timeout", "2m",
		"--path", "/v2/models/model/infer", "--body", "infer.json"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(passThrough(fs), " "); got != "--json=true --margin=3 --path=/v2/models/model/infer" {
		t.Errorf("pass-through %q", got)
	}
}
