package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/shadow/stats"
)

// Markdown renders the document as report.md.
func Markdown(d *Document) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	s := d.Summary
	conf := pct(s.Confidence)
	p("# Shadow report: %s (primary) vs %s (shadow)\n\n", s.Primary, s.Shadow)
	p("Source: %s. Requests from %s to %s. Generated %s by %s.\n\n",
		d.Source, stampPtr(s.From), stampPtr(s.To), stamp(d.Generated), d.Tool)
	for _, l := range verdicts(d) {
		p("- %s\n", l)
	}

	p("\n## Requests\n\n| | count |\n| --- | ---: |\n")
	r := s.Requests
	for _, row := range []struct {
		name string
		n    int64
	}{
		{"user requests seen (rows of pairs.jsonl)", r.Seen},
		{"paired (primary and shadow logged it)", r.Paired},
		{"primary only (not mirrored)", r.PrimaryOnly},
		{"shadow only (mirrored copy without a primary record: unmatched)", r.ShadowOnly},
		{"primary: request without response", r.PrimaryWithoutResponse},
		{"primary: response without request", r.PrimaryWithoutRequest},
		{"shadow: request without response", r.ShadowWithoutResponse},
		{"shadow: response without request", r.ShadowWithoutRequest},
		{"id reused (another request carried its id: not compared)", r.IDReused},
	} {
		p("| %s | %d |\n", row.name, row.n)
	}

	m := s.Mirror
	p("\n## Mirrored share\n\n")
	p("Observed %s of the user requests the primary logged mirrored (%d copies of %d), %s CI %s.",
		pct(m.Observed.Estimate), m.Copies, m.Requests, conf, ciPct(m.Observed))
	if m.CopiesWithoutPrimary > 0 {
		p(" %s", missingPrimaryLogs(m))
	}
	if m.Configured != nil {
		p(" %s", mirrorTest(m))
	}
	p("\nTest: %s.\n", m.Test)

	a := s.Agreement
	p("\n## Agreement\n\n")
	p("%d of %d pairs with both answers agree under an absolute tolerance of %g: %s, %s Wilson CI %s.\n",
		a.Agreeing, a.Compared, a.Tolerance, pct(a.Rate.Estimate), conf, ciPct(a.Rate))
	if a.MinAgreement != nil {
		p("\nGate `--min-agreement %g`: %s.", *a.MinAgreement, gateVerdict(a))
		if a.PassingRate != nil {
			p(" With %d pairs, a true agreement of %s passes with probability %.0f%%.", a.Compared, pct(*a.PassingRate), 100*a.Power)
		}
		p("\n")
	}
	if s.Requests.IDReused > 0 {
		p("\n%d requests shared their id with another request (`id_reused`): they hold no copy (whose it is the logs cannot say) and are not compared.\n", s.Requests.IDReused)
	}
	p("\nAgree: the same status and, for 200, every output element within the tolerance. Test: %s.\n", a.Test)

	p("\n## Output differences (|shadow - primary|)\n\n")
	if len(s.Outputs) == 0 {
		p("No pair with two comparable successful answers.\n")
	} else {
		p("| output | pairs | elements | max | mean |\n| --- | ---: | ---: | ---: | ---: |\n")
		for _, o := range s.Outputs {
			p("| %s | %d | %d | %.6g | %.6g |\n", o.Name, o.Pairs, o.Elements, o.Max, o.Mean)
		}
	}

	l := s.Latency
	p("\n## Latency (ms, server side)\n\n| | n | p50 | p95 | p99 |\n| --- | ---: | ---: | ---: | ---: |\n")
	for _, row := range []struct {
		name string
		q    stats.Quantiles
	}{{s.Primary + " (primary)", l.Primary}, {s.Shadow + " (shadow)", l.Shadow}, {"shadow - primary", l.Difference}} {
		p("| %s | %d | %s | %s | %s |\n", row.name, row.q.N, ciMs(row.q.P50), ciMs(row.q.P95), ciMs(row.q.P99))
	}
	p("\nBrackets: %s intervals. Method: %s.\n", conf, l.Method)

	e := s.Errors
	p("\n## Errors\n\n| | responses | errors | rate (%s CI) |\n| --- | ---: | ---: | --- |\n", conf)
	p("| %s (primary) | %d | %d | %s %s |\n", s.Primary, e.Primary.Responses, e.Primary.Errors, pct(e.Primary.Rate.Estimate), ciPct(e.Primary.Rate))
	p("| %s (shadow) | %d | %d | %s %s |\n", s.Shadow, e.Shadow.Responses, e.Shadow.Errors, pct(e.Shadow.Rate.Estimate), ciPct(e.Shadow.Rate))
	p("\nErrors: %s.\n", e.Test)

	in := d.Inputs
	p("\n## Inputs\n\n%d logs, %d lines, %d events; %d other JSON lines (request log); skipped: %d malformed (truncated, interleaved or not JSON), %d invalid events, %d too long.",
		len(in.Logs), in.Lines.Lines, in.Lines.Events, in.Lines.Other, in.Lines.Malformed, in.Lines.Invalid, in.Lines.TooLong)
	j := in.Join
	p(" Not paired: %d duplicate events, %d events of direct requests to the shadow, %d mirrored copies at the primary, %d events of other versions, %d late events, %d events of a reused id that fit none of its requests. %d user requests outside the time window.\n",
		j.Duplicates, j.DirectToShadow, j.MirroredAtPrimary, j.OtherVersions, j.Late, j.Unattributed, in.OutsideWindow)
	p("\n| log | events | other | malformed | invalid | too long | error |\n| --- | ---: | ---: | ---: | ---: | ---: | --- |\n")
	for _, lg := range in.Logs {
		c := lg.Counts
		p("| %s | %d | %d | %d | %d | %d | %s |\n", lg.Name, c.Events, c.Other, c.Malformed, c.Invalid, c.TooLong, lg.Error)
	}
	p("\nData: `%s` and `%s`, one row per user request.\n", d.Files.Pairs, d.Files.Parquet)
	return b.String()
}

