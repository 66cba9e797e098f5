package rollout

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/gate"
)

// Exit codes of `rollout check` (and of the other commands on errors).
const (
	ExitPromote      = 0
	ExitRollback     = 1
	ExitError        = 2
	ExitInconclusive = 3
)

// Report is one gate check: what was judged against what, from which
// data, how, and the verdict. `check --json` prints it; advance and
// rollback read it back as the evidence of their PR.
type Report struct {
	Source string `json:"source"`
	// Command reproduces the check.
	Command string `json:"command"`
	// Data is where the numbers came from: probes of each version's own
	// host, or a Prometheus server.
	Data      string `json:"data"`
	Candidate string `json:"candidate"`
	Baseline  string `json:"baseline"`
	// CandidatePercent is the candidate's deployed share when checked.
	CandidatePercent int           `json:"candidatePercent"`
	Steps            []int         `json:"steps,omitempty"`
	Settings         gate.Settings `json:"settings"`
	Result           *gate.Result  `json:"result"`
	Split            *SplitCheck   `json:"split,omitempty"`
	// Notes are caveats a reader must see (answers without a version).
	Notes   []string      `json:"notes,omitempty"`
	Elapsed time.Duration `json:"-"` // elapsedMs, see MarshalJSON
}

// SplitCheck is the user host's split measured against the deployed one.
type SplitCheck struct {
	Requests int            `json:"requests"`
	Expected map[string]int `json:"expectedPercent"`
	Observed map[string]int `json:"observed"`
	OK       bool           `json:"ok"`
	// Unconfirmed: the counts differ from the split, but failed answers
	// that named no version could account for the difference.
	Unconfirmed bool   `json:"unconfirmed,omitempty"`
	Detail      string `json:"detail"`
	// Method names the test, its α and power.
	Method string `json:"method"`
}

// Verdict is the report's verdict.
func (r *Report) Verdict() gate.Verdict { return r.Result.Verdict }

// ExitCode is the exit status the verdict maps to.
func (r *Report) ExitCode() int {
	switch r.Result.Verdict {
	case gate.Promote:
		return ExitPromote
	case gate.Rollback:
		return ExitRollback
	}
	return ExitInconclusive
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// ReadReport reads a report written by WriteJSON.
func ReadReport(data []byte) (*Report, error) {
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decode gate report: %w", err)
	}
	if r.Result == nil || r.Candidate == "" {
		return nil, fmt.Errorf("not a gate report (no result or candidate): write one with `rollout check --json`")
	}
	return &r, nil
}

// WriteText writes the report for people: the table, the criteria, the
// method and the verdict.
func (r *Report) WriteText(w io.Writer) error {
	res := r.Result
	fmt.Fprintf(w, "rollout gate: %s against %s (%s; %s)\n\n", r.Candidate, r.Baseline, r.Source, r.Data)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tROLE\tREQUESTS\tSUCCESS (CI)\tSAMPLE P50\tP95\tP99\tLATENCY VS BASELINE (CI)\tERRORS VS BASELINE (CI)\tVERDICT")
	for _, v := range res.Versions {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Version, v.Role, v.Requests,
			successCell(v.SuccessRate), msCell(v.SampleP50), msCell(v.SampleP95), msCell(v.SampleP99),
			latencyCell(v.LatencyDiff), errorCell(v.ErrorDiff), rowVerdict(v))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, ciLevels(r.Settings))
	fmt.Fprintln(w, "\ncriteria:")
	for _, c := range res.Criteria {
		at := ""
		if c.DecidedAt > 0 {
			at = fmt.Sprintf(" at %d", c.DecidedAt)
		}
		fmt.Fprintf(w, "  %-8s %s%s — %s\n           %s\n", stateWord(c.State), c.Name, at, c.Test, c.Detail)
	}
	if r.Split != nil {
		fmt.Fprintf(w, "\nsplit on the user host: %s\n           %s\n", r.Split.Detail, r.Split.Method)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "\nnote: %s\n", n)
	}
	fmt.Fprintf(w, "\nmethod: %s\n", res.Method)
	fmt.Fprintf(w, "requests: %d per version (budget %d; a fixed-N test with the same error rates needs %d)\n",
		res.Requests, res.MaxRequests, res.FixedN)
	_, err := fmt.Fprintf(w, "\nverdict: %s (exit %d): %s\n", strings.ToUpper(string(res.Verdict)), r.ExitCode(), res.Reason)
	return err
}

