package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// REQUEST_ID_SEED makes the ids a server gives requests without one, and so
// the requests ERROR_RATE fails, repeat from run to run; unset, they differ.
func TestRequestIDSeedRepeatsIDsAndFailures(t *testing.T) {
	t.Parallel()
	cfg, err := ConfigFromEnv(env(map[string]string{"TARGET": "t", modelapi.EnvRequestIDSeed: "42", modelapi.EnvErrorRate: "0.3"}))
	if err != nil || cfg.RequestIDSeed != 42 {
		t.Fatalf("seed %d, err %v; want 42", cfg.RequestIDSeed, err)
	}
	if _, err := ConfigFromEnv(env(map[string]string{"TARGET": "t", modelapi.EnvRequestIDSeed: "-1"})); err == nil || !strings.Contains(err.Error(), modelapi.EnvRequestIDSeed) {
		t.Fatalf("a negative seed: %v, want an error naming %s", err, modelapi.EnvRequestIDSeed)
	}
	answers := func(seed uint64) string {
		c := cfg
		c.RequestIDSeed = seed
		s := New(c, nil)
		var out strings.Builder
		for range 20 {
			w := httptest.NewRecorder()
			s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
			out.WriteString(w.Header().Get(modelapi.HeaderRequestID) + " " + http.StatusText(w.Code) + "\n")
		}
		return out.String()
	}
	first := answers(42)
	if again := answers(42); again != first {
		t.Errorf("seed 42 twice gave\n%s\nthen\n%s", first, again)
	}
	if !strings.Contains(first, "Internal Server Error") || !strings.Contains(first, "OK") {
		t.Errorf("ERROR_RATE 0.3 over 20 requests failed none or all:\n%s", first)
	}
	if other := answers(43); other == first {
		t.Error("seeds 42 and 43 gave the same ids")
	}
	if answers(0) == answers(0) {
		t.Error("two unseeded servers gave the same ids")
	}
}
