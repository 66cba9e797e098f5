package report

import (
	"fmt"
	"github.com/modelrollouts/modelrollouts/internal/shadow/join"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/shadow/stats"
)

// A latency bound the sample is too small for reads ∞, not "+Inf".
func TestLatencyBoundsTooFewToGiveReadInfinite(t *testing.T) {
	var d Document
	d.Primary, d.Shadow, d.Confidence = "v1", "v2", 0.95
	d.Latency.Difference.P99 = stats.Interval{Estimate: 0.5, Low: math.Inf(-1), High: math.Inf(1)}
	d.Latency.Primary.P99 = stats.Interval{Estimate: 1, Low: 0.9, High: math.Inf(1)}
	md := Markdown(&d)
	for _, want := range []string{"difference 0.5 [-∞, ∞] ms", "| 1 [0.9, ∞] |"} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "Inf") {
		t.Errorf("report.md prints Inf:\n%s", md)
	}
}

// docOf is the report of n requests, mirrored ones every mirrorEvery-th
// and copies without a primary record of orphans more.
func docOf(n, mirrorEvery, orphans int, percent float64) *Document {
	a := stats.NewAccumulator(stats.Options{Primary: "v1", Shadow: "v2", MirrorPercent: &percent})
	ok := []byte(`{"outputs":[{"name":"o","data":[1]}]}`)
	side := join.Side{Requested: true, Answered: true, Status: 200, Output: ok, Latency: time.Millisecond}
	for i := 0; i < n+orphans; i++ {
		p := &join.Pair{ID: fmt.Sprint(i), Time: time.Unix(int64(i), 0)}
		if i < n {
			p.Primary = side
		}
		if i >= n || (mirrorEvery > 0 && i%mirrorEvery == 0) {
			p.Shadow = side
		}
		a.Add(p, stats.Judge(p, 0))
	}
	s, _ := a.Summary()
	return &Document{Summary: *s}
}

// Figures print rounded to what they mean: α as 0.05 (not
// 0.050000000000000044), a p-value too small for a float64 as a power of
// ten rather than 0 or a blank.
func TestFiguresPrintRounded(t *testing.T) {
	d := docOf(20000, 0, 0, 50) // nothing mirrored of a 50% share: z = 141
	html, err := HTML(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"report.md": Markdown(d), "report.html": string(html)} {
		for _, want := range []string{"α = 0.05:", "p = 10^-4345.2 ", "NOT consistent", "10000 copies expected, 10000 missing"} {
			if !strings.Contains(text, want) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
		if strings.Contains(text, "0.0500000") || strings.Contains(text, "p = 0 ") {
			t.Errorf("%s prints unrounded or vanished figures", name)
		}
	}
}

// A primary pod's log missing leaves copies without a primary record:
// the report says so and the share stays consistent (it read 66.67%,
// "NOT consistent", before).
func TestMissingPrimaryLogsAreReportedAsSuch(t *testing.T) {
	d := docOf(1000, 2, 500, 50)
	md := Markdown(d)
	for _, want := range []string{"Primary logs missing: 500 of 1000 mirrored copies", "Mirrored 50.00% of 1000 user requests", "configured 50.00%: consistent"} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
}
