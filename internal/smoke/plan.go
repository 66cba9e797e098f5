package smoke

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/modelrollouts/modelrollouts/internal/measure"
)

// Plan is what a run will send and what its tests can catch, decided
// before any request from the split and Params. One plan covers one
// family of tests whose combined false-alarm rate is Params.Alpha
// (Bonferroni): the share tests plus one error budget per version and one
// for answers no version claimed (ingress errors).
type Plan struct {
	// UserRequests is N, the requests to the user host.
	UserRequests int `json:"user_requests"`
	// OwnRequests are the requests to each version's own host: enough
	// for its error budget to catch Params.DetectErrorShare with
	// Params.Power. A version's budget counts only these: every answer on
	// its own host is its own, failed or not, while on the user host a
	// failure the ingress answers (a 503 with no X-Model-Version) names no
	// version and a budget there would see only the version's successes.
	OwnRequests map[string]int `json:"own_requests"`

	ShareTests  int     `json:"share_tests"`
	BudgetTests int     `json:"budget_tests"`
	TestAlpha   float64 `json:"test_alpha"` // alpha of each test

	// DetectableLeak is the smallest share of user traffic reaching where
	// none should go (a 0% version, a shadow's answers, a mirror that
	// should be off) that UserRequests catch with Params.Power.
	DetectableLeak float64 `json:"detectable_leak"`
	// BudgetRequests is the requests per version the error budgets are
	// planned on: a version failing DetectErrorShare of them exceeds a
	// budget of MaxErrorShare with the run's power.
	BudgetRequests int `json:"budget_requests"`
	// BudgetPower is the chance BudgetRequests give a budget of catching a
	// version failing DetectErrorShare (at least Params.Power).
	BudgetPower float64 `json:"budget_power"`
	// Powered names the versions whose budgets get BudgetRequests at
	// least: every version with a host of its own (an untagged version is
	// judged on the user answers naming it, which may be too few: the
	// report says what they could catch).
	Powered          []string `json:"powered_budgets"`
	versions         int
	MaxErrorShare    float64 `json:"max_error_share"`
	DetectErrorShare float64 `json:"detect_error_share"`
}

// Tests is the size of the family.
func (pl Plan) Tests() int { return pl.ShareTests + pl.BudgetTests }

// Total is every request the plan sends.
func (pl Plan) Total() int {
	n := pl.UserRequests
	for _, k := range pl.OwnRequests {
		n += k
	}
	return n
}

// Method says in words which tests run, at which level.
func (pl Plan) Method() string {
	var b strings.Builder
	switch pl.ShareTests {
	case 0:
		b.WriteString("no share test (every version is at 0% or 100%: any answer from a 0% version fails)")
	case 1:
		fmt.Fprintf(&b, "one exact two-sided binomial share test at alpha %.3g", pl.TestAlpha)
	default:
		fmt.Fprintf(&b, "%d exact two-sided binomial share tests at alpha %.3g each", pl.ShareTests, pl.TestAlpha)
	}
	fmt.Fprintf(&b, "; %d error budgets, each a one-sided exact binomial test of failure rate <= tolerated at alpha %.3g", pl.BudgetTests, pl.TestAlpha)
	if pl.Tests() > 1 {
		fmt.Fprintf(&b, " (Bonferroni over %d tests)", pl.Tests())
	}
	return b.String()
}

// Summary says in one sentence what the plan sends and catches, for a
// review comment or a log line.
func (pl Plan) Summary(p Params) string {
	own := pl.Total() - pl.UserRequests
	var b strings.Builder
	fmt.Fprintf(&b, "%d user requests", pl.UserRequests)
	if own > 0 {
		fmt.Fprintf(&b, " and %d to the versions' own hosts", own)
	}
	b.WriteString(" catch ")
	var what []string
	if pl.ShareTests > 0 {
		what = append(what, fmt.Sprintf("a %s-point error in a share", pct(p.Margin)))
	}
	failing := "a version"
	if len(pl.Powered) < pl.versions {
		failing = strings.Join(pl.Powered, " or ")
	}
	what = append(what, fmt.Sprintf("a %s%% leak to where no traffic should go", pct(pl.DetectableLeak)))
	if len(pl.Powered) > 0 {
		what = append(what, fmt.Sprintf("%s failing %s%% of its requests (budget %s%%, %s%% power on %d requests to its own host)",
			failing, pct(p.DetectErrorShare), pct(p.MaxErrorShare), pct(pl.BudgetPower), pl.BudgetRequests))
	}
	b.WriteString(strings.Join(what[:len(what)-1], ", ") + " and " + what[len(what)-1])
	fmt.Fprintf(&b, ", each with %.0f%% power; %d exact binomial tests, α = %g over the run (Bonferroni)", 100*p.Power, pl.Tests(), p.Alpha)
	return b.String()
}

