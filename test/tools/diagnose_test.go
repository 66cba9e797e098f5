//go:build slow

package tools

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeKubectl answers like a cluster with a model pod (two containers), a
// Knative activator and an empty istio-system, where only the Istio
// VirtualService CRD exists; it logs every call. up=false: no cluster.
const fakeKubectl = `#!/usr/bin/env bash
echo "$*" >>"$KUBECTL_LOG"
args=" $* "
case "$args" in
  *" version "*) [[ "$FAKE_CLUSTER_UP" == 1 ]] || { echo "connection refused" >&2; exit 1; }; echo "Server Version: v1.37.0" ;;
  *" get pods -o jsonpath="*)
    case "$args" in
      *" -n models "*) echo "model-v1-abc istio-proxy model" ;;
      *" -n knative-serving "*) echo "activator-1 activator" ;;
    esac ;;
  *" get crd virtualservices.networking.istio.io "*) echo found ;;
  *" get crd ") echo "NAME" ;;
  *" get crd "*) exit 1 ;;
  *" logs "*"--previous"*) echo "previous terminated container not found" >&2; exit 1 ;;
  *" logs "*) echo "log line of $*" ;;
  *) echo "output of $*" ;;
esac
`

func diagnoseEnv(t *testing.T, up bool) (env []string, log string) {
	t.Helper()
	bin := t.TempDir()
	for _, tool := range []string{"bash", "env", "sed", "awk", "grep", "head", "mkdir", "rm", "chmod", "cat", "dirname", "go"} {
		path, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("needs %s: %v", tool, err)
		}
		os.Symlink(path, filepath.Join(bin, tool))
	}
	if err := os.WriteFile(filepath.Join(bin, "kubectl"), []byte(fakeKubectl), 0o755); err != nil {
		t.Fatal(err)
	}
	log = filepath.Join(t.TempDir(), "kubectl.log")
	upFlag := "0"
	if up {
		upFlag = "1"
	}
	return []string{"PATH=" + bin, "HOME=" + t.TempDir(), "KUBECTL_LOG=" + log, "FAKE_CLUSTER_UP=" + upFlag,
		"MODELROLLOUTS_DIAGNOSE_AMBIENT=1", "KUBECONFIG=/nonexistent/kubeconfig"}, log
}

// TestDiagnoseCollectsEveryNamespaceAndGoesOnPastFailures: the collector
// e2e.yml uploads writes get/describe and each container's logs for
// knative-serving, istio-system and the model namespace, skips what the
// cluster lacks (CRDs, previous containers) and exits 0.
func TestDiagnoseCollectsEveryNamespaceAndGoesOnPastFailures(t *testing.T) {
	root := repoRoot(t)
	env, log := diagnoseEnv(t, true)
	out := filepath.Join(t.TempDir(), "diag")
	r := command(t, root, env, filepath.Join(root, "hack/make-rules/diagnose.sh"), "dev", out)
	if r.code != 0 {
		t.Fatalf("diagnose exited %d:\n%s", r.code, r.stderr)
	}
	for _, f := range []string{
		"cluster.txt", "events.txt",
		"models/get.txt", "models/describe-pods.txt", "models/virtualservices.networking.istio.io.yaml",
		"models/logs/model-v1-abc.model.log", "models/logs/model-v1-abc.istio-proxy.log",
		"knative-serving/get.txt", "knative-serving/logs/activator-1.activator.log",
		"istio-system/get.txt", "istio-system/describe-pods.txt",
	} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("diagnostics lack %s", f)
		}
	}
	logData, _ := os.ReadFile(filepath.Join(out, "models/logs/model-v1-abc.model.log"))
	if !strings.Contains(string(logData), "log line of") || !strings.Contains(string(logData), "# exit status 0") {
		t.Errorf("model log file:\n%s", logData)
	}
	if _, err := os.Stat(filepath.Join(out, "models/logs/model-v1-abc.model.previous.log")); err == nil {
		t.Error("a previous-container log was kept although kubectl had none")
	}
	if _, err := os.Stat(filepath.Join(out, "models/routes.serving.knative.dev.yaml")); err == nil {
		t.Error("a Knative Route dump was written although its CRD is absent")
	}
	calls, _ := os.ReadFile(log)
	if !strings.Contains(string(calls), "--kubeconfig /nonexistent/kubeconfig") {
		t.Errorf("kubectl was not pointed at $KUBECONFIG:\n%s", calls)
	}
}

func TestDiagnoseWithoutAClusterSaysSo(t *testing.T) {
	root := repoRoot(t)
	env, _ := diagnoseEnv(t, false)
	r := command(t, root, env, filepath.Join(root, "hack/make-rules/diagnose.sh"), "dev", filepath.Join(t.TempDir(), "diag"))
	if r.code != 1 || !strings.Contains(r.stderr, "no cluster answers for stack dev") {
		t.Fatalf("exit %d, want 1 and a message:\n%s", r.code, r.stderr)
	}
}
