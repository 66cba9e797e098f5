package stacks

// RolloutConfig is a progressive rollout of one canary version: the
// candidate climbs a ladder of percents, one reviewed config change per
// step, each step judged by the rollout gate (cmd/rollout) against the
// baseline. Pulumi stays the only writer of the traffic split.
type RolloutConfig struct {
	// Candidate names the version being rolled out.
	Candidate string `json:"candidate"`
	// Baseline names the version the candidate is judged against and
	// takes traffic from; default: the other version with the most traffic.
	Baseline string `json:"baseline,omitempty"`
	// Steps are the candidate's percents, in order; default 5, 10, 25, 50, 100.
	Steps []int `json:"steps,omitempty"`
	// Gate decides whether the candidate may take the next step.
	Gate GateConfig `json:"gate"`
}

// GateConfig holds the gate's thresholds. Unset fields take the defaults
// below (pointers, so an explicit 0 is an error rather than the default).
type GateConfig struct {
	// MinSuccessRate is the share of non-5xx answers every version must
	// keep (an absolute SLO).
	MinSuccessRate *float64 `json:"minSuccessRate,omitempty"`
	// MaxP99Ms is the p99 latency every version must keep, in ms.
	MaxP99Ms *float64 `json:"maxP99Ms,omitempty"`
	// MaxLatencyIncrease is how much slower than the baseline the
	// candidate may be (0.25 = 25%, the Hodges-Lehmann shift of latency).
	MaxLatencyIncrease *float64 `json:"maxLatencyIncrease,omitempty"`
	// MaxErrorIncrease is how much more often than the baseline the
	// candidate may fail, in absolute points of failure rate (0.2 = the
	// candidate failing 0.7% where the baseline fails 0.5%): it is promoted
	// only when shown within it.
	MaxErrorIncrease *float64 `json:"maxErrorIncrease,omitempty"`
	// MinRequests per version before any verdict.
	MinRequests *int `json:"minRequests,omitempty"`
	// WarmupRequests per version are sent, and not counted, before the
	// gate measures: a version just scaled from zero is a fresh process
	// and answers slower for a while for that alone.
	WarmupRequests *int `json:"warmupRequests,omitempty"`
	// Alpha is the chance of rolling back a candidate as good as the
	// baseline and inside the SLOs (the whole gate's false-alarm rate).
	Alpha *float64 `json:"alpha,omitempty"`
	// Power is the chance of rolling back (never promoting) a candidate
	// at an SLO's limit or slower than the baseline by MaxLatencyIncrease.
	Power *float64 `json:"power,omitempty"`
}

// Gate defaults, taken from the field: SLOs of 99% non-5xx answers and a
// 500 ms p99 (Flagger's request-success-rate and request-duration checks),
// and Kayenta's tolerance of a 25% latency increase judged at 98%
// confidence (its Mann-Whitney classifier); a candidate may fail at most
// 0.2 points more often than the baseline (a fifth of the success SLO's
// 1-point budget, so the relative test adds to the absolute one).
const (
	DefaultMinSuccessRate     = 0.99
	DefaultMaxP99Ms           = 500
	DefaultMaxLatencyIncrease = 0.25
	DefaultMaxErrorIncrease   = 0.2 // points
	DefaultMinRequests        = 100
	DefaultWarmupRequests     = 500
	DefaultGateAlpha          = 0.02
	DefaultGatePower          = 0.95
)

// MaxWarmupRequests bounds warmupRequests: the warm-up is meant to reach
// a version's steady state, not to be a second measurement.
const MaxWarmupRequests = 100_000

// DefaultSteps is the candidate's default ladder of percents.
var DefaultSteps = []int{5, 10, 25, 50, 100}

// SetDefaults fills the rollout's unset fields. versions are the canary's,
// for the baseline: the other version with the most traffic (the first
// listed of those tied).
func (r *RolloutConfig) SetDefaults(versions []CanaryVersion) {
	if r.Steps == nil {
		r.Steps = append([]int(nil), DefaultSteps...)
	}
	if r.Baseline == "" {
		best := -1
		for _, v := range versions {
			if v.Name == r.Candidate || v.Percent == nil {
				continue
			}
			if *v.Percent > best {
				best, r.Baseline = *v.Percent, v.Name
			}
		}
	}
	g := &r.Gate
	setFloat(&g.MinSuccessRate, DefaultMinSuccessRate)
	setFloat(&g.MaxP99Ms, DefaultMaxP99Ms)
	setFloat(&g.MaxLatencyIncrease, DefaultMaxLatencyIncrease)
	setFloat(&g.MaxErrorIncrease, DefaultMaxErrorIncrease)
	setIntPtr(&g.MinRequests, DefaultMinRequests)
	setIntPtr(&g.WarmupRequests, DefaultWarmupRequests)
	setFloat(&g.Alpha, DefaultGateAlpha)
	setFloat(&g.Power, DefaultGatePower)
}

// Position is where a candidate's percent stands on its ladder.
type Position struct {
	// Percent is the candidate's share of traffic now.
	Percent int `json:"percent"`
	// Step is the index of Percent in the ladder, or -1 when the percent is
	// not on it (0 after a rollback, or set by hand).
	Step int `json:"step"`
	// Next is the percent the next step gives the candidate, or -1 at the
	// top of the ladder.
	Next int `json:"next"`
}

// PositionOf places percent on the ladder steps: the next step is the
// first one above it.
func PositionOf(steps []int, percent int) Position {
	pos := Position{Percent: percent, Step: -1, Next: -1}
	for i, s := range steps {
		if s == percent {
			pos.Step = i
		}
		if s > percent && pos.Next < 0 {
			pos.Next = s
		}
	}
	return pos
}

// Output is the rollout as a stack output; versions are the canary's
// (defaults applied), for the candidate's percent.
func (r *RolloutConfig) Output(versions []CanaryVersion) RolloutOutput {
	percent := 0
	for _, v := range versions {
		if v.Name == r.Candidate && v.Percent != nil {
			percent = *v.Percent
		}
	}
	return RolloutOutput{
		Candidate: r.Candidate, Baseline: r.Baseline, Steps: r.Steps,
		Position: PositionOf(r.Steps, percent), Gate: r.Gate,
	}
}

// Version returns the canary version named name, or nil.
func (cn *CanaryConfig) Version(name string) *CanaryVersion {
	for i := range cn.Versions {
		if cn.Versions[i].Name == name {
			return &cn.Versions[i]
		}
	}
	return nil
}

func setFloat(p **float64, v float64) {
	if *p == nil {
		*p = &v
	}
}
