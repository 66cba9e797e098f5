//go:build journey

package journey

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/test/integration/harness"
)

// tier is what every journey shares: the tools, a copy of the checkout the
// user works in, the user's home and environment, the README's blocks.
var tier struct {
	skip      string
	tools     harness.Tools
	root      string // the repository
	work      string // removed at the end
	checkout  string // where the user's commands run
	home      string // the user's HOME (~/.pulumi has the CLI and the provider)
	modelEcho string // the model-echo binary pods run
	// modelAgent is the model-agent binary: the model-echo image run with
	// the agent's command (modelapi.AgentCommand).
	modelAgent string
	// irisModels holds the sklearn-iris models train.py saved (DIR/v1,
	// DIR/v2), once a journey that runs them has trained them.
	irisModels string
	// kindBin holds the kind stand-in, on the engine's PATH.
	kindBin   string
	blocks    map[string]Block
	userEnv   []string          // what a user's shell has: HOME, PATH, Go's caches
	pulumiEnv map[string]string // make up's backend and passphrase (hack/lib/pulumi-env.sh)
}

// required makes a tier that cannot run a failure instead of a skip: the
// make target sets it, so `make test` cannot pass by skipping it.
var required = os.Getenv("MODELROLLOUTS_JOURNEYS") == "required"

func TestMain(m *testing.M) {
	start := time.Now()
	code := run(m)
	fmt.Fprintf(os.Stderr, "journey tier: %.1fs\n", time.Since(start).Seconds())
	os.Exit(code)
}

func run(m *testing.M) int {
	if reason := setup(); reason != "" {
		tier.skip = reason
		if required {
			fmt.Fprintln(os.Stderr, "journey tier cannot run:", reason)
			return 1
		}
	}
	defer func() {
		if tier.work != "" && os.Getenv("MODELROLLOUTS_JOURNEYS_KEEP") == "" {
			os.RemoveAll(tier.work)
		}
	}()
	return m.Run()
}

func requireTier(t *testing.T) {
	t.Helper()
	if tier.skip != "" {
		t.Skip("journey tier not available: " + tier.skip)
	}
}

func setup() string {
	var err error
	if tier.tools, err = harness.LoadTools(); err != nil {
		return err.Error()
	}
	if err := harness.RequireLoopbackOnlyNetns(); err != nil {
		return err.Error()
	}
	if tier.root, err = harness.RepoRoot(); err != nil {
		return err.Error()
	}
	if tier.blocks, err = ReadDocuments(tier.root); err != nil {
		return err.Error()
	}
	if tier.work, err = os.MkdirTemp("", "modelrollouts-journeys-"); err != nil {
		return err.Error()
	}
	tier.checkout = filepath.Join(tier.work, "checkout")
	if dir := os.Getenv("MODELROLLOUTS_JOURNEY_CHECKOUT"); dir != "" {
		// hack/make-rules/test/journeys.sh compiled the README's `go run`
		// commands there already: Go's build cache keys a package by its
		// directory, so a copy elsewhere would compile them all again.
		if err := os.RemoveAll(dir); err != nil {
			return err.Error()
		}
		tier.checkout = dir
	}
	tier.home = filepath.Join(tier.work, "home")
	if err := copyCheckout(tier.root, tier.checkout); err != nil {
		return "copy the checkout: " + err.Error()
	}
	// One go build links both, in parallel.
	if out, err := goCmd(tier.checkout, "build", "-o", filepath.Join(tier.work, "bin")+"/", "./model-echo", "./model-agent").CombinedOutput(); err != nil {
		return fmt.Sprintf("go build ./model-echo ./model-agent: %v\n%s", err, out)
	}
	tier.modelEcho = filepath.Join(tier.work, "bin", "model-echo")
	tier.modelAgent = filepath.Join(tier.work, "bin", "model-agent")
	if err := userEnvironment(); err != nil {
		return err.Error()
	}
	if tier.kindBin, err = writeKindStandIn(filepath.Join(tier.work, "kind")); err != nil {
		return err.Error()
	}
	env := deployEnv()
	if err := tier.tools.PreparePulumiHome(context.Background(), env); err != nil {
		return err.Error()
	}
	if err := installCommandStandIn(env); err != nil {
		return err.Error()
	}
	return ""
}

// installCommandStandIn builds the journeys' pulumi-command provider
// (test/journey/lab/command) and installs it as the command plugin at the
// version the SDK in go.mod asks for.
func installCommandStandIn(env map[string]string) error {
	out, err := goCmd(tier.checkout, "list", "-m", "-f", "{{.Version}}", "github.com/pulumi/pulumi-command/sdk").Output()
	if err != nil {
		return fmt.Errorf("go list -m github.com/pulumi/pulumi-command/sdk: %w", err)
	}
	version := strings.TrimPrefix(strings.TrimSpace(string(out)), "v")
	bin := filepath.Join(tier.work, "bin", "pulumi-resource-command")
	if out, err := goCmd(tier.checkout, "build", "-o", bin, "-ldflags", "-X main.version="+version,
		"./test/journey/lab/command/pulumi-resource-command").CombinedOutput(); err != nil {
		return fmt.Errorf("go build the command provider stand-in: %v\n%s", err, out)
	}
	cmd := exec.Command(tier.tools.Pulumi, "plugin", "install", "resource", "command", version, "--file", bin, "--non-interactive")
	cmd.Env = harness.EnvList(env)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pulumi plugin install resource command %s --file %s: %v\n%s", version, bin, err, out)
	}
	return nil
}

