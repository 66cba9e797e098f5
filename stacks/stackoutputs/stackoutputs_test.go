package stackoutputs

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelrollouts/modelrollouts/stacks"
)

const canaryOutputs = `{"strategy":"canary","namespace":"lab","ingressUrl":"http://127.0.0.1:8080",
"host":"model.lab.example.com","versions":{"v1":{"target":"one","host":"v1-model.lab.example.com","tag":"v1","percent":90},
"v2":{"target":"two","host":"v2-model.lab.example.com","tag":"v2","percent":10}},"split":{"v1":90,"v2":10},"kubeconfig":"[secret]"}`

const kubeconfigText = "apiVersion: v1\nkind: Config\nclusters: []\n"

// fakePulumi writes a stand-in for the pulumi CLI: `stack output --json`
// prints the outputs with the kubeconfig as "[secret]", `stack output
// kubeconfig --show-secrets` the kubeconfig itself, as the real one does
// for a stack it finds in $PULUMI_BACKEND_URL; each run's arguments and
// backend/passphrase go to a log. Only stacks listed in the backend's
// folder exist.
func fakePulumi(t *testing.T) (bin, log string) {
	t.Helper()
	dir := t.TempDir()
	log = filepath.Join(dir, "log")
	bin = filepath.Join(dir, "pulumi")
	script := `#!/bin/sh
echo "$* | backend=$PULUMI_BACKEND_URL passphrase=$PULUMI_CONFIG_PASSPHRASE" >> ` + log + `
stack=""; prev=""
for a in "$@"; do [ "$prev" = "--stack" ] && stack="$a"; prev="$a"; done
state="${PULUMI_BACKEND_URL#file://}"
if [ ! -e "$state/$stack" ]; then echo "error: no stack named '$stack' found" >&2; exit 255; fi
case "$1 $2 $3 $4" in
"stack output --json --stack") cat <<'JSON'
` + canaryOutputs + `
JSON
;;
"stack output kubeconfig --show-secrets") [ -e "$state/$stack.nokubeconfig" ] && { echo "error: current stack does not have output property 'kubeconfig'" >&2; exit 255; }
printf '%s' '` + kubeconfigText + `' ;;
*) echo "unexpected: $*" >&2; exit 3 ;;
esac
`
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, log
}

// project makes a project folder with Pulumi.yaml and a file backend
// holding the named stacks.
func project(t *testing.T, stackNames ...string) string {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), []byte("name: modelrollouts\nruntime: go\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, StateDir), 0o755)
	for _, s := range stackNames {
		os.WriteFile(filepath.Join(dir, StateDir, s), nil, 0o644)
	}
	return dir
}

func unsetBackendEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{"PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"} {
		t.Setenv(k, "") // restored after the test
		os.Unsetenv(k)
	}
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
// as make does, not in the user's default backend.
func TestStackIsReadFromTheProjectsBackendLikeMake(t *testing.T) {
	unsetBackendEnv(t)
	bin, log := fakePulumi(t)
	dir := project(t, "dev")
	o, err := Load(context.Background(), Source{Stack: "dev", Cwd: dir, Pulumi: bin})
	if err != nil {
		t.Fatal(err)
	}
	if o.Host != "model.lab.example.com" || o.Kubeconfig != "" {
		t.Errorf("host %q kubeconfig %q", o.Host, o.Kubeconfig)
	}
	kc, err := Kubeconfig(context.Background(), Source{Stack: "dev", Cwd: dir, Pulumi: bin}, o)
	if err != nil || kc != strings.TrimSpace(kubeconfigText) {
		t.Errorf("kubeconfig %q, %v", kc, err)
	}
	got, _ := os.ReadFile(log)
	want := "stack output --json --stack dev --non-interactive --cwd " + dir + " | backend=file://" + filepath.Join(dir, StateDir) + " passphrase=" + LabPassphrase + "\n" +
		"stack output kubeconfig --show-secrets --stack dev --non-interactive --cwd " + dir + " | backend=file://" + filepath.Join(dir, StateDir) + " passphrase=" + LabPassphrase + "\n"
	if string(got) != want {
		t.Errorf("pulumi ran as\n%s\nwant\n%s", got, want)
	}
}

