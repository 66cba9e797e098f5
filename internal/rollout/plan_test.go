package rollout

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelrollouts/modelrollouts/internal/stackedit"
	"github.com/modelrollouts/modelrollouts/stacks"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want := readFile(t, path); !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// changedLines lists the lines that differ between two texts of the same
// line count (a percent edit never adds or removes a line).
func changedLines(t *testing.T, a, b []byte) []string {
	t.Helper()
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	if len(la) != len(lb) {
		t.Fatalf("line count changed from %d to %d", len(la), len(lb))
	}
	var out []string
	for i := range la {
		if la[i] != lb[i] {
			out = append(out, lb[i])
		}
	}
	return out
}

func TestAdvanceAndRollbackGoldens(t *testing.T) {
	for _, tc := range []struct {
		in, golden string
		plan       func(*stacks.Config) (*Step, error)
		changed    int // lines the edit may touch
		after      map[string]int
	}{
		{"dev.yaml", "dev.advance.golden", PlanAdvance, 2, map[string]int{"v1": 75, "v2": 25}},
		{"dev.yaml", "dev.rollback.golden", PlanRollback, 2, map[string]int{"v1": 100, "v2": 0}},
		{"three-versions.yaml", "three-versions.advance.golden", PlanAdvance, 2, map[string]int{"stable": 50, "shadowy": 20, "next": 30}},
		{"three-versions.yaml", "three-versions.rollback.golden", PlanRollback, 2, map[string]int{"stable": 80, "shadowy": 20, "next": 0}},
		// The last step: the candidate takes everything, the baseline keeps
		// its (0%) entry and tag.
		{"top.yaml", "top.advance.golden", PlanAdvance, 2, map[string]int{"v1": 0, "v2": 100}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			in := readFile(t, filepath.Join("testdata", tc.in))
			step, out, err := EditStackFile(in, tc.plan)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.golden, out)
			if lines := changedLines(t, in, out); len(lines) != tc.changed {
				t.Errorf("changed lines %q, want exactly %d (the two percents)", lines, tc.changed)
			}
			cfg, err := stackedit.LoadBytes(out)
			if err != nil {
				t.Fatalf("after-state does not load: %v", err)
			}
			for name, want := range tc.after {
				if v := cfg.Canary.Version(name); *v.Percent != want || v.Tag == "" {
					t.Errorf("%s: percent %d tag %q, want %d and still tagged", name, *v.Percent, v.Tag, want)
				}
				if step.After[name] != want {
					t.Errorf("step.After[%s] = %d, want %d", name, step.After[name], want)
				}
			}
		})
	}
}

func TestCommentsAndQuotingSurviveAnEdit(t *testing.T) {
	in := readFile(t, filepath.Join("testdata", "three-versions.yaml"))
	_, out, err := EditStackFile(in, PlanAdvance)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`percent: "50"     # quoted by hand; stays quoted`,
		`percent: 30 # canary share`,
		`{name: shadowy, target: old model, percent: 20}   # not in the rollout`,
		`other:key: untouched # another namespace`,
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("after the edit the file lacks %q:\n%s", want, out)
		}
	}
}

func TestNothingToAdvanceAtTheTopNorToRollBackAtZero(t *testing.T) {
	top, _, err := EditStackFile(readFile(t, filepath.Join("testdata", "top.yaml")), PlanAdvance)
	if err != nil {
		t.Fatal(err)
	}
	_ = top
	atTop := readFile(t, filepath.Join("testdata", "top.advance.golden"))
	if _, _, err := EditStackFile(atTop, PlanAdvance); err == nil || !strings.Contains(err.Error(), "top of its ladder") {
		t.Errorf("advance at 100%%: %v, want 'top of its ladder'", err)
	}
	rolledBack := readFile(t, filepath.Join("testdata", "dev.rollback.golden"))
	if _, _, err := EditStackFile(rolledBack, PlanRollback); err == nil || !strings.Contains(err.Error(), "already has 0%") {
		t.Errorf("rollback at 0%%: %v, want 'already has 0%%'", err)
	}
	// From 0% (after a rollback) advance starts the ladder again.
	s, _, err := EditStackFile(rolledBack, PlanAdvance)
	if err != nil || s.After["v2"] != 5 {
		t.Errorf("advance from 0%%: %+v, %v; want 5%%", s, err)
	}
}

