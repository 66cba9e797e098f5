package smoke

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/stacks"
)

func canaryVersions(shares ...float64) []Version {
	vs := make([]Version, len(shares))
	for i, s := range shares {
		vs[i] = Version{Name: string(rune('a' + i)), Share: s, OwnHost: true, ServesUsers: true}
	}
	return vs
}

func TestSampleSizeShrinksAsMarginGrows(t *testing.T) {
	for _, shares := range [][]float64{{.9, .1}, {.5, .5}, {.6, .3, .1}, {.98, .02}, {1}} {
		prev := math.MaxInt
		for _, m := range []float64{.01, .02, .03, .05, .08, .1, .15, .2} {
			n := CanarySampleSize(shares, m, .01, .95)
			if n > prev {
				t.Errorf("shares %v: N=%d at margin %g > N=%d at a smaller margin", shares, n, m, prev)
			}
			if n < 1 {
				t.Errorf("shares %v margin %g: N=%d", shares, m, n)
			}
			prev = n
		}
	}
	// More power or a stricter alpha needs more requests.
	base := CanarySampleSize([]float64{.9, .1}, .05, .01, .95)
	if CanarySampleSize([]float64{.9, .1}, .05, .01, .99) <= base || CanarySampleSize([]float64{.9, .1}, .05, .001, .95) <= base {
		t.Error("N does not grow with power or with a stricter alpha")
	}
}

func TestPlanValues(t *testing.T) {
	p := DefaultParams
	// 90/10: one share test and three budgets (v1, v2, no version), so
	// each test runs at alpha 0.01/4.
	pl := PlanCanary(canaryVersions(.9, .1), p)
	if pl.Tests() != 4 || math.Abs(pl.TestAlpha-0.0025) > 1e-12 {
		t.Errorf("90/10: %d tests at alpha %g, want 4 at 0.0025", pl.Tests(), pl.TestAlpha)
	}
	// Normal approximation for 10% vs 15% at alpha 0.25%, power 95%:
	// ((3.02·0.3 + 1.645·0.357)/0.05)² ≈ 893; the exact test a bit more.
	if pl.UserRequests < 880 || pl.UserRequests > 980 {
		t.Errorf("90/10: N=%d, want about 890-980", pl.UserRequests)
	}
	// Every version's budget counts only its own host's answers, so each
	// gets the budget's requests there: 311 catch a version failing 5%
	// with 95.0% power at alpha 0.0025.
	if pl.OwnRequests["a"] != 311 || pl.OwnRequests["b"] != 311 || pl.BudgetRequests != 311 || len(pl.Powered) != 2 {
		t.Errorf("own requests %v, budget N %d, powered %v: want 311 for each version", pl.OwnRequests, pl.BudgetRequests, pl.Powered)
	}
	if pl.BudgetPower < p.Power || pl.BudgetPower > 0.96 {
		t.Errorf("budget power %.4f, want the run's %.2f (just above)", pl.BudgetPower, p.Power)
	}
	// 100/0: no share test; the 0% version is a leak check, sized for a
	// 1% leak at 95% power: 0.99^299 < 0.05 <= 0.99^298.
	pl = PlanCanary(canaryVersions(1, 0), p)
	if pl.ShareTests != 0 || pl.UserRequests != 299 {
		t.Errorf("100/0: %d share tests, N=%d; want 0 and 299", pl.ShareTests, pl.UserRequests)
	}
	if !strings.Contains(pl.Method(), "no share test") || strings.Contains(pl.Method(), "1 shares") {
		t.Errorf("method for 100/0: %q", pl.Method())
	}
	if n := MirrorSampleSize(.5, .05, .01, .95); n < 1700 || n > 2300 {
		t.Errorf("mirror 50%%: N=%d, want about 2000", n)
	}
	if n := MirrorSampleSize(0, .05, .01, .95); n != 299 {
		t.Errorf("mirror 0%%: N=%d, want the 1%%-leak size 299", n)
	}
	p.N = 120
	if pl := PlanCanary(canaryVersions(.9, .1), p); pl.UserRequests != 120 {
		t.Errorf("--n 120 planned %d user requests", pl.UserRequests)
	}
}

func TestPlanSummarySaysWhatTheRunCatches(t *testing.T) {
	p := DefaultParams
	got := PlanCanary(canaryVersions(.9, .1), p).Summary(p)
	for _, want := range []string{"user requests and", "to the versions' own hosts", "a 5-point error in a share",
		"leak to where no traffic should go", "a version failing 5% of its requests (budget 1%, 95.03% power on 311 requests to its own host)", "95% power", "4 exact binomial tests, α = 0.01 over the run"} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q: %s", want, got)
		}
	}
	if got := PlanCanary(canaryVersions(1, 0), p).Summary(p); strings.Contains(got, "error in a share") || !strings.Contains(got, "a 1% leak") {
		t.Errorf("100/0 summary: %s", got)
	}
}

