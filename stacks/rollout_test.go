package stacks

import (
	"reflect"
	"testing"
)

const pRollout = pCanary + ".rollout"

// withRollout is the dev stack's shape with a rollout of v2.
func withRollout(r *RolloutConfig) *Config {
	c := baseCanary()
	c.Canary.Rollout = r
	return c
}

func TestRolloutDefaults(t *testing.T) {
	c := withRollout(&RolloutConfig{Candidate: "v2"})
	if errs := validationErrors(t, c); len(errs) > 0 {
		t.Fatalf("problems: %v", errs)
	}
	r := c.Canary.Rollout
	if r.Baseline != "v1" {
		t.Errorf("baseline = %q, want v1: the other version with the most traffic", r.Baseline)
	}
	if !reflect.DeepEqual(r.Steps, []int{5, 10, 25, 50, 100}) {
		t.Errorf("steps = %v, want the default ladder", r.Steps)
	}
	g := r.Gate
	for name, got := range map[string]float64{
		"minSuccessRate": *g.MinSuccessRate, "maxP99Ms": *g.MaxP99Ms, "maxLatencyIncrease": *g.MaxLatencyIncrease,
		"maxErrorIncrease": *g.MaxErrorIncrease, "alpha": *g.Alpha, "power": *g.Power, "minRequests": float64(*g.MinRequests),
		"warmupRequests": float64(*g.WarmupRequests),
	} {
		want := map[string]float64{
			"minSuccessRate": 0.99, "maxP99Ms": 500, "maxLatencyIncrease": 0.25, "maxErrorIncrease": 0.2,
			"alpha": 0.02, "power": 0.95, "minRequests": 100, "warmupRequests": 500,
		}[name]
		if got != want {
			t.Errorf("gate.%s = %g, want %g", name, got, want)
		}
	}
}

func TestRolloutBaselineDefaultsToTheBusiestOtherVersion(t *testing.T) {
	c := baseCanary()
	c.Canary.Versions[0].Percent = ptr(30)
	c.Canary.Versions[1].Percent = ptr(10)
	c.Canary.Versions = append(c.Canary.Versions, CanaryVersion{ModelSettings: ModelSettings{Name: "v3", Target: "model v3"}, Percent: ptr(60)})
	c.Canary.Rollout = &RolloutConfig{Candidate: "v2", Steps: []int{10, 40}}
	if errs := validationErrors(t, c); len(errs) > 0 {
		t.Fatalf("problems: %v", errs)
	}
	if got := c.Canary.Rollout.Baseline; got != "v3" {
		t.Fatalf("baseline = %q, want v3 (60%%)", got)
	}
}

func TestRolloutRules(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		wants  []want
	}{
		{"candidate missing", func(c *Config) { c.Canary.Rollout.Candidate = "" },
			[]want{{pRollout + ".candidate", "required"}}},
		{"candidate unknown", func(c *Config) { c.Canary.Rollout.Candidate = "v9" },
			[]want{{pRollout + ".candidate", `unknown version "v9", want v1 or v2`}}},
		{"baseline unknown", func(c *Config) { c.Canary.Rollout.Baseline = "v0" },
			[]want{{pRollout + ".baseline", `unknown version "v0"`}}},
		{"baseline is the candidate", func(c *Config) { c.Canary.Rollout.Baseline = "v2" },
			[]want{{pRollout + ".baseline", "must be another version"}}},
		{"no other version", func(c *Config) {
			c.Canary.Versions = c.Canary.Versions[1:]
			c.Canary.Versions[0].Percent = ptr(100)
		}, []want{{pRollout + ".baseline", "required"}}},
		{"empty ladder", func(c *Config) { c.Canary.Rollout.Steps = []int{} },
			[]want{{pRollout + ".steps", "required"}}},
		{"step out of range", func(c *Config) { c.Canary.Rollout.Steps = []int{0, 50, 101} },
			[]want{{pRollout + ".steps[0]", "want 1 to 100"}, {pRollout + ".steps[2]", "want 1 to 100"}}},
		{"ladder goes down", func(c *Config) { c.Canary.Rollout.Steps = []int{10, 50, 25, 25} },
			[]want{{pRollout + ".steps[2]", "not above steps[1]"}, {pRollout + ".steps[3]", "not above steps[2]"}}},
		{"gate out of range", func(c *Config) {
			g := &c.Canary.Rollout.Gate
			g.MinSuccessRate, g.MaxP99Ms, g.MaxLatencyIncrease = ptr(1.0), ptr(0.0), ptr(0.0)
			g.Alpha, g.Power, g.MinRequests = ptr(0.5), ptr(1.0), ptr(5)
			g.MaxErrorIncrease, g.WarmupRequests = ptr(0.0), ptr(-1)
		}, []want{
			{pRollout + ".gate.minSuccessRate", "1 is out of range"},
			{pRollout + ".gate.maxP99Ms", "positive"},
			{pRollout + ".gate.maxLatencyIncrease", "above 0"},
			{pRollout + ".gate.maxErrorIncrease", "0 is out of range, want failure-rate points above 0"},
			{pRollout + ".gate.alpha", "below 0.5"},
			{pRollout + ".gate.power", "below 1"},
			{pRollout + ".gate.minRequests", "10 or more"},
			{pRollout + ".gate.warmupRequests", "-1 is out of range, want 0 (no warm-up) to 100000 requests per version"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := withRollout(&RolloutConfig{Candidate: "v2"})
			tc.mutate(c)
			assertProblems(t, validationErrors(t, c), tc.wants)
		})
	}
}

