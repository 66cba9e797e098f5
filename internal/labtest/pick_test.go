package labtest

import (
	"math/rand/v2"
	"testing"
)

// The one weighted pick both labs route by: a version without weight is
// never drawn, and the shares come out as weighted (seeded; 100,000 draws
// put 10% within ±0.5 points with chance 1 - 1e-6).
func TestWeightedPickFollowsTheWeightsAndNeverPicksAZeroWeight(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	order := []string{"v1", "v2", "v3"}
	weights := map[string]float64{"v1": 90, "v2": 10, "v3": 0}
	counts := map[string]int{}
	const n = 100_000
	for range n {
		counts[weightedPick(rng, order, weights)]++
	}
	if counts["v3"] != 0 || counts[""] != 0 {
		t.Fatalf("counts %v: a zero weight (or nothing) was picked", counts)
	}
	if share := float64(counts["v2"]) / n; share < 0.095 || share > 0.105 {
		t.Fatalf("v2 got %.4f of picks, want 0.10", share)
	}
	if got := weightedPick(rng, order, map[string]float64{}); got != "" {
		t.Fatalf("no weights picked %q, want none", got)
	}
}
