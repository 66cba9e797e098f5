package smoke

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/modelrollouts/modelrollouts/internal/measure"
)

// tallyOf counts ok answers and failed ones named version (named "" when
// the failure named none, as an ingress's 503 does).
func tallyOf(t *measure.Tally, own bool, version string, ok, failed int, failedNamed string) {
	add := t.Add
	if own {
		add = func(a measure.Answer) { t.AddOwn(version, a) }
	}
	for range ok {
		add(measure.Answer{Status: http.StatusOK, Version: version})
	}
	for range failed {
		add(measure.Answer{Status: http.StatusServiceUnavailable, Version: failedNamed})
	}
}

// A 10% canary failing 5%: on the user host its failures come back as the
// ingress's 503 without a version, so the user answers naming it are all
// successes. Merged with its own host's answers they dilute its failure
// rate (10 of 377 is within the limit of 10); its own host's 311 answers
// alone show it (10 of 311, limit 9).
func TestAVersionsBudgetCountsOnlyItsOwnHostsAnswers(t *testing.T) {
	p := DefaultParams
	pl := PlanCanary(canaryVersions(.9, .1), p)
	user, own := measure.NewTally(), measure.NewTally()
	tallyOf(user, false, "a", 850, 0, "")
	tallyOf(user, false, "b", 66, 4, "") // its 4 failures name no version
	tallyOf(own, true, "a", 311, 0, "a")
	tallyOf(own, true, "b", 301, 10, "b")
	var r Report
	r.setPlan(pl, p)
	judgeBudgets(user, own, []string{"a", "b"}, 920, pl, p, &r)
	b := r.Budgets[1]
	if b.Version != "b" || b.OK || b.Requests != 311 || b.Failures != 10 || b.Counted != "own host" {
		t.Fatalf("b's budget %+v: want 10 of its own host's 311 answers, over the limit", b)
	}
	if b.Power < 0.95 || b.Power > 0.951 {
		t.Errorf("b's budget power %.4f, want 0.9503 (311 requests, 5%% against a 1%% budget at alpha %.3g)", b.Power, pl.TestAlpha)
	}
	if ing := r.Budgets[2]; ing.Version != "(no version)" || ing.Failures != 4 || ing.Requests != 920 {
		t.Errorf("ingress budget %+v: want the 4 failures naming no version over the 920 user requests", ing)
	}
	r.finish()
	var text bytes.Buffer
	r.WriteText(&text)
	for _, want := range []string{"POWER", "own host", "95.0%", "the chance to catch a version failing 5%"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, text.String())
		}
	}
}
