package rollout

// The measurement core shared with smoke (internal/measure): the one
// client that reaches versions through the ingress by Host, the exact
// binomial split test and the progress bar. Everything the gate uses of
// it goes through here.

import (
	"io"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/measure"
	"github.com/modelrollouts/modelrollouts/internal/smoke"
)

type (
	client   = measure.Client
	answer   = measure.Answer
	progress = measure.Progress
)

func newClient(ingress string, timeout time.Duration, concurrency int) (*client, error) {
	// No retries: a request that got no answer is a failure of the
	// version, evidence the gate must count.
	return measure.NewClient(ingress, measure.ClientOptions{Timeout: timeout, MaxConns: concurrency})
}

// failed is a failure as error budgets count it: no answer, or a 5xx.
func failed(a answer) bool { return a.Failed() }

// NewProgress is a progress bar on w (a redrawn line on a terminal).
func NewProgress(w io.Writer, tty bool) *progress { return measure.NewProgress(w, tty) }

// splitSampleSize is the number of user requests that catches any share
// off by margin with the given power, as smoke plans it.
func splitSampleSize(shares []float64, margin, alpha, power float64) int {
	return smoke.CanarySampleSize(shares, margin, alpha, power)
}

// testShares is the exact binomial split test.
func testShares(counts []int, shares []float64, alpha float64) (ok []bool, intervals []string) {
	ivs, oks := measure.TestShares(counts, shares, alpha)
	for _, iv := range ivs {
		intervals = append(intervals, iv.String())
	}
	return oks, intervals
}