// verdicts are the headline sentences.
func verdicts(d *Document) []string {
	s := d.Summary
	var out []string
	a := s.Agreement
	line := fmt.Sprintf("Agreement %s (%s CI %s) over %d compared pairs, tolerance %g.",
		pct(a.Rate.Estimate), pct(s.Confidence), ciPct(a.Rate), a.Compared, a.Tolerance)
	if a.MinAgreement != nil {
		line += fmt.Sprintf(" Gate %g: %s.", *a.MinAgreement, gateVerdict(a))
	}
	out = append(out, line)
	m := s.Mirror
	line = fmt.Sprintf("Mirrored %s of %d user requests (CI %s)", pct(m.Observed.Estimate), m.Requests, ciPct(m.Observed))
	if m.Configured != nil {
		line += fmt.Sprintf(", configured %s: %s.", pct(*m.Configured),
			map[bool]string{true: "consistent", false: "NOT consistent"}[*m.Consistent])
	} else {
		line += "."
	}
	out = append(out, line)
	l := s.Latency
	out = append(out, fmt.Sprintf("p99 latency %s ms (primary) vs %s ms (shadow); difference %s ms.",
		num(l.Primary.P99.Estimate), num(l.Shadow.P99.Estimate), ciMs(l.Difference.P99)))
	if m.CopiesWithoutPrimary > 0 {
		out = append(out, missingPrimaryLogs(m))
	}
	if n := s.Requests.IDReused; n > 0 {
		out = append(out, fmt.Sprintf("%d requests reused another request's id (id_reused): kept in the data without copies, not compared.", n))
	}
	e := s.Errors
	out = append(out, fmt.Sprintf("Errors %s (primary) vs %s (shadow).", pct(e.Primary.Rate.Estimate), pct(e.Shadow.Rate.Estimate)))
	if d.Inputs.Lines.Skipped() > 0 {
		out = append(out, fmt.Sprintf("%d log lines skipped (malformed, invalid or too long); see Inputs.", d.Inputs.Lines.Skipped()))
	}
	return out
}

