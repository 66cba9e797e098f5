package stacks

import (
	"fmt"
	"slices"
)

// Strategies is every strategy, in the order messages list them. It is
// the one list: validation, the program, smoke and the review dispatch on
// a strategy through StrategyCases, so adding one here and a method there
// makes the compiler name every place that must handle it (the steps are
// in docs/architecture.md, "How to add a strategy", which a test checks).
var Strategies = []Strategy{StrategyCanary, StrategyShadow}

// StrategyCases is what one place does for each strategy: a method per
// strategy, named after it. A place implements it with a small type and
// calls ByStrategy, never a switch with a default branch that would
// swallow a new strategy.
type StrategyCases[T any] interface {
	Canary() T
	Shadow() T
}

// ByStrategy calls the method of cases for s. An s that is not in
// Strategies is an error naming the allowed ones.
func ByStrategy[T any](s Strategy, cases StrategyCases[T]) (T, error) {
	switch s {
	case StrategyCanary:
		return cases.Canary(), nil
	case StrategyShadow:
		return cases.Shadow(), nil
	}
	var none T
	return none, fmt.Errorf("unknown strategy %q, want %s", s, orList(StrategyNames()))
}

// Known reports whether s is one of Strategies.
func (s Strategy) Known() bool { return slices.Contains(Strategies, s) }

// StrategyNames are the Strategies as the words a user types.
func StrategyNames() []string {
	names := make([]string, len(Strategies))
	for i, s := range Strategies {
		names[i] = string(s)
	}
	return names
}

// String renders a strategy for messages.
func (s Strategy) String() string { return string(s) }

// RunsOnKnative reports whether the strategy's versions are Knative
// revisions: only then is Knative installed, and only then must a built
// image be in a registry Knative does not resolve tags in. False for an
// unknown strategy (validation refuses it first).
func (s Strategy) RunsOnKnative() bool {
	return perStrategy[bool]{true, false}.of(s)
}

// NeedsSidecars reports whether the strategy's pods must join the mesh:
// the shadow's mirroring is done by Envoy beside the primary. False for an
// unknown strategy.
func (s Strategy) NeedsSidecars() bool {
	return perStrategy[bool]{false, true}.of(s)
}

// perStrategy is a fixed value per strategy, in the order of
// StrategyCases' methods. Written unkeyed ({true, false}) so a new
// strategy, a new field here, fails to compile where a value is missing.
type perStrategy[T any] struct{ canary, shadow T }

func (p perStrategy[T]) Canary() T { return p.canary }
func (p perStrategy[T]) Shadow() T { return p.shadow }

func (p perStrategy[T]) of(s Strategy) T {
	v, _ := ByStrategy[T](s, p)
	return v
}
