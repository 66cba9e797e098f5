//go:build slow

// End-to-end runs of the header checks against real model-echo servers
// behind the lab proxy, in the slow tier with the other smoke runs.

package smoke_test

import (
	"testing"

	"github.com/modelrollouts/modelrollouts/internal/labtest"
	"github.com/modelrollouts/modelrollouts/internal/smoke"
)

func TestHeaderRoutingCanaryReachesTheTaggedVersionAndFallsBackToTheSplit(t *testing.T) {
	// A 0% version is reachable by its tag only: the header check must
	// find it, and the unknown tag must never reach it.
	lab := labtest.NewCanary(t, versions("v1", "v2"), map[string]int{"v1": 100, "v2": 0}, 41)
	lab.EnableHeaderRouting("Knative-Serving-Tag")
	r := run(t, lab, headerParams())
	if !r.Pass {
		t.Fatalf("correct header routing failed: %v", r.Failures())
	}
	for _, name := range []string{"header routes to v1", "header routes to v2", "unknown header value gets the users' route"} {
		if !passedCheck(r, name) {
			t.Errorf("no passing check %q: %+v", name, r.Checks)
		}
	}
}

func TestHeaderRoutingCanaryIgnoredByTheIngressFails(t *testing.T) {
	lab := labtest.NewCanary(t, versions("v1", "v2"), map[string]int{"v1": 90, "v2": 10}, 42)
	lab.EnableHeaderRouting("Knative-Serving-Tag")
	lab.Proxy.RouteByHeader("", nil) // the stack says header routing, the ingress does not do it
	r := run(t, lab, headerParams())
	if r.Pass || !failedCheck(r, "header routes to v2") {
		t.Fatalf("ignored routing header passed: %v", r.Failures())
	}
}

func TestHeaderRoutingShadowReachesEachVersionUnmirrored(t *testing.T) {
	prim := labtest.Version{Name: "v1", Target: "primary"}
	shad := labtest.Version{Name: "v2", Target: "shadow", Bias: 0.5}
	lab := labtest.NewShadow(t, prim, shad, 100, 43)
	lab.EnableHeaderRouting("X-Model-Version")
	r := run(t, lab, headerParams())
	if !r.Pass {
		t.Fatalf("correct shadow header routing failed: %v", r.Failures())
	}
	if !passedCheck(r, "header requests are not mirrored") || !passedCheck(r, "header routes to v2") {
		t.Errorf("checks %+v", r.Checks)
	}
}

func TestHeaderRoutingShadowThatMirrorsHeaderRequestsFails(t *testing.T) {
	prim := labtest.Version{Name: "v1", Target: "primary"}
	shad := labtest.Version{Name: "v2", Target: "shadow", Bias: 0.5}
	lab := labtest.NewShadow(t, prim, shad, 100, 44)
	lab.EnableHeaderRouting("X-Model-Version")
	lab.Proxy.MirrorHeaderRoutes(true)
	r := run(t, lab, headerParams())
	if r.Pass || !failedCheck(r, "header requests are not mirrored") {
		t.Fatalf("mirrored header requests passed: %v", r.Failures())
	}
}

// passedCheck reports a check by that exact name that passed.
func passedCheck(r *smoke.Report, name string) bool {
	for _, c := range r.Checks {
		if c.Name == name {
			return c.OK
		}
	}
	return false
}

// headerParams sends few user requests: the header checks are
// deterministic and do not need the power calculation's sample.
func headerParams() smoke.Params {
	p := fast()
	p.N = 100
	// Settle stays fast()'s 3 s: the mirrored count settles only after
	// holding still for 1 s (measure.CountWait.Quiet), so a 1 s Settle
	// failed whenever a copy was still arriving at the first reading
	// (2 of 15 runs at load 5); with 3 s a copy must take over 2 s.
	return p
}
