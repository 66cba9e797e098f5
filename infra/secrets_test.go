package infra

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"

	"github.com/modelrollouts/modelrollouts/internal/mocks"
	"github.com/modelrollouts/modelrollouts/stacks"
)

// labSalt is the encryptionsalt `make stack` wrote into Pulumi.dev.yaml
// with the lab passphrase: a real one, made by the Pulumi CLI.
func labSalt(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "Pulumi.dev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "encryptionsalt: "); ok {
			return v
		}
	}
	t.Fatal("Pulumi.dev.yaml has no encryptionsalt")
	return ""
}

// saltFor makes a passphrase stack's encryptionsalt the way the CLI does.
func saltFor(t *testing.T, phrase string) string {
	t.Helper()
	salt := []byte("8 bytes!")
	msg, err := config.NewSymmetricCrypterFromPassphrase(phrase, salt).EncryptValue(context.Background(), "pulumi")
	if err != nil {
		t.Fatal(err)
	}
	return "v1:" + base64.StdEncoding.EncodeToString(salt) + ":" + msg
}

func stackFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "Pulumi.cloud.yaml")
	if err := os.WriteFile(path, []byte("config:\n  modelrollouts:strategy: canary\n"+body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var existing = &stacks.Config{Cluster: stacks.ClusterConfig{Type: stacks.ClusterExisting}}

func TestTheCommittedStacksSaltsOpenWithTheLabPassphraseOnly(t *testing.T) {
	salt := labSalt(t)
	if !saltOpensWith(salt, LabPassphrase) {
		t.Fatal("Pulumi.dev.yaml's salt does not open with the lab passphrase: the check tests the wrong thing")
	}
	if saltOpensWith(salt, "modelrollouts-lab2") {
		t.Fatal("a salt opens with any passphrase")
	}
}

func TestAnExistingClusterOnTheLabPassphraseIsRefusedWithWhatToDo(t *testing.T) {
	path := stackFile(t, "encryptionsalt: "+labSalt(t)+"\n")
	err := refuseLabPassphrase(existing, path)
	if err == nil {
		t.Fatal("an existing cluster's stack keyed with the public lab passphrase runs")
	}
	for _, want := range []string{"cluster.type is existing", "PULUMI_CONFIG_PASSPHRASE", "pulumi stack change-secrets-provider", path} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q: %v", want, err)
		}
	}
}

func TestAnExistingClusterWithItsOwnSecretsRuns(t *testing.T) {
	for name, body := range map[string]string{
		"its own passphrase":           "encryptionsalt: " + saltFor(t, "correct horse battery staple") + "\n",
		"a KMS secrets provider":       "secretsprovider: awskms://alias/modelrollouts\nencryptedkey: AQICAHh=\n",
		"the Pulumi Cloud service":     "",
		"passphrase named, own phrase": "secretsprovider: passphrase\nencryptionsalt: " + saltFor(t, "s3cret") + "\n",
	} {
		if err := refuseLabPassphrase(existing, stackFile(t, body)); err != nil {
			t.Errorf("%s: refused: %v", name, err)
		}
	}
	if err := refuseLabPassphrase(existing, filepath.Join(t.TempDir(), "Pulumi.none.yaml")); err != nil {
		t.Errorf("a stack without a settings file: %v", err)
	}
}

func TestAKindLabMayKeepTheLabPassphrase(t *testing.T) {
	kind := &stacks.Config{Cluster: stacks.ClusterConfig{Type: stacks.ClusterKind}}
	if err := refuseLabPassphrase(kind, stackFile(t, "encryptionsalt: "+labSalt(t)+"\n")); err != nil {
		t.Fatalf("a kind stack is refused: %v", err)
	}
}

// The program itself refuses at startup, whatever started it (`pulumi up`,
// the Automation API), before it registers anything.
func TestTheProgramRefusesAnExistingClusterOnTheLabPassphraseBeforeRegistering(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "Pulumi.cloud.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := stacks.ConfigMap(data)
	if err != nil {
		t.Fatal(err)
	}
	project := t.TempDir()
	// mocks.Run names the stack "test".
	for name, body := range map[string]string{
		"Pulumi.yaml":      "name: modelrollouts\nruntime: go\n",
		"Pulumi.test.yaml": string(data) + "\nencryptionsalt: " + labSalt(t) + "\n",
	} {
		if err := os.WriteFile(filepath.Join(project, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(project)
	rec, err := mocks.Run(Program, cfg)
	if err == nil || !strings.Contains(err.Error(), "PULUMI_CONFIG_PASSPHRASE") {
		t.Fatalf("the program ran an existing cluster on the lab passphrase: %v", err)
	}
	if got := rec.Resources(); len(got) != 0 {
		t.Errorf("registered %d resources before refusing", len(got))
	}
}

// An inline program is not told where its project is: ProgramIn reads the
// stack file of the project it names, not of the working directory (the
// journeys run one checkout's program from another's directory).
func TestProgramInReadsTheNamedProjectsStackFileNotTheWorkingDirectorys(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "Pulumi.cloud.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := stacks.ConfigMap(data)
	if err != nil {
		t.Fatal(err)
	}
	project := func(salt string) string {
		dir := t.TempDir()
		for name, body := range map[string]string{
			"Pulumi.yaml":      "name: modelrollouts\nruntime: go\n",
			"Pulumi.test.yaml": string(data) + salt,
		} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	labKeyed, ownKeyed := project("\nencryptionsalt: "+labSalt(t)+"\n"), project("")
	t.Chdir(ownKeyed)
	if _, err := mocks.Run(ProgramIn(labKeyed), cfg); err == nil || !strings.Contains(err.Error(), filepath.Join(labKeyed, "Pulumi.test.yaml")) {
		t.Errorf("ProgramIn(%s) run from %s did not refuse that project's lab-keyed stack: %v", labKeyed, ownKeyed, err)
	}
	t.Chdir(labKeyed)
	if _, err := mocks.Run(ProgramIn(ownKeyed), cfg); err != nil && strings.Contains(err.Error(), "PULUMI_CONFIG_PASSPHRASE") {
		t.Errorf("ProgramIn(%s) read the working directory's lab-keyed stack file: %v", ownKeyed, err)
	}
}

// hack/lib/pulumi-env.sh gives stacks the same passphrase this package
// refuses on an existing cluster.
func TestTheShellsLabPassphraseIsTheOneTheProgramRefuses(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "hack", "lib", "pulumi-env.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "\nMODELROLLOUTS_LAB_PASSPHRASE="+LabPassphrase+"\n") {
		t.Errorf("hack/lib/pulumi-env.sh does not set MODELROLLOUTS_LAB_PASSPHRASE=%s", LabPassphrase)
	}
}
