// Package stackoutputstest stands in for the Pulumi CLI in tests of the
// tools that read stack outputs: a script named pulumi, put first on PATH,
// that answers `pulumi stack output --json` (the kubeconfig as "[secret]",
// as the real CLI prints a secret) and `pulumi stack output kubeconfig
// --show-secrets` for the stacks of the backend PULUMI_BACKEND_URL names,
// and logs how it was run.
package stackoutputstest

import (
	"os"
	"path/filepath"
	"testing"
)

// Stack is one deployed stack of a fake backend.
type Stack struct {
	// Outputs is what `pulumi stack output --json` prints.
	Outputs string
	// Kubeconfig is the secret kubeconfig output; "" means the stack has
	// none (an existing cluster).
	Kubeconfig string
}

const script = `#!/bin/sh
echo "$* | backend=$PULUMI_BACKEND_URL passphrase=$PULUMI_CONFIG_PASSPHRASE" >> "$FAKE_PULUMI_LOG"
stack=""; prev=""
for a in "$@"; do [ "$prev" = "--stack" ] && stack="$a"; prev="$a"; done
state="${PULUMI_BACKEND_URL#file://}"
if [ ! -e "$state/$stack.outputs.json" ]; then echo "error: no stack named '$stack' found" >&2; exit 255; fi
case "$1 $2 $3 $4" in
"stack output --json --stack") cat "$state/$stack.outputs.json" ;;
"stack output kubeconfig --show-secrets")
	if [ ! -e "$state/$stack.kubeconfig" ]; then echo "error: current stack does not have output property 'kubeconfig'" >&2; exit 255; fi
	cat "$state/$stack.kubeconfig" ;;
*) echo "fake pulumi: unexpected: $*" >&2; exit 3 ;;
esac
`

// Install puts the fake pulumi first on PATH for the test, clears the
// user's backend and passphrase settings (so the tools' own defaults
// apply) and returns the file that logs each run: "ARGS | backend=URL
// passphrase=P".
func Install(t *testing.T) (log string) {
	t.Helper()
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "pulumi"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	log = filepath.Join(t.TempDir(), "pulumi.log")
	t.Setenv("FAKE_PULUMI_LOG", log)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	for _, k := range []string{"PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	return log
}

// Project makes a project folder (Pulumi.yaml) whose file backend,
// .pulumi-state as make uses it, holds the stacks.
func Project(t *testing.T, stacks map[string]Stack) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), []byte("name: modelrollouts\nruntime: go\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	WriteBackend(t, filepath.Join(dir, ".pulumi-state"), stacks)
	return dir
}

// WriteBackend writes stacks into a file backend folder.
func WriteBackend(t *testing.T, state string, stacks map[string]Stack) {
	t.Helper()
	if err := os.MkdirAll(state, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, s := range stacks {
		os.WriteFile(filepath.Join(state, name+".outputs.json"), []byte(s.Outputs), 0o600)
		if s.Kubeconfig != "" {
			os.WriteFile(filepath.Join(state, name+".kubeconfig"), []byte(s.Kubeconfig), 0o600)
		}
	}
}
