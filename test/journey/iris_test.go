//go:build journey

package journey

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// python is Debian's, with python3-sklearn, -fastapi and -uvicorn: what
// the byo journey's model servers and its independent predictions run on.
const python = "/usr/bin/python3"

// requireIris trains the example's two models (seeded, so the same
// models every run) for the sklearn-iris images to run, or says why it
// cannot: a skip, or a failure where the tier is required.
func requireIris(t *testing.T) {
	t.Helper()
	if out, err := exec.Command(python, "-c", "import sklearn, joblib, numpy, fastapi, uvicorn").CombinedOutput(); err != nil {
		msg := fmt.Sprintf("%s cannot import the sklearn-iris example's modules (%v): %s\nfix: apt-get install -y python3-sklearn python3-fastapi python3-uvicorn",
			python, err, bytes.TrimSpace(out))
		if required {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := filepath.Join(tier.work, "iris-models")
	cmd := exec.Command(python, "train.py", "--out", dir)
	cmd.Dir = filepath.Join(tier.checkout, "examples", "sklearn-iris")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("examples/sklearn-iris/train.py: %v\n%s", err, out)
	}
	tier.irisModels = dir
}

// irisPoints are seeded iris-like flowers between versicolor and
// virginica, where the logistic regression and the forest disagree now
// and then (as test/models draws them).
func irisPoints(n int, seed uint64) [][4]float64 {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	pts := make([][4]float64, n)
	for i := range pts {
		u := func(lo, hi float64) float64 { return float64(int((lo+rng.Float64()*(hi-lo))*10)) / 10 }
		pts[i] = [4]float64{u(5.5, 7.0), u(2.4, 3.2), u(4.3, 5.4), u(1.3, 1.9)}
	}
	return pts
}

func irisID(i int) string { return fmt.Sprintf("iris-%04d", i) }

// inferIris sends each point as a user's OIP v2 infer request (one row
// of four features, the request id iris-NNNN), four at a time.
func inferIris(t *testing.T, url, host, path string, pts [][4]float64) {
	t.Helper()
	var wg sync.WaitGroup
	work := make(chan int)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				body, _ := json.Marshal(map[string]any{"id": irisID(i), "inputs": []map[string]any{{
					"name": "input-0", "shape": []int{1, 4}, "datatype": "FP64", "data": [][4]float64{pts[i]}}}})
				req, _ := http.NewRequest(http.MethodPost, url+path, bytes.NewReader(body))
				req.Host = host
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(modelapi.HeaderRequestID, irisID(i))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					errorf(t, "user request %s: %v", irisID(i), err)
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errorf(t, "user request %s: status %d", irisID(i), resp.StatusCode)
				}
			}
		}()
	}
	for i := range pts {
		work <- i
	}
	close(work)
	wg.Wait()
}

// sklearnPredictions loads both saved models in Debian's Python and
// predicts the points: the truth the served answers and the report are
// held to.
func sklearnPredictions(t *testing.T, pts [][4]float64) (v1, v2 []int64) {
	t.Helper()
	const script = `import json, sys, joblib, numpy as np
d, pts = sys.argv[1], np.array(json.load(sys.stdin), dtype=np.float64)
print(json.dumps({v: joblib.load(f"{d}/{v}/model.joblib").predict(pts).astype(int).tolist() for v in ("v1", "v2")}))`
	in, _ := json.Marshal(pts)
	cmd := exec.Command(python, "-c", script, tier.irisModels)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("predict with scikit-learn: %v\n%s", err, stderr.String())
	}
	var pred map[string][]int64
	if err := json.Unmarshal(out, &pred); err != nil {
		t.Fatal(err)
	}
	if len(pred["v1"]) != len(pts) || len(pred["v2"]) != len(pts) {
		t.Fatalf("scikit-learn predicted %d and %d of %d points", len(pred["v1"]), len(pred["v2"]), len(pts))
	}
	return pred["v1"], pred["v2"]
}

// servedPrediction is the one class an iris server answered, or -1.
func servedPrediction(body []byte) int64 {
	var r modelapi.InferResponse
	if json.Unmarshal(body, &r) != nil || len(r.Outputs) != 1 || len(r.Outputs[0].Data) != 1 {
		return -1
	}
	return int64(r.Outputs[0].Data[0])
}
