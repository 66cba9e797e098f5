//go:build slow

package node

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
	"github.com/modelrollouts/modelrollouts/test/journey/lab/podaddr"
)

// The byo journey's pod shape on the node: examples/sklearn-iris's
// server.py under Debian's Python (as the journey runs the image, on HOST
// and PORT, with the image's MODEL_PATH) and model-agent beside it. The
// agent reaches the model on the pod's loopback, answers with its version
// header and writes the payload events into its own container's log.
func TestAnOwnPythonModelServesBehindModelAgentInOnePod(t *testing.T) {
	const python = "/usr/bin/python3"
	if out, err := exec.Command(python, "-c", "import sklearn, joblib, fastapi, uvicorn").CombinedOutput(); err != nil {
		t.Skipf("%s cannot import the sklearn-iris example's modules (%v): %s; fix: apt-get install -y python3-sklearn python3-fastapi python3-uvicorn",
			python, err, bytes.TrimSpace(out))
	}
	example, _ := filepath.Abs("../../../../examples/sklearn-iris")
	models := t.TempDir()
	train := exec.Command(python, "train.py", "--out", models)
	train.Dir = example
	if out, err := train.CombinedOutput(); err != nil {
		t.Fatalf("train.py: %v\n%s", err, out)
	}
	agent := buildCommand(t, "model-agent")
	_, client, ctx := startNode(t, func(c corev1.Container) (Process, error) {
		if slices.Equal(c.Command, modelapi.AgentCommand) {
			return Process{Path: agent}, nil
		}
		return Process{Path: "/bin/sh", Args: []string{"-c", `exec ` + python + ` -m uvicorn server:app --host "$HOST" --port "$PORT"`},
			Env: []string{"MODEL_NAME=iris", "MODEL_PATH=" + filepath.Join(models, "v1", "model.joblib")}, Dir: example}, nil
	})
	p := agentPod("iris")
	p.Spec.Containers[0].Image = "dev.local/sklearn-iris:v1"
	p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: modelapi.EnvModelName, Value: "model"}, {Name: modelapi.EnvModelVersion, Value: "v1"},
		{Name: modelapi.EnvPort, Value: "8081"}}
	p.Spec.Containers[1].Env = append(p.Spec.Containers[1].Env, corev1.EnvVar{Name: modelapi.EnvPayloadLog, Value: "true"})
	if _, err := client.CoreV1().Pods("models").Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// scikit-learn's import takes seconds on a loaded machine.
	deadline := time.Now().Add(2 * time.Minute)
	for !podReady(getPod(t, ctx, client, "iris")) {
		if time.Now().After(deadline) {
			_, model := containerLogs(t, ctx, client, "iris", modelapi.ContainerName, "")
			t.Fatalf("pod iris not Ready: %+v\nmodel log:\n%s", getPod(t, ctx, client, "iris").Status.ContainerStatuses, model)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ip := podaddr.Loopback(getPod(t, ctx, client, "iris").Status.PodIP)
	body := `{"id":"iris-0001","inputs":[{"name":"input-0","shape":[1,4],"datatype":"FP64","data":[[6.1,2.8,4.9,1.6]]}]}`
	resp, err := http.Post("http://"+ip+":8080"+modelapi.InferPath("model"), "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var r modelapi.InferResponse
	if resp.StatusCode != http.StatusOK || resp.Header.Get(modelapi.HeaderModelVersion) != "v1" || json.Unmarshal(answer, &r) != nil || len(r.Outputs) != 1 {
		t.Fatalf("infer through the agent: %d %q %s", resp.StatusCode, resp.Header.Get(modelapi.HeaderModelVersion), answer)
	}
	waitFor(t, "the request's payload events in model-agent's log", func() bool {
		_, log := containerLogs(t, ctx, client, "iris", modelapi.AgentContainerName, "")
		return strings.Count(log, `"id":"iris-0001"`) >= 2 // request and response
	})
}