// missingPrimaryLogs says that copies have no primary record: the
// primary's logs are incomplete, which is not a mirrored-share shift.
func missingPrimaryLogs(m stats.Mirror) string {
	all := m.Copies + m.CopiesWithoutPrimary
	return fmt.Sprintf("Primary logs missing: %d of %d mirrored copies (%s) have no primary record "+
		"(a primary pod's log not read, or cut by the time window); left out of the mirrored share.",
		m.CopiesWithoutPrimary, all, pct(float64(m.CopiesWithoutPrimary)/float64(all)))
}

// mirrorTest is the test of the configured share, in words.
func mirrorTest(m stats.Mirror) string {
	verdict := "NOT consistent with the configuration"
	if *m.Consistent {
		verdict = "consistent with the configuration"
	}
	line := fmt.Sprintf("Configured %s: %.0f copies expected, %.0f missing. Score test p = %s at α = %g: %s.",
		pct(*m.Configured), *m.ExpectedCopies, *m.MissingCopies, pValue(m), m.Alpha, verdict)
	if m.DetectableShift != nil {
		line += fmt.Sprintf(" With %d requests a shift of %s from the configured share is caught with power %.0f%%.",
			m.Requests, pctPoints(*m.DetectableShift), 100*m.Power)
	}
	return line
}

// pValue prints a p-value in two significant digits; one too small for a
// float64 as the power of ten its logarithm gives.
func pValue(m stats.Mirror) string {
	if *m.PValue > 0 || m.Log10PValue == nil {
		return strconv.FormatFloat(*m.PValue, 'g', 2, 64)
	}
	return fmt.Sprintf("10^%.1f", *m.Log10PValue)
}

// gateVerdict says whether the gate passed and compares the interval's
// lower bound with the minimum in as many digits as it takes to tell
// them apart: a bound of 0.94599 against a gate of 0.946 must not read
// "94.60%" on both sides.
func gateVerdict(a stats.Agreement) string {
	if a.MinAgreement == nil || a.GatePassed == nil {
		return ""
	}
	if a.Compared == 0 {
		return "FAILED (no pair to compare)"
	}
	low, min := shareDigits(a.Rate.Low, *a.MinAgreement)
	if *a.GatePassed {
		return fmt.Sprintf("passed (lower bound %s >= %s)", low, min)
	}
	return fmt.Sprintf("FAILED (lower bound %s < %s)", low, min)
}

// shareDigits formats two shares with 4 decimals, or more until they differ.
func shareDigits(a, b float64) (string, string) {
	for d := 4; ; d++ {
		sa, sb := strconv.FormatFloat(a, 'f', d, 64), strconv.FormatFloat(b, 'f', d, 64)
		if sa != sb || d >= 12 {
			return sa, sb
		}
	}
}

func pct(f float64) string {
	if math.IsNaN(f) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f%%", 100*f)
}

func pctPoints(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f points", 100*f)
}

func ciPct(i stats.Interval) string {
	if math.IsNaN(i.Low) || math.IsNaN(i.High) {
		return "[n/a]"
	}
	return fmt.Sprintf("[%.2f%%, %.2f%%]", 100*i.Low, 100*i.High)
}

func num(f float64) string {
	if math.IsNaN(f) {
		return "n/a"
	}
	return fmt.Sprintf("%.3g", f)
}

// ciMs is an estimate in ms with its interval; a bound the sample is too
// small to give (p99 of 100 values has no upper one) reads ∞.
func ciMs(i stats.Interval) string {
	if math.IsNaN(i.Estimate) {
		return "n/a"
	}
	bound := func(f float64) string {
		switch {
		case math.IsInf(f, 1):
			return "∞"
		case math.IsInf(f, -1):
			return "-∞"
		}
		return fmt.Sprintf("%.3g", f)
	}
	return fmt.Sprintf("%.3g [%s, %s]", i.Estimate, bound(i.Low), bound(i.High))
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "n/a"
	}
	return t.UTC().Format(time.RFC3339)
}

func stampPtr(t *time.Time) string {
	if t == nil {
		return "n/a"
	}
	return stamp(*t)
}
