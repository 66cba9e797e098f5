package smoke

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/measure"
	"github.com/modelrollouts/modelrollouts/stacks"
)

// Report is the outcome of a run, rendered as a table or as JSON.
type Report struct {
	Strategy stacks.Strategy `json:"strategy"`
	Source   string          `json:"source,omitempty"`
	Ingress  string          `json:"ingress_url"`
	Host     string          `json:"host"`

	Margin float64 `json:"margin"`
	Leak   float64 `json:"leak"`
	Alpha  float64 `json:"alpha"`
	Power  float64 `json:"power"`
	// N is the number of user requests planned; Planned says whether the
	// power calculation chose it (false: --n override).
	N       int    `json:"n"`
	Planned bool   `json:"n_from_power_calculation"`
	Plan    Plan   `json:"plan"`
	Method  string `json:"method"`

	Sent     int `json:"sent"`     // user requests
	OwnSent  int `json:"own_sent"` // requests to versions' own hosts
	Answered int `json:"answered"` // user requests answered 200
	Errors   int `json:"errors"`   // user requests not answered 200

	Wait      []WaitResult `json:"wait"`
	Versions  []VersionRow `json:"versions"`
	Budgets   []BudgetRow  `json:"error_budgets"`
	ChiSquare *ChiSquare   `json:"chi_square,omitempty"`
	Shadow    *Comparison  `json:"shadow_comparison,omitempty"`
	Checks    []Check      `json:"checks"`

	// Unreachable is set when no host got any HTTP answer: the ingress
	// itself is down or wrong, and nothing else was checked.
	Unreachable string `json:"ingress_unreachable,omitempty"`

	Pass    bool          `json:"pass"`
	Elapsed time.Duration `json:"-"` // elapsed_ms, see MarshalJSON
}

