//go:build journey

package journey

import (
	"bytes"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"testing"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
	"github.com/modelrollouts/modelrollouts/test/iris"
)

// requireIris trains the example's two models for the sklearn-iris
// images to run, or says why it cannot: a skip, or a failure where the
// tier is required.
func requireIris(t *testing.T) {
	t.Helper()
	if err := iris.Missing(); err != nil {
		if required {
			fatalf(t, "%v", err)
		}
		t.Skip(err)
	}
	dir := filepath.Join(tier.work, "iris-models")
	if err := iris.Train(filepath.Join(tier.checkout, "examples", "sklearn-iris"), dir); err != nil {
		fatalf(t, "%v", err)
	}
	tier.irisModels = dir
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
				req, _ := http.NewRequest(http.MethodPost, url+path, bytes.NewReader(iris.InferBody(irisID(i), pts[i])))
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

// sklearnPredictions is scikit-learn's own prediction of pts by both
// saved models: the truth the served answers and the report are held to.
func sklearnPredictions(t *testing.T, pts [][4]float64) (v1, v2 []int64) {
	t.Helper()
	v1, v2, err := iris.Predictions(tier.irisModels, pts)
	if err != nil {
		fatalf(t, "%v", err)
	}
	return v1, v2
}