// An edit whose after-state the program would reject is refused, whatever
// asks for it: SetPercents re-loads the result before returning it.
func TestAnInvalidAfterStateIsImpossible(t *testing.T) {
	in := readFile(t, filepath.Join("testdata", "dev.yaml"))
	for _, change := range []map[string]int{
		{"v2": 30},            // percents would sum to 120
		{"v2": 101, "v1": -1}, // out of range
		{"v3": 10},            // no such version
	} {
		if out, err := stackedit.SetPercents(in, change); err == nil {
			t.Errorf("SetPercents(%v) succeeded:\n%s", change, out)
		}
	}
	// A stack without a rollout block has nothing to advance.
	noRollout := bytes.Replace(in, []byte("    rollout:\n      candidate: v2\n"), nil, 1)
	if _, _, err := EditStackFile(noRollout, PlanAdvance); err == nil || !strings.Contains(err.Error(), "canary.rollout.candidate") {
		t.Errorf("advance without a rollout: %v, want how to start one", err)
	}
	// An invalid file is refused before any plan.
	broken := bytes.Replace(in, []byte("percent: 90"), []byte("percent: 95"), 1)
	if _, _, err := EditStackFile(broken, PlanAdvance); err == nil || !strings.Contains(err.Error(), "percents sum to 105") {
		t.Errorf("advance of an invalid stack: %v, want the config problem", err)
	}
}

func TestStatusOfTheDevStack(t *testing.T) {
	cfg, err := stackedit.LoadBytes(readFile(t, filepath.Join("testdata", "dev.yaml")))
	if err != nil {
		t.Fatal(err)
	}
	st, err := StatusOf(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Candidate != "v2" || st.Baseline != "v1" || st.Position != (stacks.Position{Percent: 10, Step: 1, Next: 25}) {
		t.Fatalf("status %+v", st)
	}
}

// Stack files as people and `pulumi config set --path` write them: an
// advance rewrites exactly the two numbers, whatever surrounds them, and
// what it writes loads with the percents it planned.
func TestAdvanceEditsOnlyThePercentsOfFilesWrittenAnyWay(t *testing.T) {
	const rollout = "    rollout:\n      candidate: v2\n"
	for _, tc := range []struct {
		name, in, want string
	}{
		{"flow-style list on one line, mixed quoting, a comment after it",
			"config:\n  modelrollouts:strategy: \"canary\"\n  modelrollouts:canary:\n    versions: [{name: v1, target: \"model v1\", percent: '90'}, {name: v2,target: model v2,percent: 10}]  # both\n" + rollout,
			"config:\n  modelrollouts:strategy: \"canary\"\n  modelrollouts:canary:\n    versions: [{name: v1, target: \"model v1\", percent: '75'}, {name: v2,target: model v2,percent: 25}]  # both\n" + rollout},
		{"CRLF line ends and comments on the percent lines",
			"config:\r\n  modelrollouts:strategy: canary\r\n  modelrollouts:canary:\r\n    versions:\r\n      - name: v1\r\n        target: model v1\r\n        percent: 90 # stable\r\n      - name: v2\r\n        target: model v2\r\n        percent: 10\t# canary\r\n    rollout:\r\n      candidate: v2\r\n",
			"config:\r\n  modelrollouts:strategy: canary\r\n  modelrollouts:canary:\r\n    versions:\r\n      - name: v1\r\n        target: model v1\r\n        percent: 75 # stable\r\n      - name: v2\r\n        target: model v2\r\n        percent: 25\t# canary\r\n    rollout:\r\n      candidate: v2\r\n"},
		{"an explicit tag and a comment between key and value",
			"config:\n  modelrollouts:strategy: canary\n  modelrollouts:canary:\n    versions:\n      - name: v2\n        target: model v2\n        percent: !!int 10\n      - name: v1\n        target: model v1\n        percent: # most users\n          90\n" + rollout,
			"config:\n  modelrollouts:strategy: canary\n  modelrollouts:canary:\n    versions:\n      - name: v2\n        target: model v2\n        percent: !!int 25\n      - name: v1\n        target: model v1\n        percent: # most users\n          75\n" + rollout},
		{"rollout values typed and quoted as pulumi config set --path stores them",
			"config:\n  modelrollouts:strategy: canary\n  modelrollouts:canary:\n    versions:\n      - name: v1\n        target: \"percent: 90\"\n        percent: 90\n      - name: v2\n        target: model v2\n        percent: 10\n    rollout:\n      candidate: v2\n      gate:\n        alpha: \"0.05\"\n        power: 0.9\n        minRequests: 200\n      steps:\n        - 5\n        - \"10\"\n        - 40\n",
			"config:\n  modelrollouts:strategy: canary\n  modelrollouts:canary:\n    versions:\n      - name: v1\n        target: \"percent: 90\"\n        percent: 60\n      - name: v2\n        target: model v2\n        percent: 40\n    rollout:\n      candidate: v2\n      gate:\n        alpha: \"0.05\"\n        power: 0.9\n        minRequests: 200\n      steps:\n        - 5\n        - \"10\"\n        - 40\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			step, out, err := EditStackFile([]byte(tc.in), PlanAdvance)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.want {
				t.Fatalf("after the edit:\n%q\nwant:\n%q", out, tc.want)
			}
			cfg, err := stackedit.LoadBytes(out)
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range step.After {
				if got := *cfg.Canary.Version(name).Percent; got != want {
					t.Errorf("%s: %d%% after loading, want %d%%", name, got, want)
				}
			}
		})
	}
}
