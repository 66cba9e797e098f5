package cli_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/gate"
	"github.com/modelrollouts/modelrollouts/internal/measure"
	"github.com/modelrollouts/modelrollouts/internal/rollout"
	"github.com/modelrollouts/modelrollouts/internal/smoke"
)

var nanosecondKey = regexp.MustCompile(`"[A-Za-z_]*(Ns|_ns)"`)

// The reports `smoke --json` and `rollout check --json` print held their
// durations in Go's nanoseconds (elapsed_ns, ready_ns, elapsedNs, maxP99
// 500000000); they hold milliseconds or duration strings now.
func TestReportsHoldDurationsInMillisecondsOrStrings(t *testing.T) {
	sm, err := json.Marshal(smoke.Report{Elapsed: 1500 * time.Millisecond,
		Wait: []measure.WaitResult{{Host: "h", Ready: 2 * time.Second, FirstAnswer: 250500 * time.Microsecond, OK: true}}})
	if err != nil {
		t.Fatal(err)
	}
	rep := rollout.Report{Candidate: "v2", Elapsed: 42 * time.Millisecond, Settings: gate.DefaultSettings, Result: &gate.Result{}}
	ro, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		json  []byte
		wants []string
	}{
		{sm, []string{`"elapsed_ms":1500`, `"ready_ms":2000`, `"first_answer_ms":250.5`}},
		{ro, []string{`"elapsedMs":42`, `"maxP99":"500ms"`}},
	} {
		if k := nanosecondKey.FindString(string(c.json)); k != "" {
			t.Errorf("a duration in nanoseconds, %s, in %s", k, c.json)
		}
		for _, w := range c.wants {
			if !strings.Contains(string(c.json), w) {
				t.Errorf("%s lacks %s", c.json, w)
			}
		}
	}
	// The evidence advance and rollback read back keeps the gate's settings,
	// and an older report's nanoseconds still read.
	back, err := rollout.ReadReport(ro)
	if err != nil || back.Settings != gate.DefaultSettings {
		t.Errorf("read back %+v, %v", back.Settings, err)
	}
	old := strings.Replace(string(ro), `"maxP99":"500ms"`, `"maxP99":500000000`, 1)
	if back, err := rollout.ReadReport([]byte(old)); err != nil || back.Settings.MaxP99 != 500*time.Millisecond {
		t.Errorf("an older report: %+v, %v", back, err)
	}
}
