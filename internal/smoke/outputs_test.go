package smoke

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const canaryOutputs = `{"strategy":"canary","namespace":"lab","ingressUrl":"http://127.0.0.1:8080",
"host":"model.lab.example.com","versions":{"v1":{"target":"one","host":"v1-model.lab.example.com","tag":"v1","percent":90},
"v2":{"target":"two","host":"v2-model.lab.example.com","tag":"v2","percent":10}},"split":{"v1":90,"v2":10},"kubeconfig":"[secret]"}`

func TestLoadOutputsFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "out.json")
	os.WriteFile(f, []byte(canaryOutputs), 0o600)
	o, err := LoadOutputs(context.Background(), Source{File: f})
	if err != nil {
		t.Fatal(err)
	}
	if o.Split["v2"] != 10 || o.Versions["v1"].Host != "v1-model.lab.example.com" {
		t.Errorf("decoded %+v", o)
	}
	if _, err := LoadOutputs(context.Background(), Source{File: filepath.Join(t.TempDir(), "missing.json")}); err == nil {
		t.Error("a missing file loaded")
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"strategy":"canary"}`), 0o600)
	if _, err := LoadOutputs(context.Background(), Source{File: bad}); err == nil || !strings.Contains(err.Error(), "ingressUrl") {
		t.Errorf("outputs without an ingress: err=%v", err)
	}
	if _, err := LoadOutputs(context.Background(), Source{}); err == nil {
		t.Error("no source loaded")
	}
}

// A stand-in pulumi CLI proves the exact command line the real one gets.
func TestLoadOutputsPulumiCLI(t *testing.T) {
	dir := t.TempDir()
	args := filepath.Join(dir, "args")
	script := filepath.Join(dir, "pulumi")
	body := "#!/bin/sh\necho \"$@\" > " + args + "\ncat <<'JSON'\n" + canaryOutputs + "\nJSON\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	o, err := LoadOutputs(context.Background(), Source{Stack: "dev", Cwd: "/proj", Pulumi: script})
	if err != nil {
		t.Fatal(err)
	}
	if o.Host != "model.lab.example.com" {
		t.Errorf("host %q", o.Host)
	}
	got, _ := os.ReadFile(args)
	if want := "stack output --json --stack dev --non-interactive --cwd /proj\n"; string(got) != want {
		t.Errorf("pulumi ran with %q, want %q", got, want)
	}

	fail := filepath.Join(dir, "pulumi-fail")
	os.WriteFile(fail, []byte("#!/bin/sh\necho 'error: no stack named dev' >&2\nexit 255\n"), 0o755)
	_, err = LoadOutputs(context.Background(), Source{Stack: "dev", Pulumi: fail})
	if err == nil || !strings.Contains(err.Error(), "no stack named dev") {
		t.Errorf("a failing CLI's message is lost: %v", err)
	}
	_, err = LoadOutputs(context.Background(), Source{Stack: "dev", Pulumi: filepath.Join(dir, "absent")})
	if err == nil {
		t.Error("an absent CLI loaded outputs")
	}
}