// pct renders a share as a short percentage: 0.05 → "5", 0.0031 → "0.31".
func pct(share float64) string {
	return strconv.FormatFloat(math.Round(share*1e4)/100, 'f', -1, 64)
}

// Version is one version as a plan sees it.
type Version struct {
	Name string
	// Share is the expected share of user answers (canary) or 0 (shadow).
	Share float64
	// OwnHost says whether the version has a host of its own.
	OwnHost bool
	// ServesUsers says whether users see its answers (every canary
	// version that may get traffic, a shadow's primary); a shadow serves
	// no one and gets only Params.OwnRequests.
	ServesUsers bool
}

// PlanCanary plans a canary run over versions.
func PlanCanary(versions []Version, p Params) Plan {
	shares := make([]float64, len(versions))
	for i, v := range versions {
		shares[i] = v.Share
	}
	pl := Plan{ShareTests: measure.ShareTests(shares), BudgetTests: len(versions) + 1}
	pl.TestAlpha = measure.BonferroniAlpha(p.Alpha, pl.Tests())
	n := 0
	for _, s := range shares {
		if s <= 0 || s >= 1 {
			n = max(n, measure.LeakSampleSize(p.Leak, p.Power))
		}
		n = max(n, measure.SampleSizeShare(s, p.Margin, pl.TestAlpha, p.Power))
	}
	pl.UserRequests = n
	if p.N > 0 {
		pl.UserRequests = p.N
	}
	pl.planOwn(versions, p)
	pl.DetectableLeak = measure.DetectableLeak(pl.UserRequests, p.Power)
	return pl
}

// PlanShadow plans a shadow run: mirror is the configured share of user
// requests copied to the shadow (0..1).
func PlanShadow(primary, shadow string, mirror float64, p Params) Plan {
	pl := Plan{BudgetTests: 3} // primary, shadow, ingress
	if mirror > 0 && mirror < 1 {
		pl.ShareTests = 1
	}
	pl.TestAlpha = measure.BonferroniAlpha(p.Alpha, pl.Tests())
	pl.UserRequests = max(measure.LeakSampleSize(p.Leak, p.Power), measure.SampleSizeShare(mirror, p.Margin, pl.TestAlpha, p.Power))
	if p.N > 0 {
		pl.UserRequests = p.N
	}
	pl.planOwn([]Version{
		{Name: primary, Share: 1, OwnHost: true, ServesUsers: true},
		{Name: shadow, OwnHost: true},
	}, p)
	pl.DetectableLeak = measure.DetectableLeak(pl.UserRequests, p.Power)
	return pl
}

func (pl *Plan) planOwn(versions []Version, p Params) {
	pl.MaxErrorShare, pl.DetectErrorShare = p.MaxErrorShare, p.DetectErrorShare
	pl.BudgetRequests = measure.ErrorSampleSize(p.MaxErrorShare, p.DetectErrorShare, pl.TestAlpha, p.Power)
	pl.BudgetPower = measure.ErrorPower(pl.BudgetRequests, p.MaxErrorShare, p.DetectErrorShare, pl.TestAlpha)
	pl.OwnRequests = map[string]int{}
	pl.versions = len(versions)
	for _, v := range versions {
		counted := 0 // the requests the version's budget counts
		if v.OwnHost {
			counted = max(p.OwnRequests, pl.BudgetRequests)
			pl.OwnRequests[v.Name] = counted
		} else if v.ServesUsers {
			// The fewest user answers naming it that a passing run gives.
			counted = measure.AcceptInterval(pl.UserRequests, v.Share, pl.TestAlpha).Lo
		}
		if counted >= pl.BudgetRequests {
			pl.Powered = append(pl.Powered, v.Name)
		}
	}
}

// CanarySampleSize is the number of user requests a canary run with these
// shares (fractions summing to 1) sends when margin, alpha and power are
// as given and the rest of Params at their defaults.
func CanarySampleSize(shares []float64, margin, alpha, power float64) int {
	p := DefaultParams
	p.Margin, p.Alpha, p.Power = margin, alpha, power
	vs := make([]Version, len(shares))
	for i, s := range shares {
		vs[i] = Version{Name: fmt.Sprint(i), Share: s, OwnHost: true, ServesUsers: true}
	}
	return PlanCanary(vs, p).UserRequests
}

// MirrorSampleSize is the number of user requests a shadow run mirroring
// share (0..1) sends when margin, alpha and power are as given and the
// rest of Params at their defaults.
func MirrorSampleSize(share, margin, alpha, power float64) int {
	p := DefaultParams
	p.Margin, p.Alpha, p.Power = margin, alpha, power
	return PlanShadow("primary", "shadow", share, p).UserRequests
}
