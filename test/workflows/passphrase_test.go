package workflows

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// refuse runs hack/lib/pulumi-env.sh's refuse_lab_passphrase on a stack
// file with env (PULUMI_CONFIG_PASSPHRASE unset unless env sets it).
func refuse(t *testing.T, stackFile string, env ...string) (int, string) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "Pulumi.cloud.yaml")
	if err := os.WriteFile(path, []byte(stackFile), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `source "$1/hack/lib/pulumi-env.sh" && refuse_lab_passphrase "$2"`
	cmd := exec.Command("bash", "-c", script, "bash", repoRoot(t), path)
	cmd.Env = append(withoutPulumiEnv(), "MODELROLLOUTS_PULUMI_DIR="+dir, "PULUMI_BACKEND_URL=file://"+dir)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if exit, ok := err.(*exec.ExitError); ok {
		return exit.ExitCode(), string(out)
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

func withoutPulumiEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PULUMI_") {
			out = append(out, kv)
		}
	}
	return out
}

const (
	existingStack = "config:\n  modelrollouts:cluster:\n    type: existing\n"
	kindStack     = "config:\n  modelrollouts:cluster:\n    type: kind\n"
)

func TestLabShRefusesAnExistingClusterOnTheLabPassphrase(t *testing.T) {
	t.Parallel()
	phraseFile := filepath.Join(t.TempDir(), "phrase")
	if err := os.WriteFile(phraseFile, []byte("modelrollouts-lab\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		file    string
		env     []string
		refused bool
	}{
		"the default passphrase (unset)":       {existingStack, nil, true},
		"the lab passphrase set by hand":       {existingStack, []string{"PULUMI_CONFIG_PASSPHRASE=modelrollouts-lab"}, true},
		"the lab passphrase in a file":         {existingStack, []string{"PULUMI_CONFIG_PASSPHRASE_FILE=" + phraseFile}, true},
		"a salt already keyed, the lab's":      {existingStack + "encryptionsalt: v1:abc\n", nil, true},
		"a passphrase of one's own":            {existingStack, []string{"PULUMI_CONFIG_PASSPHRASE=correct horse"}, false},
		"a KMS secrets provider":               {existingStack + "secretsprovider: awskms://alias/x\n", nil, false},
		"Pulumi Cloud, no salt (service keys)": {existingStack, []string{"PULUMI_BACKEND_URL=https://api.pulumi.com"}, false},
		"a kind lab keeps the lab passphrase":  {kindStack, nil, false},
	} {
		code, out := refuse(t, tc.file, tc.env...)
		if refused := code != 0; refused != tc.refused {
			t.Errorf("%s: refused=%v, want %v:\n%s", name, refused, tc.refused, out)
		}
		if tc.refused {
			for _, want := range []string{"cluster.type: existing", "PULUMI_CONFIG_PASSPHRASE", "pulumi stack change-secrets-provider"} {
				if !strings.Contains(out, want) {
					t.Errorf("%s: the message lacks %q:\n%s", name, want, out)
				}
			}
		}
	}
}

// make stack STACK=cloud, as typed, with the lab's default: refused before
// anything is created or installed (the committed Pulumi.cloud.yaml).
func TestMakeStackOfTheCloudStackIsRefusedOnTheLabPassphrase(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	cmd := exec.Command(filepath.Join(root, "hack", "make-rules", "lab.sh"), "stack", "cloud")
	cmd.Dir = root
	home := t.TempDir()
	cmd.Env = append(withoutPulumiEnv(), "HOME="+home, "PULUMI_BACKEND_URL=file://"+home, "PATH=/nonexistent:"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 {
		t.Fatalf("lab.sh stack cloud: %v, want exit 1:\n%s", err, out)
	}
	if !strings.Contains(string(out), "Pulumi.cloud.yaml runs on an existing cluster") || strings.Contains(string(out), "installing") {
		t.Errorf("want the refusal, nothing installed:\n%s", out)
	}
}
