package stacks

import (
	"fmt"
	"strings"
)

// Validate checks a defaulted rollout against the canary's versions: the
// candidate and baseline name two different versions, the ladder climbs
// from 1 to at most 100 and fits beside the versions outside the rollout,
// and the gate's numbers are ones its tests can work with.
func (r *RolloutConfig) Validate(versions []CanaryVersion) *FieldError {
	var errs *FieldError
	names := make([]string, len(versions))
	others := 0 // percent held by versions neither candidate nor baseline
	for i, v := range versions {
		names[i] = v.Name
		if v.Name != r.Candidate && v.Name != r.Baseline && v.Percent != nil {
			others += *v.Percent
		}
	}
	known := func(name string) bool { return oneOf(name, names) }
	switch {
	case r.Candidate == "":
		errs = errs.Also(ErrMissingField("candidate", "the name of the version being rolled out, one of "+strings.Join(names, ", ")))
	case !known(r.Candidate):
		errs = errs.Also(ErrUnknownValue(r.Candidate, "candidate", "version", names...))
	}
	switch {
	case r.Baseline == "":
		errs = errs.Also(ErrMissingField("baseline", "another version to judge the candidate against (the canary has no other version)"))
	case !known(r.Baseline):
		errs = errs.Also(ErrUnknownValue(r.Baseline, "baseline", "version", names...))
	case r.Baseline == r.Candidate:
		errs = errs.Also(ErrGeneric(fmt.Sprintf("%q is the candidate; the baseline must be another version", r.Baseline), "baseline"))
	}
	room := 100
	if errs == nil {
		// Only a valid pair says which versions are outside the rollout.
		room -= others
	}
	errs = errs.Also(validateSteps(r.Steps, room))
	return errs.Also(r.Gate.Validate().ViaField("gate"))
}

// validateSteps checks the ladder: rising percents from 1 to room, the
// most the candidate can hold beside versions outside the rollout.
func validateSteps(steps []int, room int) *FieldError {
	if len(steps) == 0 {
		return ErrMissingField("steps", "the candidate's percents in order, e.g. [5, 10, 25, 50, 100]")
	}
	var errs *FieldError
	for i, s := range steps {
		switch {
		case s < 1 || s > 100:
			errs = errs.Also(ErrOutOfBoundsValue(s, 1, 100, CurrentField).ViaFieldIndex("steps", i))
		case s > room:
			errs = errs.Also(ErrGeneric(fmt.Sprintf("%d leaves no room for the %d%% other versions hold, want at most %d", s, 100-room, room), CurrentField).ViaFieldIndex("steps", i))
		case i > 0 && s <= steps[i-1]:
			errs = errs.Also(ErrGeneric(fmt.Sprintf("%d is not above steps[%d] (%d): the ladder must climb", s, i-1, steps[i-1]), CurrentField).ViaFieldIndex("steps", i))
		}
	}
	return errs
}

// Validate checks the gate's thresholds (defaults applied).
func (g *GateConfig) Validate() *FieldError {
	var errs *FieldError
	open := func(v *float64, lo, hi float64, field, want string) {
		if v != nil && !(*v > lo && *v < hi) {
			errs = errs.Also(ErrGeneric(fmt.Sprintf("%g is out of range, want %s", *v, want), field))
		}
	}
	open(g.MinSuccessRate, 0.5, 1, "minSuccessRate", "a share above 0.5 and below 1 (0.99 = 99%)")
	open(g.MaxLatencyIncrease, 0, 10.0000001, "maxLatencyIncrease", "above 0 and at most 10 (0.25 = 25% slower)")
	open(g.MaxErrorIncrease, 0, 100, "maxErrorIncrease", "failure-rate points above 0 and below 100 (0.2 = the candidate may fail 0.2 points more often than the baseline)")
	open(g.Alpha, 0, 0.5, "alpha", "above 0 and below 0.5")
	open(g.Power, 0.5, 1, "power", "above 0.5 and below 1")
	if g.MaxP99Ms != nil && !(*g.MaxP99Ms > 0) {
		errs = errs.Also(ErrGeneric(fmt.Sprintf("%g is out of range, want a positive number of milliseconds", *g.MaxP99Ms), "maxP99Ms"))
	}
	if g.MinRequests != nil && *g.MinRequests < 10 {
		errs = errs.Also(ErrBelowMinimum(*g.MinRequests, 10, "minRequests"))
	}
	if g.WarmupRequests != nil && (*g.WarmupRequests < 0 || *g.WarmupRequests > MaxWarmupRequests) {
		errs = errs.Also(ErrGeneric(fmt.Sprintf("%d is out of range, want 0 (no warm-up) to %d requests per version", *g.WarmupRequests, MaxWarmupRequests), "warmupRequests"))
	}
	return errs
}
