package measure

import (
	"math"
	"testing"
)

func TestAcceptIntervalTails(t *testing.T) {
	for _, tc := range []struct {
		n    int
		p, a float64
	}{{764, 0.1, 0.01}, {764, 0.9, 0.01}, {2055, 0.3, 0.01 / 3}, {59, 0.5, 0.01}, {10, 0.02, 0.05}} {
		iv := AcceptInterval(tc.n, tc.p, tc.a)
		if below := BinomCDF(iv.Lo-1, tc.n, tc.p); below > tc.a/2 {
			t.Errorf("%+v: P(X<%d)=%g > alpha/2", tc, iv.Lo, below)
		}
		if above := 1 - BinomCDF(iv.Hi, tc.n, tc.p); above > tc.a/2+1e-12 {
			t.Errorf("%+v: P(X>%d)=%g > alpha/2", tc, iv.Hi, above)
		}
		// Tight: one step in would break the bound.
		if iv.Lo > 0 && BinomCDF(iv.Lo, tc.n, tc.p) <= tc.a/2 {
			t.Errorf("%+v: Lo %d is not tight", tc, iv.Lo)
		}
		if iv.Hi > 0 && 1-BinomCDF(iv.Hi-1, tc.n, tc.p) <= tc.a/2 {
			t.Errorf("%+v: Hi %d is not tight", tc, iv.Hi)
		}
	}
	if iv := AcceptInterval(100, 0, 0.01); iv.Lo != 0 || iv.Hi != 0 {
		t.Errorf("0%% share accepts %v, want exactly 0", iv)
	}
	if iv := AcceptInterval(100, 1, 0.01); iv.Lo != 100 || iv.Hi != 100 {
		t.Errorf("100%% share accepts %v, want exactly all", iv)
	}
}

func TestChiSquareGOF(t *testing.T) {
	stat, df, p := ChiSquareGOF([]int{10, 20, 0}, []float64{15, 15, 0})
	if math.Abs(stat-10.0/3) > 1e-9 || df != 1 || math.Abs(p-0.0679) > 1e-3 {
		t.Errorf("got X²=%g df=%d p=%g, want 3.333, 1, 0.0679", stat, df, p)
	}
	if _, df, p := ChiSquareGOF([]int{30}, []float64{30}); df != 0 || !math.IsNaN(p) {
		t.Errorf("single category: df=%d p=%g, want no test", df, p)
	}
}

func TestBackoffDelays(t *testing.T) {
	b := DefaultBackoff
	want := []float64{.2, .4, .8, 1.6, 3.2, 5, 5}
	for i, w := range want {
		if got := b.Delay(i).Seconds(); math.Abs(got-w) > 1e-9 {
			t.Errorf("delay(%d)=%gs, want %gs", i, got, w)
		}
	}
}

func TestErrorLimitNeverRoundsATolerancedBudgetToZero(t *testing.T) {
	// The old limit was int(0.01·N): 0 for N < 100, so one failure failed
	// a run. The exact limit lets a version at the tolerated rate pass.
	for _, n := range []int{1, 10, 59, 99, 100, 300} {
		lim := ErrorLimit(n, .01, .01)
		if n >= 10 && lim < 1 {
			t.Errorf("N=%d: limit %d, want >= 1", n, lim)
		}
		if fa := ErrorPower(n, .01, .01, .01); fa > .01+1e-12 {
			t.Errorf("N=%d: a version failing at exactly 1%% fails the budget with probability %g > alpha", n, fa)
		}
		if lim > 0 && 1-BinomCDF(lim-1, n, .01) <= .01 {
			t.Errorf("N=%d: limit %d is not tight", n, lim)
		}
	}
	if ErrorLimit(500, 0, .01) != 0 {
		t.Error("a zero tolerance must accept no failure")
	}
}

func TestErrorSampleSizeReachesPower(t *testing.T) {
	for _, tc := range []struct{ tol, detect, alpha float64 }{{.01, .05, .01}, {.01, .05, .0025}, {.01, .03, .01}, {0, .05, .01}} {
		n := ErrorSampleSize(tc.tol, tc.detect, tc.alpha, .95)
		if pw := ErrorPower(n, tc.tol, tc.detect, tc.alpha); pw < .95 {
			t.Errorf("%+v: N=%d has power %g", tc, n, pw)
		}
		if pw := ErrorPower(n/2, tc.tol, tc.detect, tc.alpha); pw >= .95 {
			t.Errorf("%+v: N=%d is far more than needed (N/2 has power %g)", tc, n, pw)
		}
		if d := DetectableErrorRate(n, tc.tol, tc.alpha, .95); d > tc.detect+.001 {
			t.Errorf("%+v: N=%d detects %g, want <= %g", tc, n, d, tc.detect)
		}
	}
}

func TestLeakSampleSizeAndDetectableLeak(t *testing.T) {
	if n := LeakSampleSize(.01, .95); n != 299 {
		t.Errorf("1%% leak N=%d, want 299 (0.99^299 < 0.05 <= 0.99^298)", n)
	}
	if n := LeakSampleSize(.05, .95); n != 59 {
		t.Errorf("5%% leak N=%d, want 59", n)
	}
	// N=59 catches a 1% leak less than half the time.
	if d := DetectableLeak(59, .95); d < .049 || d > .051 {
		t.Errorf("N=59 detects a %.3f leak, want 0.05", d)
	}
	if p := 1 - math.Pow(.99, 59); p > .5 {
		t.Errorf("arithmetic: %g", p)
	}
	if d := DetectableLeak(299, .95); d > .01 {
		t.Errorf("N=299 detects %.4f, want <= 0.01", d)
	}
}

func TestShareTests(t *testing.T) {
	for _, tc := range []struct {
		shares []float64
		want   int
	}{{[]float64{1}, 0}, {[]float64{1, 0}, 0}, {[]float64{.9, .1}, 1}, {[]float64{.9, .1, 0}, 1}, {[]float64{.6, .3, .1}, 3}} {
		if got := ShareTests(tc.shares); got != tc.want {
			t.Errorf("%v: %d tests, want %d", tc.shares, got, tc.want)
		}
	}
}