func TestShadowPlanPowersBothVersionsBudgets(t *testing.T) {
	p := DefaultParams
	pl := PlanShadow("v1", "v2", .5, p)
	if len(pl.Powered) != 2 || pl.OwnRequests["v1"] != pl.BudgetRequests || pl.OwnRequests["v2"] != pl.BudgetRequests {
		t.Errorf("powered %v, own %v: want both budgets powered on their own hosts (%d each)", pl.Powered, pl.OwnRequests, pl.BudgetRequests)
	}
	if s := pl.Summary(p); !strings.Contains(s, "a version failing 5%") {
		t.Errorf("shadow summary: %s", s)
	}
}

// An untagged version has no host of its own: its budget counts the user
// answers naming it, and the plan powers it only when those are enough.
func TestAnUntaggedVersionIsPoweredOnlyByEnoughUserAnswers(t *testing.T) {
	p := DefaultParams
	vs := canaryVersions(.9, .1)
	vs[0].OwnHost, vs[1].OwnHost = false, false
	pl := PlanCanary(vs, p)
	if len(pl.Powered) != 1 || pl.Powered[0] != "a" || len(pl.OwnRequests) != 0 {
		t.Errorf("powered %v, own %v: want only the 90%% version powered, by its user answers", pl.Powered, pl.OwnRequests)
	}
}

// A settle window too short for the mirrored count to hold still is
// refused up front rather than failing every shadow run.
func TestParamsRefuseASettleTheCountCannotSettleIn(t *testing.T) {
	p := DefaultParams
	p.Settle = 1500 * time.Millisecond
	if err := p.Check(); err == nil || !strings.Contains(err.Error(), "settle 1.5s must be at least 2s") {
		t.Fatalf("Check() = %v", err)
	}
	p.Settle = 2 * time.Second
	if err := p.Check(); err != nil {
		t.Fatalf("a 2 s settle: %v", err)
	}
}

func TestParamsRefuseABodyWithoutItsPath(t *testing.T) {
	p := DefaultParams
	p.ShadowRequest = ModelRequest{Body: []byte(`{}`)}
	if err := p.Check(); err == nil || !strings.Contains(err.Error(), "--body") || !strings.Contains(err.Error(), "--path") {
		t.Errorf("Check() = %v, want the two flags named", err)
	}
	p.ShadowRequest = ModelRequest{Path: "v2/models/model/infer"}
	if err := p.Check(); err == nil || !strings.Contains(err.Error(), "must start with /") {
		t.Errorf("Check() = %v", err)
	}
}

// An own model behind model-agent is probed on its readiness path unless
// the caller gives its inference request; only the latter leaves records
// the copies can be joined by.
func TestTheShadowProbeOfAnOwnModelIsItsReadinessPathOrTheGivenRequest(t *testing.T) {
	o := &stacks.Outputs{Primary: "v1", Shadow: "v2", Versions: map[string]stacks.VersionOutput{
		"v1": {Agent: true, ReadinessPath: "/healthz"}, "v2": {Agent: true, ReadinessPath: "/healthz"},
	}}
	probe, problem := chooseShadowProbe(context.Background(), nil, o, DefaultParams)
	if problem != "" || probe.method != "GET" || probe.path != "/healthz" || probe.route != "unmatched" || !probe.recorded || probe.echo {
		t.Errorf("readiness probe %+v (%s)", probe, problem)
	}
	o.Versions["v1"] = stacks.VersionOutput{Agent: true, ReadinessPath: "/v2/health/ready"}
	if probe, _ = chooseShadowProbe(context.Background(), nil, o, DefaultParams); probe.route != "/v2/health/ready" || probe.recorded {
		t.Errorf("OIP readiness probe %+v: the servers keep no record of it", probe)
	}
	p := DefaultParams
	p.ShadowRequest = ModelRequest{Path: "/v2/models/model/infer", Body: []byte(`{"inputs":[]}`)}
	probe, _ = chooseShadowProbe(context.Background(), nil, o, p)
	req := probe.request("model.example.com", 7, "id-7")
	if req.Method != "POST" || string(req.Body) != `{"inputs":[]}` || probe.route != "/v2/models/{name}/infer" || !probe.recorded || probe.echo {
		t.Errorf("given request %+v, probe %+v", req, probe)
	}
}
