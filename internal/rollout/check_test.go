package rollout

import "testing"

// Failures no version claims may be the missing answers of a version
// short of its share, but cannot excuse a version with too many.
func TestSplitFitsWithUnclaimedFailures(t *testing.T) {
	shares := []float64{0.9, 0.1}
	for _, tc := range []struct {
		name   string
		counts []int
		extra  int
		fits   bool
	}{
		{"the candidate's missing answers failed in the mesh", []int{900, 40}, 60, true},
		{"too few failures to make up the shortfall", []int{900, 40}, 5, false},
		{"a version with too many answers is not excused", []int{700, 300}, 50, false},
		{"no failures, a right split", []int{900, 100}, 0, true},
	} {
		if got := splitFitsWith(tc.counts, shares, tc.extra, 0.02); got != tc.fits {
			t.Errorf("%s: splitFitsWith(%v, +%d) = %v, want %v", tc.name, tc.counts, tc.extra, got, tc.fits)
		}
	}
}
