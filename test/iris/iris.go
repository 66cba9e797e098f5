// Package iris is what the tests that serve the sklearn-iris example
// (examples/sklearn-iris: a logistic regression v1 and a random forest
// v2) share: Debian's Python, the example's training, the borderline
// flowers they send, the OIP v2 request for one, and scikit-learn's own
// predictions, the truth the served answers and the shadow report are
// held to. test/models and the byo journey use it.
package iris

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os/exec"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// Python is Debian's, which imports python3-sklearn, -fastapi and
// -uvicorn (the pyenv python3 first on PATH does not).
const Python = "/usr/bin/python3"

// AptFix installs the modules the example's servers need.
const AptFix = "apt-get install -y python3-sklearn python3-fastapi python3-uvicorn"

// Missing says why Python cannot run the example (with the fix), or nil.
func Missing() error {
	out, err := exec.Command(Python, "-c", "import sklearn, joblib, numpy, fastapi, uvicorn").CombinedOutput()
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s cannot import the sklearn-iris example's modules (%v): %s\nfix: %s", Python, err, bytes.TrimSpace(out), AptFix)
}

// Train runs the example's train.py (seeded, so the same models every
// run) from exampleDir into out: out/v1/model.joblib, out/v2/model.joblib.
func Train(exampleDir, out string) error {
	cmd := exec.Command(Python, "train.py", "--out", out)
	cmd.Dir = exampleDir
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("examples/sklearn-iris/train.py: %v\n%s", err, msg)
	}
	return nil
}

// BorderlinePoints are n seeded iris-like flowers between versicolor and
// virginica, where the logistic regression and the forest disagree now
// and then.
func BorderlinePoints(n int, seed uint64) [][4]float64 {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	pts := make([][4]float64, n)
	for i := range pts {
		u := func(lo, hi float64) float64 { return float64(int((lo+rng.Float64()*(hi-lo))*10)) / 10 }
		pts[i] = [4]float64{u(5.5, 7.0), u(2.4, 3.2), u(4.3, 5.4), u(1.3, 1.9)}
	}
	return pts
}

// InferBody is a user's OIP v2 infer request for one flower: one row of
// four features.
func InferBody(id string, p [4]float64) []byte {
	b, _ := json.Marshal(map[string]any{"id": id, "inputs": []map[string]any{{
		"name": "input-0", "shape": []int{1, 4}, "datatype": "FP64", "data": [][4]float64{p}}}})
	return b
}

// Predictions loads both saved models under modelDir in Debian's Python
// and predicts pts with scikit-learn itself.
func Predictions(modelDir string, pts [][4]float64) (v1, v2 []int64, err error) {
	const script = `import json, sys, joblib, numpy as np
d, pts = sys.argv[1], np.array(json.load(sys.stdin), dtype=np.float64)
print(json.dumps({v: joblib.load(f"{d}/{v}/model.joblib").predict(pts).astype(int).tolist() for v in ("v1", "v2")}))`
	in, _ := json.Marshal(pts)
	cmd := exec.Command(Python, "-c", script, modelDir)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, nil, fmt.Errorf("predict with scikit-learn: %v\n%s", err, stderr.String())
	}
	var pred map[string][]int64
	if err := json.Unmarshal(out, &pred); err != nil {
		return nil, nil, fmt.Errorf("scikit-learn's predictions: %v", err)
	}
	if len(pred["v1"]) != len(pts) || len(pred["v2"]) != len(pts) {
		return nil, nil, fmt.Errorf("scikit-learn predicted %d and %d of %d points", len(pred["v1"]), len(pred["v2"]), len(pts))
	}
	return pred["v1"], pred["v2"], nil
}

// ServedPrediction is the one class an iris server answered, or -1.
func ServedPrediction(body []byte) int64 {
	var r modelapi.InferResponse
	if json.Unmarshal(body, &r) != nil || len(r.Outputs) != 1 || len(r.Outputs[0].Data) != 1 {
		return -1
	}
	return int64(r.Outputs[0].Data[0])
}