// copyCheckout copies the files git knows of (tracked, and new ones not
// ignored), as a user's clone has them: the journeys edit stack files and
// write .pulumi-state, verdict.json and report/ there, never in the
// repository.
func copyCheckout(root, dst string) error {
	out, err := exec.Command("git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		return fmt.Errorf("git ls-files: %w", err)
	}
	for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(root, rel)
		st, err := os.Lstat(src)
		if os.IsNotExist(err) {
			continue // deleted in the working tree
		}
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if st.Mode()&os.ModeSymlink != 0 {
			link, _ := os.Readlink(src)
			if err := os.Symlink(link, target); err != nil {
				return err
			}
			continue
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := os.WriteFile(target, data, st.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}

// userPassphrase is the journey user's own stack passphrase.
const userPassphrase = "journey-user-own-passphrase"

// userEnvironment is a user's shell after installing what `make up`
// installs: the Pulumi CLI in ~/.pulumi/bin on PATH (the official
// installer's place), Go and its caches; nothing else of ours.
func userEnvironment() error {
	bin := filepath.Join(tier.home, ".pulumi", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	if err := os.Symlink(tier.tools.Pulumi, filepath.Join(bin, "pulumi")); err != nil {
		return err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return err
	}
	path := strings.Join([]string{bin, filepath.Dir(goBin), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}, ":")
	// Every journey points its stack at an existing cluster (the kwok one),
	// so, as docs/github.md tells such a user, the shell carries a
	// passphrase of its own: the lab's public one is refused there.
	tier.userEnv = []string{"HOME=" + tier.home, "PATH=" + path, "LANG=C.UTF-8", "TERM=dumb", "USER=journey",
		"PULUMI_CONFIG_PASSPHRASE=" + userPassphrase}
	for _, k := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOPROXY", "GOFLAGS", "GOTOOLCHAIN"} {
		out, err := goCmd(tier.checkout, "env", k).Output()
		if err != nil {
			return fmt.Errorf("go env %s: %w", k, err)
		}
		tier.userEnv = append(tier.userEnv, k+"="+strings.TrimSpace(string(out)))
	}
	// The backend and passphrase `make up` uses, from the script it sources.
	script := `source hack/lib/pulumi-env.sh && printf '%s\n%s\n' "$PULUMI_BACKEND_URL" "$PULUMI_CONFIG_PASSPHRASE"`
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir, cmd.Env = tier.checkout, tier.userEnv
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("source hack/lib/pulumi-env.sh: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 {
		return fmt.Errorf("hack/lib/pulumi-env.sh gave %q", out)
	}
	tier.pulumiEnv = map[string]string{"PULUMI_BACKEND_URL": lines[0], "PULUMI_CONFIG_PASSPHRASE": lines[1]}
	return nil
}

// deployEnv is the Automation API's environment: the user's, make up's
// backend and passphrase, the built provider first on PATH.
func deployEnv() map[string]string {
	env := map[string]string{}
	for _, kv := range tier.userEnv {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for k, v := range tier.pulumiEnv {
		env[k] = v
	}
	env["PULUMI_HOME"] = filepath.Join(tier.home, ".pulumi")
	env["PULUMI_SKIP_UPDATE_CHECK"] = "true"
	env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] = "true"
	// kind is stood in for the engine only (its command provider runs it):
	// the user's own commands never call kind after make up.
	env["PATH"] = tier.tools.ProviderKubernetesDir + ":" + tier.kindBin + ":" + env["PATH"]
	env["KIND_STANDIN_DIR"] = filepath.Join(tier.work, "kind")
	env["COMMAND_STANDIN_LOG"] = filepath.Join(tier.work, "command-standin.log")
	return env
}

func goCmd(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	return cmd
}

// result is what a user saw from one command.
type result struct {
	line           string
	code           int
	stdout, stderr string
	took           time.Duration
	started        time.Time // to line up with the lab log's stamps
}

func (r result) String() string {
	return fmt.Sprintf("$ %s\n(exit %d after %.1fs, from %s)\n--- stdout\n%s--- stderr\n%s", r.line, r.code, r.took.Seconds(), r.started.Format("15:04:05.000"), tail(r.stdout), tail(r.stderr))
}

func tail(s string) string {
	const max = 6000
	if len(s) > max {
		return "...\n" + s[len(s)-max:]
	}
	return s
}

var logMu sync.Mutex

// sh runs a command line in the checkout, as typed, with the user's
// environment only.
func sh(t *testing.T, line string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("bash", "-c", line)
	cmd.Dir, cmd.Env = tier.checkout, tier.userEnv
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := result{line: line, stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start), started: start}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		fatalf(t, "%s: %v", line, err)
	}
	logMu.Lock()
	t.Logf("%s", r)
	logMu.Unlock()
	return r
}

// expect runs the line and fails the journey unless it exits with code.
func expect(t *testing.T, code int, line string) result {
	t.Helper()
	r := sh(t, line)
	if r.code != code {
		fatalf(t, "%q exited %d, want %d\n%s", line, r.code, code, r)
	}
	return r
}

// readme is the README's line for c.
func readme(t *testing.T, c cmdRef) string {
	t.Helper()
	line, err := c.line(tier.blocks)
	if err != nil {
		fatalf(t, "%v", err)
	}
	return line
}
