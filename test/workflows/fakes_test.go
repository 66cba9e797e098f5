package workflows

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Fake commands for the hack/ci scripts. Each logs its arguments, one call
// a line ("name arg arg"), to $FAKE_LOG and does what its FAKE_* variables
// say; nothing reaches GitHub, a cluster or the network.
var fakes = map[string]string{
	"gh": `case "$1 $2" in
  "pr list") echo "${FAKE_OPEN_PRS:-0}" ;;
  "auth setup-git") ;;
  "pr create")
    if [[ -n "${FAKE_PR_REFUSED:-}" ]]; then
      echo "pull request create failed: GraphQL: GitHub Actions is not permitted to create or approve pull requests (createPullRequest)" >&2
      exit 1
    fi
    echo https://github.com/example/modelrollouts/pull/7 ;;
  "api --paginate"|"api -X")
    for a in "$@"; do [[ "$a" == body=@* ]] && cp "${a#body=@}" "$FAKE_DIR/posted-body"; done
    if [[ "$*" == *--jq* ]]; then echo "${FAKE_COMMENT_ID:-}"; fi ;;
  *) echo "fake gh: unexpected $*" >&2; exit 64 ;;
esac`,
	"pulumi": `case "$*" in
  "version") echo "${FAKE_PULUMI_VERSION:-v0.0.0}" ;;
  "stack output --json "*) echo '{"strategy":"canary","kubeconfig":"[secret]"}' ;;
  "stack output --stack "*) echo "ingressUrl  http://203.0.113.10" ;;
  *) echo "fake pulumi: unexpected $*" >&2; exit 64 ;;
esac`,
	"git": `case "$1" in
  diff)
    if [[ "$2" == --name-only ]]; then printf '%s\n' ${FAKE_CHANGED:-}; else echo "-        percent: 10"; echo "+        percent: 25"; fi ;;
  push) [[ -n "${FAKE_PUSH_FAILS:-}" ]] && exit 1 ;;
esac
exit 0`,
	"kubectl": `for allowed in ${FAKE_KUBECTL_CAN:-}; do
  [[ "$*" == *"auth can-i ${allowed/:/ } "* ]] && { echo yes; exit 0; }
done
echo no; exit 1`,
	"make": `for target in ${FAKE_MAKE_FAILS:-}; do [[ "$1" == "$target" ]] && { echo "make $1 failed" >&2; exit 2; }; done
exit 0`,
	// curl -fsSL ... -o OUT URL: the release assets from $FAKE_RELEASE_DIR.
	"curl": `out= url=
while [[ $# -gt 0 ]]; do case "$1" in -o) out="$2"; shift ;; https://*|http://*) url="$1" ;; esac; shift; done
src="$FAKE_RELEASE_DIR/${url##*/}"
[[ -f "$src" ]] || { echo "curl: (22) The requested URL returned error: 404" >&2; exit 22; }
cp "$src" "$out"`,
	// The gate binary (go build ./cmd/rollout), its four commands.
	"rollout": `case "$1" in
  status)
    if [[ " $* " == *" --json "* ]]; then
      printf '{"status":{"position":{"percent":%s,"next":%s}}}\n' "${FAKE_PERCENT:-10}" "${FAKE_NEXT:-25}"
    else
      echo "Pulumi.$3.yaml: v2 at ${FAKE_PERCENT:-10}%"
    fi ;;
  check)
    printf '%s\n' "${FAKE_VERDICT:-}"
    [[ -n "${FAKE_GATE_STDERR:-}" ]] && echo "$FAKE_GATE_STDERR" >&2
    exit "${FAKE_GATE_CODE:-0}" ;;
  advance|rollback)
    while [[ $# -gt 0 ]]; do case "$1" in
      --title-file) echo "rollout(dev): v2 10% → 25%" >"$2"; shift ;;
      --body-file) echo "The gate's evidence." >"$2"; shift ;;
    esac; shift; done ;;
esac`,
}

// ciRun is one run of a hack/ci script in a scratch working directory.
type ciRun struct {
	code           int
	stdout, stderr string
	summary        string
	outputs        map[string]string
	calls          []string // what the fakes were asked, in order
	dir, fakeDir   string
}

func (r ciRun) called(prefix string) bool {
	for _, c := range r.calls {
		if strings.HasPrefix(c, prefix) {
			return true
		}
	}
	return false
}

// runScript runs hack/ci/NAME with args in a fresh working directory
// holding files, with the fakes first on PATH and env added.
func runScript(t *testing.T, name string, files map[string]string, env map[string]string, args ...string) ciRun {
	t.Helper()
	if _, err := exec.LookPath("jq"); err != nil {
		t.Skip("the hack/ci scripts need jq (on every GitHub runner); install it: apt-get install jq")
	}
	root := repoRoot(t)
	work, fakeDir := t.TempDir(), t.TempDir()
	bin := filepath.Join(fakeDir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(fakeDir, "calls")
	for cmd, body := range fakes {
		script := "#!/usr/bin/env bash\necho \"" + cmd + " $*\" >>\"$FAKE_LOG\"\n" + body + "\n"
		if err := os.WriteFile(filepath.Join(bin, cmd), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for path, content := range files {
		if err := os.WriteFile(filepath.Join(work, path), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	summary, output := filepath.Join(fakeDir, "summary"), filepath.Join(fakeDir, "output")
	cmd := exec.Command(filepath.Join(root, "hack", "ci", name), args...)
	cmd.Dir = work
	cmd.Env = append(os.Environ(),
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"FAKE_LOG="+log, "FAKE_DIR="+fakeDir,
		"GITHUB_STEP_SUMMARY="+summary, "GITHUB_OUTPUT="+output, "RUNNER_TEMP="+fakeDir,
		"GITHUB_REPOSITORY=example/modelrollouts", "GITHUB_PATH=",
	)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	r := ciRun{stdout: stdout.String(), dir: work, fakeDir: fakeDir, outputs: map[string]string{}}
	if err := cmd.Run(); err != nil {
		exit, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s: %v", name, err)
		}
		r.code = exit.ExitCode()
	}
	r.stdout, r.stderr = stdout.String(), stderr.String()
	s, _ := os.ReadFile(summary)
	r.summary = string(s)
	o, _ := os.ReadFile(output)
	for _, line := range strings.Split(string(o), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			r.outputs[k] = v
		}
	}
	c, _ := os.ReadFile(log)
	r.calls = strings.Split(strings.TrimSpace(string(c)), "\n")
	return r
}

func (r ciRun) String() string {
	return "exit " + itoa(r.code) + "\nstdout:\n" + r.stdout + "\nstderr:\n" + r.stderr + "\nsummary:\n" + r.summary +
		"\ncalls:\n" + strings.Join(r.calls, "\n")
}

func itoa(n int) string { return strconv.Itoa(n) }
