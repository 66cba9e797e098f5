package rollout

// The measurement core shared with smoke (internal/measure): the one
// client that reaches versions through the ingress by Host, the exact
// binomial split test and the progress bar. Everything the gate uses of
// it goes through here.

import (
	"fmt"
	"io"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/measure"
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

// The split check asks whether the stack is at the step it says. A
// refused split stops the step (exit 2), so the check runs at its own
// small α, apart from the gate's: at the gate's 2% one correct step in
// fifty would stop for nothing. It sends enough requests to see a share
// SplitMargin off with the gate's power, and a 1% leak to a 0% version.
const (
	SplitAlpha  = 0.001
	SplitMargin = 0.05
	splitLeak   = 0.01
)

// splitPlan is the split check's test: its size and the level of each
// share test (SplitAlpha shared out over the independent ones).
type splitPlan struct {
	requests  int
	testAlpha float64
	power     float64
}

func planSplit(shares []float64, power float64) splitPlan {
	pl := splitPlan{testAlpha: measure.BonferroniAlpha(SplitAlpha, measure.ShareTests(shares)), power: power}
	for _, s := range shares {
		if s <= 0 || s >= 1 {
			pl.requests = max(pl.requests, measure.LeakSampleSize(splitLeak, power))
			continue
		}
		pl.requests = max(pl.requests, measure.SampleSizeShare(s, SplitMargin, pl.testAlpha, power))
	}
	return pl
}

// method says the test, its α and its power for n requests, for the
// report.
func (pl splitPlan) method(n int) string {
	size := fmt.Sprintf("%d requests see a share %g points off with %.0f%% power", n, 100*SplitMargin, 100*pl.power)
	if n != pl.requests {
		size = fmt.Sprintf("%d requests (--split-requests; %d would see a share %g points off with %.0f%% power)", n, pl.requests, 100*SplitMargin, 100*pl.power)
	}
	return fmt.Sprintf("exact two-sided binomial test of each share, α %g over the split (%g each); %s; any answer from a 0%% version fails",
		SplitAlpha, pl.testAlpha, size)
}

// testShares is the exact binomial split test.
func testShares(counts []int, shares []float64, alpha float64) (ok []bool, intervals []string) {
	ivs, oks := measure.TestShares(counts, shares, alpha)
	for _, iv := range ivs {
		intervals = append(intervals, iv.String())
	}
	return oks, intervals
}
