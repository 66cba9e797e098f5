package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/modelrollouts/modelrollouts/internal/labtest"
	"github.com/modelrollouts/modelrollouts/stacks"
	"github.com/modelrollouts/modelrollouts/stacks/stackoutputs/stackoutputstest"
)

// The lab's seed fixes its picks, so 300 user requests pass every time.
//
// `go run ./cmd/smoke --stack shadow` from the project, as the README
// types it, without the sourced environment: the outputs come from the
// project's .pulumi-state (where `make up` wrote them), the kubeconfig in
// them is "[secret]" as `pulumi stack output --json` prints it, and the
// shadow's two pods are counted through the ingress. The shadow check
// used to take "[secret]" for a kubeconfig and fail on every kind stack.
func TestStackShadowPassesWithTheKubeconfigShownAsSecret(t *testing.T) {
	log := stackoutputstest.Install(t)
	lab := labtest.NewShadow(t, labtest.Version{Name: "v1", Target: "one", Replicas: 2},
		labtest.Version{Name: "v2", Target: "two", Bias: 0.5, Replicas: 2}, 50, 601)
	lab.Outputs.Kubeconfig = stacks.SecretPlaceholder
	b, err := json.Marshal(lab.Outputs)
	if err != nil {
		t.Fatal(err)
	}
	dir := stackoutputstest.Project(t, map[string]stackoutputstest.Stack{"shadow": {Outputs: string(b), Kubeconfig: "not: a cluster of this test"}})
	t.Chdir(dir)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--stack", "shadow", "--wake-timeout", "5s", "--n", "300", "--progress=false"}, &out, &errb, false); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	calls, _ := os.ReadFile(log)
	if !strings.Contains(string(calls), "stack output --json --stack shadow --non-interactive | backend=file://"+dir+"/.pulumi-state ") ||
		strings.Contains(string(calls), "--show-secrets") {
		t.Errorf("pulumi ran as:\n%s", calls)
	}
}

// The kubeconfig is fetched on purpose where one is needed (--pods
// kubernetes), into memory: a secret the outputs hid is not an error.
func TestPodsThroughKubernetesFetchTheSecretKubeconfigOnPurpose(t *testing.T) {
	log := stackoutputstest.Install(t)
	lab := labtest.NewShadow(t, labtest.Version{Name: "v1", Target: "one", Replicas: 2},
		labtest.Version{Name: "v2", Target: "two", Bias: 0.5, Replicas: 2}, 50, 602)
	lab.KubeAPI(t)
	kubeconfig := lab.Outputs.Kubeconfig
	lab.Outputs.Kubeconfig = stacks.SecretPlaceholder
	b, _ := json.Marshal(lab.Outputs)
	dir := stackoutputstest.Project(t, map[string]stackoutputstest.Stack{"shadow": {Outputs: string(b), Kubeconfig: kubeconfig}})
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"--stack", "shadow", "--cwd", dir, "--pods", "kubernetes", "--wake-timeout", "5s", "--n", "300", "--progress=false"}, &out, &errb, false)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	if calls, _ := os.ReadFile(log); !strings.Contains(string(calls), "stack output kubeconfig --show-secrets --stack shadow") {
		t.Errorf("pulumi ran as:\n%s", calls)
	}
	if strings.Contains(out.String()+errb.String(), "kind: Config") {
		t.Error("the kubeconfig was printed")
	}
}

// A stack not in the project's backend is named, with the backend.
func TestAMissingStackNamesTheBackend(t *testing.T) {
	stackoutputstest.Install(t)
	dir := stackoutputstest.Project(t, nil)
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"--stack", "dev", "--cwd", dir}, &out, &errb, false)
	if code != exitError || !strings.Contains(errb.String(), `no stack "dev" in the project's backend file://`+dir+"/.pulumi-state") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}

// --wait-timeout was renamed --wake-timeout, the rollout gate's name for
// the same wait; the old name still works and says so.
func TestTheOldWaitTimeoutStillWorksAndWarns(t *testing.T) {
	var out, errb bytes.Buffer
	run(context.Background(), []string{"--wait-timeout", "1s", "--outputs", "/nonexistent.json"}, &out, &errb, false)
	if !strings.Contains(errb.String(), "--wait-timeout is deprecated and will go: use --wake-timeout") {
		t.Errorf("stderr %q", errb.String())
	}
}

// An existing cluster whose load balancer has no address yet: smoke says
// the ingress is pending and how to set it, and exits 2 (could not run).
func TestAPendingIngressExits2SayingHowToSetIt(t *testing.T) {
	f := t.TempDir() + "/outputs.json"
	os.WriteFile(f, []byte(`{"strategy":"canary","namespace":"m","host":"h","versions":{"v1":{"target":"a"}},
		"ingressPending":"the gateway Service has no load balancer address yet: set cluster.ingressUrl"}`), 0o600)
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"--outputs", f}, &out, &errb, false)
	if code != exitError || !strings.Contains(errb.String(), "stack output ingressUrl is empty: the gateway Service has no load balancer address yet: set cluster.ingressUrl") {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}