func TestRolloutStepsMustLeaveRoomForOtherVersions(t *testing.T) {
	c := baseCanary()
	c.Canary.Versions[0].Percent = ptr(70)
	c.Canary.Versions = append(c.Canary.Versions, CanaryVersion{ModelSettings: ModelSettings{Name: "v3", Target: "model v3"}, Percent: ptr(20)})
	c.Canary.Rollout = &RolloutConfig{Candidate: "v2", Baseline: "v1"}
	assertProblems(t, validationErrors(t, c), []want{
		{pRollout + ".steps[4]", "leaves no room for the 20% other versions hold, want at most 80"},
	})
}

func TestLoadRolloutBlockAsPulumiConfigSetPathStoresIt(t *testing.T) {
	// `pulumi config set --path canary.rollout.gate.alpha 0.05` stores a
	// typed number, without --type a string; both load.
	c, err := loadYAML(t, `config:
  modelrollouts:strategy: canary
  modelrollouts:canary:
    versions:
      - {name: v1, target: a, percent: 95}
      - {name: v2, target: b, percent: 5}
    rollout:
      candidate: v2
      steps: ["5", 20, "100"]
      gate:
        alpha: "0.05"
        minRequests: 200
        maxErrorIncrease: 0.5
`)
	if err != nil {
		t.Fatal(err)
	}
	r := c.Canary.Rollout
	if *r.Gate.Alpha != 0.05 || *r.Gate.MinRequests != 200 || *r.Gate.MaxErrorIncrease != 0.5 || !reflect.DeepEqual(r.Steps, []int{5, 20, 100}) {
		t.Fatalf("rollout = %+v, gate alpha %g", r, *r.Gate.Alpha)
	}
	_, err = loadYAML(t, `config:
  modelrollouts:strategy: canary
  modelrollouts:canary:
    versions:
      - {name: v1, target: a, percent: 95}
      - {name: v2, target: b, percent: 5}
    rollout:
      candidate: v2
      gate: {alpah: 0.05}
`)
	assertProblems(t, fieldErrors(t, err), []want{{pRollout + ".gate.alpah", "unknown field"}})
}

func TestDevStackShipsARolloutOfV2At10Percent(t *testing.T) {
	c := mustLoadFile(t, "dev")
	r := c.Canary.Rollout
	if r == nil || r.Candidate != "v2" || r.Baseline != "v1" || !reflect.DeepEqual(r.Steps, DefaultSteps) {
		t.Fatalf("dev rollout = %+v, want v2 against v1 on the default ladder", r)
	}
	pos := PositionOf(r.Steps, *c.Canary.Version("v2").Percent)
	if pos != (Position{Percent: 10, Step: 1, Next: 25}) {
		t.Fatalf("position = %+v, want 10%% (step 2 of 5), next 25%%", pos)
	}
}

func TestPositionOf(t *testing.T) {
	steps := []int{5, 10, 25, 50, 100}
	for _, tc := range []struct {
		percent int
		want    Position
	}{
		{0, Position{0, -1, 5}},
		{5, Position{5, 0, 10}},
		{7, Position{7, -1, 10}},
		{100, Position{100, 4, -1}},
	} {
		if got := PositionOf(steps, tc.percent); got != tc.want {
			t.Errorf("PositionOf(%d) = %+v, want %+v", tc.percent, got, tc.want)
		}
	}
}