// From a subfolder, without --cwd, the project is the folder above with
// Pulumi.yaml.
func TestStackIsFoundFromASubfolder(t *testing.T) {
	unsetBackendEnv(t)
	bin, log := fakePulumi(t)
	dir := project(t, "dev")
	sub := filepath.Join(dir, "cmd", "rollout")
	os.MkdirAll(sub, 0o755)
	t.Chdir(sub)
	if _, err := Load(context.Background(), Source{Stack: "dev", Pulumi: bin}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(log); !strings.Contains(string(got), "backend=file://"+filepath.Join(dir, StateDir)+" ") {
		t.Errorf("pulumi ran as %s", got)
	}
}

// PULUMI_BACKEND_URL and PULUMI_CONFIG_PASSPHRASE win, as in
// hack/lib/pulumi-env.sh; an empty passphrase set on purpose stays empty.
func TestTheUsersBackendAndPassphraseWin(t *testing.T) {
	unsetBackendEnv(t)
	bin, log := fakePulumi(t)
	other := project(t, "dev")
	t.Setenv("PULUMI_BACKEND_URL", "file://"+filepath.Join(other, StateDir))
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "")
	if _, err := Load(context.Background(), Source{Stack: "dev", Cwd: project(t), Pulumi: bin}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(log); !strings.HasSuffix(string(got), "backend=file://"+filepath.Join(other, StateDir)+" passphrase=\n") {
		t.Errorf("pulumi ran as %s", got)
	}
}

// A stack that is not there is named with the backend looked in and what
// to do, whether the backend folder exists or not.
func TestAMissingStackSaysWhichBackendItLookedIn(t *testing.T) {
	unsetBackendEnv(t)
	bin, _ := fakePulumi(t)
	withState := project(t, "shadow")
	noState := t.TempDir()
	os.WriteFile(filepath.Join(noState, "Pulumi.yaml"), []byte("name: modelrollouts\n"), 0o644)
	for _, dir := range []string{withState, noState} {
		_, err := Load(context.Background(), Source{Stack: "dev", Cwd: dir, Pulumi: bin})
		for _, want := range []string{`no stack "dev"`, "the project's backend file://" + filepath.Join(dir, StateDir), "PULUMI_BACKEND_URL is not set", "make up STACK=dev"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: err %v lacks %q", dir, err, want)
			}
		}
	}
	t.Setenv("PULUMI_BACKEND_URL", "file://"+filepath.Join(withState, StateDir))
	_, err := Load(context.Background(), Source{Stack: "dev", Cwd: noState, Pulumi: bin})
	if err == nil || !strings.Contains(err.Error(), "backend file://"+filepath.Join(withState, StateDir)+" (PULUMI_BACKEND_URL)") {
		t.Errorf("err %v does not name the user's backend", err)
	}
}

// A stack without a kubeconfig output (an existing cluster) has none;
// other CLI failures keep the CLI's words.
func TestKubeconfigOfAStackWithoutOne(t *testing.T) {
	unsetBackendEnv(t)
	bin, _ := fakePulumi(t)
	dir := project(t, "cloud", "cloud.nokubeconfig")
	kc, err := Kubeconfig(context.Background(), Source{Stack: "cloud", Cwd: dir, Pulumi: bin}, &stacks.Outputs{})
	if err != nil || kc != "" {
		t.Errorf("kubeconfig %q, %v; want none", kc, err)
	}
	_, err = Load(context.Background(), Source{Stack: "dev", Cwd: dir, Pulumi: filepath.Join(t.TempDir(), "absent")})
	if err == nil || !strings.Contains(err.Error(), "pulumi CLI is not on PATH") {
		t.Errorf("an absent CLI: %v", err)
	}
}
