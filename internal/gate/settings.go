package gate

import (
	"fmt"
	"math"
	"time"
)

// Settings are the gate's thresholds and error rates.
type Settings struct {
	// MinSuccessRate is the SLO on non-5xx answers (0.99).
	MinSuccessRate float64 `json:"minSuccessRate"`
	// MaxP99 is the SLO on the 99th percentile of latency.
	MaxP99 time.Duration `json:"maxP99"`
	// MaxLatencyIncrease is the tolerated latency increase over the
	// baseline (0.25 = 25%).
	MaxLatencyIncrease float64 `json:"maxLatencyIncrease"`
	// MaxErrorIncrease is how much more often than the baseline the
	// candidate may fail, in absolute terms (0.002 = 0.2 points): it is
	// promoted on errors only when shown within it.
	MaxErrorIncrease float64 `json:"maxErrorIncrease"`
	// MinRequests per version before any verdict.
	MinRequests int `json:"minRequests"`
	// MaxRequests per version before giving up as inconclusive; 0 means
	// the size of the fixed-N test with the same error rates, so the gate
	// never sends more than that test would.
	MaxRequests int `json:"maxRequests"`
	// Alpha is the whole gate's false-alarm rate, Power its chance of
	// rolling back a candidate at a criterion's limit.
	Alpha float64 `json:"alpha"`
	Power float64 `json:"power"`
}

// Criteria is the number of criteria alpha is split over.
const Criteria = 4

// DefaultSettings match the stack config's defaults (stacks.GateConfig).
var DefaultSettings = Settings{
	MinSuccessRate:     0.99,
	MaxP99:             500 * time.Millisecond,
	MaxLatencyIncrease: 0.25,
	MaxErrorIncrease:   0.002,
	MinRequests:        100,
	Alpha:              0.02,
	Power:              0.95,
}

// Check reports settings the tests cannot work with, naming the setting.
func (s Settings) Check() error {
	switch {
	case !(s.MinSuccessRate > 0.5 && s.MinSuccessRate < 1):
		return fmt.Errorf("minSuccessRate %g must be between 0.5 and 1", s.MinSuccessRate)
	case s.MaxP99 <= 0:
		return fmt.Errorf("maxP99 %s must be positive", s.MaxP99)
	case !(s.MaxLatencyIncrease > 0 && s.MaxLatencyIncrease <= 10):
		return fmt.Errorf("maxLatencyIncrease %g must be above 0 and at most 10 (1000%%)", s.MaxLatencyIncrease)
	case !(s.MaxErrorIncrease > 0 && s.MaxErrorIncrease < 1):
		return fmt.Errorf("maxErrorIncrease %g must be above 0 and below 1 (0.002 = 0.2 points)", s.MaxErrorIncrease)
	case s.MinRequests < 10:
		return fmt.Errorf("minRequests %d must be at least 10", s.MinRequests)
	case s.MaxRequests != 0 && s.MaxRequests < s.MinRequests:
		return fmt.Errorf("maxRequests %d must be 0 (the fixed-N size) or at least minRequests %d", s.MaxRequests, s.MinRequests)
	case !(s.Alpha > 0 && s.Alpha < 0.5):
		return fmt.Errorf("alpha %g must be between 0 and 0.5", s.Alpha)
	case !(s.Power > 0.5 && s.Power < 1):
		return fmt.Errorf("power %g must be between 0.5 and 1", s.Power)
	}
	return nil
}

// criterionAlpha is each criterion's share of alpha.
func (s Settings) criterionAlpha() float64 { return s.Alpha / Criteria }

// beta is the chance of promoting a candidate at a criterion's limit.
func (s Settings) beta() float64 { return 1 - s.Power }

// failureBudget is the failure rate the success SLO allows.
func (s Settings) failureBudget() float64 { return 1 - s.MinSuccessRate }

// latencyMargin is the tolerated shift of log latency.
func (s Settings) latencyMargin() float64 { return math.Log1p(s.MaxLatencyIncrease) }

// sloGood is the failure (or slow) rate the SLO SPRTs take as clearly
// good: half the budget. Between it and the budget the SPRT may go either
// way; at the budget it promotes with chance at most 1-Power, at half the
// budget it rolls back with chance at most its share of alpha.
const sloGoodShare = 0.5

// p99Budget is the share of answers allowed above MaxP99.
const p99Budget = 0.01

// Method describes the tests in one paragraph, for reports.
func (s Settings) Method() string {
	a := s.criterionAlpha()
	return fmt.Sprintf("sequential, anytime-valid: each of %d criteria at alpha %.3g (alpha %.3g, Bonferroni), power %.3g. "+
		"SLOs: Wald SPRT of %.3g%% vs %.3g%% failures (success ≥ %.4g%%) and of %.3g%% vs %.3g%% answers over %s (p99); "+
		"latency: Mann-Whitney / Hodges-Lehmann shift of log latency (as Kayenta) with a normal-mixture confidence sequence, "+
		"rollback when significant and above +%.3g%%, promote when below +%.3g%% at %.3g%% confidence; "+
		"errors: betting confidence sequence of the failure-rate difference on paired requests, rollback when the candidate's failure rate is significantly above the baseline's, "+
		"promote when it is below the baseline's plus %.3g points and an exact sign test at α %.3g taken at that size does not find it above",
		Criteria, a, s.Alpha, s.Power,
		100*sloGoodShare*s.failureBudget(), 100*s.failureBudget(), 100*s.MinSuccessRate,
		100*sloGoodShare*p99Budget, 100*p99Budget, s.MaxP99,
		100*s.MaxLatencyIncrease, 100*s.MaxLatencyIncrease, 100*s.Power,
		100*s.MaxErrorIncrease, s.Alpha)
}