// WriteMarkdown writes the evidence section of a PR body.
func (r *Report) WriteMarkdown(w io.Writer) {
	res := r.Result
	fmt.Fprintf(w, "**Verdict: %s** — %s.\n\n", res.Verdict, res.Reason)
	fmt.Fprintf(w, "Measured from %s (%s), candidate at %d%%.\n\n", r.Data, r.Source, r.CandidatePercent)
	fmt.Fprintln(w, "| version | role | requests | success (CI) | sample p50 | p95 | p99 | latency vs baseline (CI) | errors vs baseline (CI) | verdict |")
	fmt.Fprintln(w, "|---|---|---:|---|---:|---:|---:|---|---|---|")
	for _, v := range res.Versions {
		fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", v.Version, v.Role, v.Requests,
			successCell(v.SuccessRate), msCell(v.SampleP50), msCell(v.SampleP95), msCell(v.SampleP99),
			latencyCell(v.LatencyDiff), errorCell(v.ErrorDiff), rowVerdict(v))
	}
	fmt.Fprintln(w, "\n"+ciLevels(r.Settings))
	fmt.Fprintln(w, "\n| criterion | test | state | evidence |\n|---|---|---|---|")
	for _, c := range res.Criteria {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", c.Name, c.Test, stateWord(c.State), c.Detail)
	}
	if r.Split != nil {
		fmt.Fprintf(w, "\nSplit on the user host: %s\n", r.Split.Detail)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "\n> **Note:** %s\n", n)
	}
	fmt.Fprintf(w, "\nMethod: %s. Requests: %d per version (a fixed-N test with the same error rates needs %d).\n",
		res.Method, res.Requests, res.FixedN)
}

func stateWord(v gate.Verdict) string {
	switch v {
	case gate.Promote:
		return "met"
	case gate.Rollback:
		return "BROKEN"
	}
	return "open"
}

func rowVerdict(v gate.VersionRow) string {
	if v.Role == "baseline" {
		switch v.Verdict {
		case gate.Promote:
			return "meets SLOs"
		case gate.Rollback:
			return "breaks an SLO"
		}
		return "SLOs undecided"
	}
	return string(v.Verdict)
}

func successCell(iv gate.Interval) string {
	return fmt.Sprintf("%.2f%% (%.2f–%.2f)", 100*iv.Estimate, 100*iv.Lo, 100*iv.Hi)
}

func msCell(ms float64) string {
	if ms >= 100 {
		return fmt.Sprintf("%.0fms", ms)
	}
	return fmt.Sprintf("%.1fms", ms)
}

func latencyCell(iv *gate.Interval) string {
	if iv == nil {
		return "—"
	}
	return fmt.Sprintf("%+.1f%% (%s to %s)", 100*iv.Estimate, pct(iv.Lo), pct(iv.Hi))
}

func errorCell(iv *gate.Interval) string {
	if iv == nil {
		return "—"
	}
	return fmt.Sprintf("%+.2f pts (%+.2f to %+.2f)", 100*iv.Estimate, 100*iv.Lo, 100*iv.Hi)
}

func pct(x float64) string {
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return "?"
	}
	return fmt.Sprintf("%+.1f%%", 100*x)
}

// ciLevels says at which confidence the table's bounds are: anytime-valid,
// each bound at the level of the decision it drives.
func ciLevels(s gate.Settings) string {
	return fmt.Sprintf("CI: anytime-valid bounds at the levels the verdicts use: the side that promotes at %.3g%% (power), the side that rolls back at %.4g%% (α %.3g over %d criteria). "+
		"Sample p50/p95/p99: the measured answers' quantiles (lower order statistic), for reading; the p99 SLO is judged on the count of answers over %s",
		100*s.Power, 100*(1-s.Alpha/gate.Criteria), s.Alpha, gate.Criteria, s.MaxP99)
}