// Check is one pass/fail statement with its evidence.
type Check struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	// Skipped is a check this run could not make (the detail says why
	// and how to make it); it neither passes nor fails the run.
	Skipped bool   `json:"skipped,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// VersionRow is one line of the table: a share expected of some traffic
// and the count observed.
type VersionRow struct {
	Version     string   `json:"version"`
	Role        string   `json:"role,omitempty"`
	Of          string   `json:"of"` // which traffic the share is of
	ExpectedPct float64  `json:"expected_pct"`
	Observed    int      `json:"observed"`
	Total       int      `json:"total"`
	Interval    Interval `json:"accept"`
	Verdict     string   `json:"verdict"`
	OK          bool     `json:"ok"`
}

// BudgetRow is one version's error budget: its failures over the
// requests that are its own (Counted says which), with its answers on the
// user host and on its own host for reference.
type BudgetRow struct {
	Version     string `json:"version"`
	UserAnswers int    `json:"user_answers"`
	OwnAnswers  int    `json:"own_answers"`
	// Counted says which requests the budget counts.
	Counted string `json:"counted"`
	// Power is the chance these requests gave the budget of catching a
	// version failing Params.DetectErrorShare.
	Power        float64 `json:"power"`
	FirstProblem string  `json:"first_problem,omitempty"`
	measure.Budget
}

// Verdict says how the budget came out in words.
func (b BudgetRow) Verdict() string {
	if b.OK {
		return "ok"
	}
	return fmt.Sprintf("FAIL: more than %d failures", b.Limit)
}

// ObservedPct is the observed share in percent.
func (v VersionRow) ObservedPct() float64 {
	if v.Total == 0 {
		return 0
	}
	return 100 * float64(v.Observed) / float64(v.Total)
}

// ChiSquare is the goodness-of-fit summary over versions expected > 0.
type ChiSquare struct {
	Stat   float64 `json:"stat"`
	DF     int     `json:"df"`
	PValue float64 `json:"p_value"`
}

// Comparison is what joining primary and shadow records by request id
// showed. Latencies are the servers' own, in milliseconds.
type Comparison struct {
	Mirrored     int     `json:"mirrored_records"`
	Joined       int     `json:"joined"`
	Agreed       int     `json:"agreed"`
	AgreementPct float64 `json:"agreement_pct"`
	PrimaryP50   float64 `json:"primary_p50_ms"`
	PrimaryP95   float64 `json:"primary_p95_ms"`
	ShadowP50    float64 `json:"shadow_p50_ms"`
	ShadowP95    float64 `json:"shadow_p95_ms"`
	DiffP50      float64 `json:"diff_p50_ms"` // shadow - primary, paired
	DiffP95      float64 `json:"diff_p95_ms"`
}

// setPlan records the plan and how it came about.
func (r *Report) setPlan(pl Plan, p Params) {
	r.Plan = pl
	r.N, r.Planned = pl.UserRequests, p.N == 0
	r.Method = pl.Method()
}

func (r *Report) check(name string, ok bool, detail string) {
	r.Checks = append(r.Checks, Check{Name: name, OK: ok, Detail: detail})
}

// skip records a check this run could not make, and why.
func (r *Report) skip(name, why string) {
	r.Checks = append(r.Checks, Check{Name: name, OK: true, Skipped: true, Detail: why})
}

func (r *Report) allChecksOK() bool {
	for _, c := range r.Checks {
		if !c.OK {
			return false
		}
	}
	return true
}

func (r *Report) finish() {
	r.Pass = r.allChecksOK()
	for _, v := range r.Versions {
		r.Pass = r.Pass && v.OK
	}
	for _, b := range r.Budgets {
		r.Pass = r.Pass && b.OK
	}
	if r.ChiSquare != nil && math.IsNaN(r.ChiSquare.PValue) {
		r.ChiSquare = nil
	}
}

// Failures lists what failed, for a one-line summary.
func (r *Report) Failures() []string {
	var out []string
	for _, v := range r.Versions {
		if !v.OK {
			out = append(out, fmt.Sprintf("%s (%s): %s", v.Version, v.Of, v.Verdict))
		}
	}
	for _, b := range r.Budgets {
		if !b.OK {
			out = append(out, fmt.Sprintf("%s error budget: %d of %d requests failed, limit %d", b.Version, b.Failures, b.Requests, b.Limit))
		}
	}
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c.Name+": "+c.Detail)
		}
	}
	return out
}

// WriteJSON writes the report as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// UnreachableHint is what to do when the ingress does not answer.
const UnreachableHint = `Is the lab up? ` + "`make up STACK=<stack>`" + ` creates or repairs it; ` +
	"`make diagnose STACK=<stack>`" + ` saves the cluster's state and logs into diagnostics/<stack>/.
