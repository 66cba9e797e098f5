package smoke

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
		if below := binomCDF(iv.Lo-1, tc.n, tc.p); below > tc.a/2 {
			t.Errorf("%+v: P(X<%d)=%g > alpha/2", tc, iv.Lo, below)
		}
		if above := 1 - binomCDF(iv.Hi, tc.n, tc.p); above > tc.a/2+1e-12 {
			t.Errorf("%+v: P(X>%d)=%g > alpha/2", tc, iv.Hi, above)
		}
		// Tight: one step in would break the bound.
		if iv.Lo > 0 && binomCDF(iv.Lo, tc.n, tc.p) <= tc.a/2 {
			t.Errorf("%+v: Lo %d is not tight", tc, iv.Lo)
		}
		if iv.Hi > 0 && 1-binomCDF(iv.Hi-1, tc.n, tc.p) <= tc.a/2 {
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

func TestSampleSizeShrinksAsMarginGrows(t *testing.T) {
	for _, shares := range [][]float64{{.9, .1}, {.5, .5}, {.6, .3, .1}, {.98, .02}, {1}} {
		prev := math.MaxInt
		for _, m := range []float64{.01, .02, .03, .05, .08, .1, .15, .2} {
			n := CanarySampleSize(shares, m, .01, .95)
			if n > prev {
				t.Errorf("shares %v: N=%d at margin %g > N=%d at a smaller margin", shares, n, m, prev)
			}
			if n < 1 {
				t.Errorf("shares %v margin %g: N=%d", shares, m, n)
			}
			prev = n
		}
	}
	// More power or a stricter alpha needs more requests.
	base := CanarySampleSize([]float64{.9, .1}, .05, .01, .95)
	if CanarySampleSize([]float64{.9, .1}, .05, .01, .99) <= base || CanarySampleSize([]float64{.9, .1}, .05, .001, .95) <= base {
		t.Error("N does not grow with power or with a stricter alpha")
	}
}

func TestSampleSizeValues(t *testing.T) {
	// Normal approximation for 10% vs 15% at alpha 1%, power 95%:
	// ((2.576·0.3 + 1.645·0.357)/0.05)² ≈ 740; the exact test needs a bit more.
	if n := CanarySampleSize([]float64{.9, .1}, .05, .01, .95); n < 740 || n > 820 {
		t.Errorf("90/10: N=%d, want about 740-820", n)
	}
	if n := MirrorSampleSize(.5, .05, .01, .95); n < 1700 || n > 1900 {
		t.Errorf("mirror 50%%: N=%d, want about 1780", n)
	}
	if n := LeakSampleSize(.05, .95); n != 59 {
		t.Errorf("leak N=%d, want 59 (0.95^59 < 0.05 <= 0.95^58)", n)
	}
	if n := MirrorSampleSize(0, .05, .01, .95); n != 59 {
		t.Errorf("mirror 0%%: N=%d, want the leak size 59", n)
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
		if got := b.delay(i).Seconds(); math.Abs(got-w) > 1e-9 {
			t.Errorf("delay(%d)=%gs, want %gs", i, got, w)
		}
	}
}

func TestSumCounter(t *testing.T) {
	text := []byte(`# HELP model_echo_requests_total x
# TYPE model_echo_requests_total counter
model_echo_requests_total{code="200",route="/v2/models/{name}/infer",version="v2"} 41
model_echo_requests_total{code="500",route="/v2/models/{name}/infer",version="v2"} 1
model_echo_requests_total{code="200",route="/",version="v2"} 7
model_echo_requests_total{code="200",route="/v2/models/{name}/infer",version="v1"} 100
model_echo_requests_total_other{route="/v2/models/{name}/infer",version="v2"} 5
`)
	got, ok := sumCounter(text, "model_echo_requests_total", map[string]string{"version": "v2", "route": "/v2/models/{name}/infer"})
	if !ok || got != 42 {
		t.Errorf("sum=%g found=%v, want 42", got, ok)
	}
	if _, ok := sumCounter(text, "model_echo_requests_total", map[string]string{"version": "v9"}); ok {
		t.Error("found a series for an absent version")
	}
	if l := parseLabels(`a="x\"y",b="z"`); l["a"] != `x"y` || l["b"] != "z" {
		t.Errorf("parseLabels: %v", l)
	}
}
