package smoke_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/labtest"
	"github.com/modelrollouts/modelrollouts/internal/smoke"
	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

const readyPath = "/v2/health/ready"

// modelBehindAgent answers like a model server behind model-agent: the
// version header on every answer, 404 on /, and readyStatus on the
// readiness path.
func modelBehindAgent(t *testing.T, version string, readyStatus int) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(modelapi.HeaderModelVersion, version)
		if r.URL.Path == readyPath {
			w.WriteHeader(readyStatus)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func agentCanary(t *testing.T, v2Ready int) *smoke.Report {
	lab := labtest.NewCanaryProxy(t, []labtest.Backend{
		{Name: "v1", Target: "v1", URL: modelBehindAgent(t, "v1", http.StatusOK), ReadinessPath: readyPath},
		{Name: "v2", Target: "v2", URL: modelBehindAgent(t, "v2", v2Ready), ReadinessPath: readyPath},
	}, map[string]int{"v1": 90, "v2": 10}, 1801)
	p := smoke.DefaultParams
	// alpha 1e-4: the chance the correct canary fails the check.
	p.Alpha, p.Settle, p.WaitTimeout, p.Pods = 1e-4, 2*time.Second, 2*time.Second, smoke.PodsIngress
	var progress bytes.Buffer
	rep, err := smoke.Run(context.Background(), lab.Outputs, p, smoke.NewProgress(&progress, false))
	if err != nil {
		t.Fatalf("smoke: %v\n%s", err, progress.String())
	}
	return rep
}

// A model that answers / with 404 behind the agent passes: smoke probes
// its readiness path and attributes the split by X-Model-Version.
func TestSmokeProbesTheReadinessPathOfAModelBehindTheAgent(t *testing.T) {
	if rep := agentCanary(t, http.StatusOK); !rep.Pass {
		t.Errorf("a correct 90/10 canary of models behind the agent failed: %v", rep.Failures())
	}
}

// The probe can fail: a version whose readiness path answers 503 fails.
func TestSmokeFailsAModelBehindTheAgentThatIsNotReady(t *testing.T) {
	if rep := agentCanary(t, http.StatusServiceUnavailable); rep.Pass {
		t.Error("a canary whose v2 answers 503 on its readiness path passed")
	}
}