An existing cluster's address is cluster.ingressUrl in Pulumi.<stack>.yaml.
`

// WriteText writes the human report: readiness, the table, the checks and
// the verdict.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	src := ""
	if r.Source != "" {
		src = " (" + r.Source + ")"
	}
	fmt.Fprintf(&b, "smoke: %s rollout%s via %s, Host %s\n", r.Strategy, src, r.Ingress, r.Host)
	if r.Unreachable != "" {
		fmt.Fprintf(&b, "\nFAIL (%s): no answer from the ingress %s on any host (%d tried): %s\n%s",
			r.Elapsed.Round(time.Millisecond), r.Ingress, len(r.Wait), r.Unreachable, UnreachableHint)
		_, err := io.WriteString(w, b.String())
		return err
	}
	for _, wr := range r.Wait {
		if wr.OK {
			fmt.Fprintf(&b, "ready: %-40s cold start %s (%s, first answer %s)\n",
				wr.Host, wr.ColdStart().Round(time.Millisecond), plural(wr.Attempts, "attempt"), wr.FirstAnswer.Round(time.Millisecond))
		} else {
			fmt.Fprintf(&b, "NOT READY: %s: %s\n", wr.Host, wr.LastProblem)
		}
	}
	if r.N > 0 {
		how := "set by --n"
		if r.Planned {
			how = fmt.Sprintf("power calculation: a %.1f-point error on a share, a %.1f%% leak and a version failing %.1f%% each caught with %.0f%% power, alpha %g over the run",
				100*r.Margin, 100*r.Leak, 100*r.Plan.DetectErrorShare, 100*r.Power, r.Alpha)
		}
		fmt.Fprintf(&b, "requests: N=%d user requests (%s); sent %d, answered %d, failed %d; %d to versions' own hosts\n",
			r.N, how, r.Sent, r.Answered, r.Errors, r.OwnSent)
		fmt.Fprintf(&b, "method: %s\n", r.Method)
		fmt.Fprintf(&b, "leak detection: %d user requests catch %.2f%% or more of them reaching a version that should get none, with %.0f%% power\n",
			r.N, 100*r.Plan.DetectableLeak, 100*r.Power)
	}
	if len(r.Versions) > 0 {
		b.WriteString("\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tROLE\tSHARE OF\tEXPECTED\tOBSERVED\tACCEPTED\tVERDICT")
		for _, v := range r.Versions {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f%%\t%d/%d (%.1f%%)\t%s\t%s\n",
				v.Version, dash(v.Role), v.Of, v.ExpectedPct, v.Observed, v.Total, v.ObservedPct(), v.Interval, v.Verdict)
		}
		tw.Flush()
	}
	if len(r.Budgets) > 0 {
		fmt.Fprintf(&b, "\nerror budgets (failures: 5xx or no answer; each a one-sided exact binomial test of failure rate <= %s%% at alpha %.3g; POWER: the chance to catch a version failing %s%%):\n",
			pct(r.Budgets[0].Tolerated), r.Budgets[0].Alpha, pct(r.Plan.DetectErrorShare))
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tCOUNTED\tREQUESTS\tFAILED\tLIMIT\tPOWER\tDETECTS\tVERDICT")
		for _, bu := range r.Budgets {
			v := bu.Verdict()
			if !bu.OK && bu.FirstProblem != "" {
				v += "; first: " + bu.FirstProblem
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.1f%%\t>=%.1f%%\t%s\n",
				bu.Version, bu.Counted, bu.Requests, bu.Failures, bu.Limit, 100*bu.Power, 100*bu.Detectable, v)
		}
		tw.Flush()
	}
	if cs := r.ChiSquare; cs != nil {
		fmt.Fprintf(&b, "chi-square goodness of fit (summary): X²=%.2f df=%d p=%.3g\n", cs.Stat, cs.DF, cs.PValue)
	}
	if c := r.Shadow; c != nil {
		fmt.Fprintf(&b, "\nshadow comparison (joined by request id): %d of %d mirrored records joined, answers agreed on %d (%.1f%%)\n",
			c.Joined, c.Mirrored, c.Agreed, c.AgreementPct)
		if c.Joined > 0 {
			fmt.Fprintf(&b, "latency ms (interpolated quantiles): primary p50 %.2f p95 %.2f | shadow p50 %.2f p95 %.2f | shadow-primary p50 %+.2f p95 %+.2f\n",
				c.PrimaryP50, c.PrimaryP95, c.ShadowP50, c.ShadowP95, c.DiffP50, c.DiffP95)
		}
	}
	b.WriteString("\nchecks:\n")
	for _, c := range r.Checks {
		mark := "ok  "
		switch {
		case !c.OK:
			mark = "FAIL"
		case c.Skipped:
			mark = "skip"
		}
		fmt.Fprintf(&b, "  %s %s: %s\n", mark, c.Name, c.Detail)
	}
	if r.Pass {
		fmt.Fprintf(&b, "\nPASS (%s)\n", r.Elapsed.Round(time.Millisecond))
	} else {
		fmt.Fprintf(&b, "\nFAIL (%s): %s\n", r.Elapsed.Round(time.Millisecond), strings.Join(r.Failures(), "; "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// rowVerdict compares a count with its accepted interval.
func rowVerdict(observed int, iv Interval, expectedPct float64) (string, bool) {
	switch {
	case iv.Contains(observed):
		return "ok", true
	case expectedPct == 0:
		return "FAIL: expected none", false
	case expectedPct == 100:
		return "FAIL: expected all", false
	case observed < iv.Lo:
		return "FAIL: too few", false
	default:
		return "FAIL: too many", false
	}
}

func sortedVersions(o *stacks.Outputs) []string {
	names := make([]string, 0, len(o.Versions))
	for n := range o.Versions {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
