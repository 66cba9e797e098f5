package report

import (
	"math"
	"strings"
	"testing"

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
