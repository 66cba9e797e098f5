package stackoutputs_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelrollouts/modelrollouts/stacks"
	"github.com/modelrollouts/modelrollouts/stacks/stackoutputs"
	"github.com/modelrollouts/modelrollouts/stacks/stackoutputs/stackoutputstest"
)

const canaryOutputs = `{"strategy":"canary","namespace":"lab","ingressUrl":"http://127.0.0.1:8080",
"host":"model.lab.example.com","versions":{"v1":{"target":"one","host":"v1-model.lab.example.com","tag":"v1","percent":90},
"v2":{"target":"two","host":"v2-model.lab.example.com","tag":"v2","percent":10}},"split":{"v1":90,"v2":10},"kubeconfig":"[secret]"}`

const kubeconfigText = "apiVersion: v1\nkind: Config\nclusters: []\n"

type Source = stackoutputs.Source

var (
	Load       = stackoutputs.Load
	Decode     = stackoutputs.Decode
	Kubeconfig = stackoutputs.Kubeconfig
	StateDir   = stackoutputs.StateDir
)

func devProject(t *testing.T) string {
	return stackoutputstest.Project(t, map[string]stackoutputstest.Stack{"dev": {Outputs: canaryOutputs, Kubeconfig: kubeconfigText}})
}

func TestLoadOutputsFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "out.json")
	os.WriteFile(f, []byte(canaryOutputs), 0o600)
	o, err := Load(context.Background(), Source{File: f})
	if err != nil {
		t.Fatal(err)
	}
	if o.Split["v2"] != 10 || o.Versions["v1"].Host != "v1-model.lab.example.com" {
		t.Errorf("decoded %+v", o)
	}
	if _, err := Load(context.Background(), Source{File: filepath.Join(t.TempDir(), "missing.json")}); err == nil {
		t.Error("a missing file loaded")
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"strategy":"canary"}`), 0o600)
	if _, err := Load(context.Background(), Source{File: bad}); err == nil || !strings.Contains(err.Error(), "ingressUrl") {
		t.Errorf("outputs without an ingress: err=%v", err)
	}
	if _, err := Load(context.Background(), Source{}); err == nil {
		t.Error("no source loaded")
	}
}

// "[secret]" is what the CLI prints for a secret it was not asked to show:
// never a kubeconfig, from a file as from the CLI.
func TestTheSecretPlaceholderIsNoKubeconfig(t *testing.T) {
	f := filepath.Join(t.TempDir(), "out.json")
	os.WriteFile(f, []byte(canaryOutputs), 0o600)
	for _, load := range []func(context.Context, Source) (*stacks.Outputs, error){Load, Decode} {
		o, err := load(context.Background(), Source{File: f})
		if err != nil {
			t.Fatal(err)
		}
		if o.Kubeconfig != "" {
			t.Errorf("kubeconfig %q, want none", o.Kubeconfig)
		}
		kc, err := Kubeconfig(context.Background(), Source{File: f}, o)
		if err != nil || kc != "" {
			t.Errorf("a file's kubeconfig: %q, %v; want none (it was saved without --show-secrets)", kc, err)
		}
	}
}

// `--stack dev` as the README types it, without the sourced environment:
// the CLI looks in the project's .pulumi-state with the lab's passphrase,
// as make does, not in the user's default backend; the kubeconfig is
// asked for on purpose, apart from the outputs.
func TestStackIsReadFromTheProjectsBackendLikeMake(t *testing.T) {
	log := stackoutputstest.Install(t)
	dir := devProject(t)
	o, err := Load(context.Background(), Source{Stack: "dev", Cwd: dir})
	if err != nil {
		t.Fatal(err)
	}
	if o.Host != "model.lab.example.com" || o.Kubeconfig != "" {
		t.Errorf("host %q kubeconfig %q", o.Host, o.Kubeconfig)
	}
	kc, err := Kubeconfig(context.Background(), Source{Stack: "dev", Cwd: dir}, o)
	if err != nil || kc != strings.TrimSpace(kubeconfigText) {
		t.Errorf("kubeconfig %q, %v", kc, err)
	}
	got, _ := os.ReadFile(log)
	env := " | backend=file://" + filepath.Join(dir, StateDir) + " passphrase=" + stackoutputs.LabPassphrase + "\n"
	want := "stack output --json --stack dev --non-interactive --cwd " + dir + env +
		"stack output kubeconfig --show-secrets --stack dev --non-interactive --cwd " + dir + env
	if string(got) != want {
		t.Errorf("pulumi ran as\n%s\nwant\n%s", got, want)
	}
}

// From a subfolder, without --cwd, the project is the folder above with
// Pulumi.yaml.
func TestStackIsFoundFromASubfolder(t *testing.T) {
	log := stackoutputstest.Install(t)
	dir := devProject(t)
	sub := filepath.Join(dir, "cmd", "rollout")
	os.MkdirAll(sub, 0o755)
	t.Chdir(sub)
	if _, err := Load(context.Background(), Source{Stack: "dev"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(log); !strings.Contains(string(got), "backend=file://"+filepath.Join(dir, StateDir)+" ") {
		t.Errorf("pulumi ran as %s", got)
	}
}

// PULUMI_BACKEND_URL and PULUMI_CONFIG_PASSPHRASE win, as in
// hack/lib/pulumi-env.sh; an empty passphrase set on purpose stays empty.
func TestTheUsersBackendAndPassphraseWin(t *testing.T) {
	log := stackoutputstest.Install(t)
	other := devProject(t)
	t.Setenv("PULUMI_BACKEND_URL", "file://"+filepath.Join(other, StateDir))
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "")
	if _, err := Load(context.Background(), Source{Stack: "dev", Cwd: stackoutputstest.Project(t, nil)}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(log); !strings.HasSuffix(string(got), "backend=file://"+filepath.Join(other, StateDir)+" passphrase=\n") {
		t.Errorf("pulumi ran as %s", got)
	}
}

// A stack that is not there is named with the backend looked in and what
// to do, whether the backend folder exists or not.
func TestAMissingStackSaysWhichBackendItLookedIn(t *testing.T) {
	stackoutputstest.Install(t)
	withState := stackoutputstest.Project(t, map[string]stackoutputstest.Stack{"shadow": {Outputs: canaryOutputs}})
	noState := t.TempDir()
	os.WriteFile(filepath.Join(noState, "Pulumi.yaml"), []byte("name: modelrollouts\n"), 0o644)
	for _, dir := range []string{withState, noState} {
		_, err := Load(context.Background(), Source{Stack: "dev", Cwd: dir})
		for _, want := range []string{`no stack "dev"`, "the project's backend file://" + filepath.Join(dir, StateDir), "PULUMI_BACKEND_URL is not set", "make up STACK=dev"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: err %v lacks %q", dir, err, want)
			}
		}
	}
	t.Setenv("PULUMI_BACKEND_URL", "file://"+filepath.Join(withState, StateDir))
	_, err := Load(context.Background(), Source{Stack: "dev", Cwd: noState})
	if err == nil || !strings.Contains(err.Error(), "backend file://"+filepath.Join(withState, StateDir)+" (PULUMI_BACKEND_URL)") {
		t.Errorf("err %v does not name the user's backend", err)
	}
}

// A stack without a kubeconfig output (an existing cluster) has none; an
// absent CLI says so.
func TestKubeconfigOfAStackWithoutOne(t *testing.T) {
	stackoutputstest.Install(t)
	dir := stackoutputstest.Project(t, map[string]stackoutputstest.Stack{"cloud": {Outputs: canaryOutputs}})
	kc, err := Kubeconfig(context.Background(), Source{Stack: "cloud", Cwd: dir}, &stacks.Outputs{})
	if err != nil || kc != "" {
		t.Errorf("kubeconfig %q, %v; want none", kc, err)
	}
	_, err = Load(context.Background(), Source{Stack: "cloud", Cwd: dir, Pulumi: filepath.Join(t.TempDir(), "absent")})
	if err == nil || !strings.Contains(err.Error(), "pulumi CLI is not on PATH") {
		t.Errorf("an absent CLI: %v", err)
	}
}

// An existing cluster's stack exports no kubeconfig: the tools reach it as
// the program did, by the stack file's cluster.kubeconfig and
// cluster.context (the journey's shadow-report fell back to the ambient
// kubeconfig, which that user did not have).
func TestAnExistingClustersStackIsReachedByItsStackFilesKubeconfigAndContext(t *testing.T) {
	stackoutputstest.Install(t)
	dir := stackoutputstest.Project(t, map[string]stackoutputstest.Stack{"mine": {Outputs: canaryOutputs}})
	file := "config:\n  modelrollouts:strategy: canary\n  modelrollouts:cluster:\n    type: existing\n    kubeconfig: kube/config\n    context: prod-eu\n  modelrollouts:image:\n    ref: ghcr.io/example/model-echo:1.0.0\n" +
		"  modelrollouts:canary:\n    versions:\n      - name: v1\n        target: model v1\n        percent: 100\n"
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.mine.yaml"), []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := stackoutputs.ClusterAccess(context.Background(), Source{Stack: "mine", Cwd: dir}, &stacks.Outputs{})
	if err != nil {
		t.Fatal(err)
	}
	if want := (stackoutputs.Cluster{Path: filepath.Join(dir, "kube", "config"), Context: "prod-eu"}); c != want {
		t.Errorf("cluster access %+v, want %+v", c, want)
	}
	kind, err := stackoutputs.ClusterAccess(context.Background(), Source{Stack: "dev", Cwd: devProject(t)}, &stacks.Outputs{})
	if err != nil || kind.Kubeconfig == "" || kind.Path != "" {
		t.Errorf("a kind stack's access %+v, %v: want its kubeconfig output", kind, err)
	}
}
