package labtest

import "math/rand/v2"

// weightedPick draws one of order by its weight (any scale, 0 for none):
// the user host's split in both labs. order is fixed (sorted) and rng is
// drawn once per request under the caller's lock, so a seed gives a test
// the same per-version counts on every run.
func weightedPick(rng *rand.Rand, order []string, weights map[string]float64) string {
	total := 0.0
	for _, n := range order {
		total += weights[n]
	}
	if total <= 0 {
		return ""
	}
	x := rng.Float64() * total
	last := ""
	for _, n := range order {
		if weights[n] <= 0 {
			continue // never a version without weight, not even by rounding
		}
		if x < weights[n] {
			return n
		}
		x -= weights[n]
		last = n
	}
	return last
}
