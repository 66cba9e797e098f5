//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optremove"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"gopkg.in/yaml.v3"

	"github.com/modelrollouts/modelrollouts/internal/smoke"
	"github.com/modelrollouts/modelrollouts/stacks"
)

const (
	// passphrase encrypts the test stacks' secrets (the kind kubeconfig).
	passphrase = "modelrollouts-e2e"
	// cleanupBudget is kept free at the end of the test's deadline so a
	// failed or slow run still destroys its kind cluster.
	cleanupBudget = 15 * time.Minute
	// smokeTimeout bounds one smoke run (cold starts included).
	smokeTimeout = 15 * time.Minute
	// knativeRouteType is the only resource a percent change may update.
	knativeRouteType = "kubernetes:serving.knative.dev/v1:Route"
)

// lab is what every flow shares: a private copy of the project, the CLI,
// and the environment of every Pulumi command.
type lab struct {
	// repoDir is the checkout, projectDir its copy the stacks run in (their
	// Pulumi.<stack>.yaml files are written there, never into the checkout).
	repoDir, projectDir string
	pulumi              auto.PulumiCommand
	kind                string
	env                 map[string]string
}

// setupLab checks the preconditions in order, skipping with the reason at
// the first that fails: Docker first, so nothing touches the network on a
// machine without it; then the internet, kind and the Pulumi CLI.
func setupLab(t *testing.T) *lab {
	t.Helper()
	ctx := t.Context()
	requireDocker(t, ctx)
	requireInternet(t, ctx)
	kind := kindBinary(t, ctx)
	cli := pulumiCLI(t, ctx)
	t.Logf("kind %s (%s), pulumi CLI %s", kindVersion, kind, cli.Version())
	return newLab(t, cli, kind)
}

// newLab copies the project into a temporary directory and sets up a
// private file backend there.
func newLab(t *testing.T, cli auto.PulumiCommand, kind string) *lab {
	t.Helper()
	repo, err := stacks.FindProjectDir(".")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	project := filepath.Join(tmp, "project")
	if err := copyProject(repo, project); err != nil {
		t.Fatalf("copy the project: %v", err)
	}
	backend := filepath.Join(tmp, "backend")
	if err := os.MkdirAll(backend, 0o755); err != nil {
		t.Fatal(err)
	}
	path := os.Getenv("PATH")
	if kind != "" {
		// The cluster component runs `kind` by name.
		path = filepath.Dir(kind) + string(os.PathListSeparator) + path
	}
	return &lab{
		repoDir:    repo,
		projectDir: project,
		pulumi:     cli,
		kind:       kind,
		env: map[string]string{
			"PULUMI_BACKEND_URL":        "file://" + backend,
			"PULUMI_CONFIG_PASSPHRASE":  passphrase,
			"PULUMI_SKIP_UPDATE_CHECK":  "true",
			"PULUMI_SKIP_CONFIRMATIONS": "true",
			// kind writes the cluster's context here, not into ~/.kube/config.
			"KUBECONFIG": filepath.Join(tmp, "kubeconfig"),
			"PATH":       path,
		},
	}
}

// environ is os.Environ() with the lab's variables, for plain commands.
func (l *lab) environ() []string {
	env := os.Environ()
	for k, v := range l.env {
		env = append(env, k+"="+v)
	}
	return env
}

// opsContext bounds a flow's Pulumi and smoke operations so that
// cleanupBudget of the test's deadline is left for destroying.
func opsContext(t *testing.T) context.Context {
	ctx := t.Context()
	if deadline, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-cleanupBudget))
		t.Cleanup(cancel)
	}
	return ctx
}

// copyProject copies the project, leaving out dot-directories (.git, the
// local .pulumi-state backend), the ignored run/ folder and test binaries.
// The copy is also the image build context, so it stays small.
func copyProject(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		name := d.Name()
		if d.IsDir() {
			if rel != "." && (strings.HasPrefix(name, ".") || rel == "run") {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		}
		if strings.HasSuffix(name, ".test") || strings.HasSuffix(name, ".out") {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
}

// freePort returns a TCP port free on 127.0.0.1 right now, for the kind
// cluster's ingress host port (8080 and 8081 may be taken by `make up`).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// writeStackFile writes the project copy's Pulumi.<stack>.yaml: the config
// of the checkout's source stack file (e.g. Pulumi.dev.yaml) with its own
// kind cluster name and a free ingress host port. The source's encryption
// salt is dropped; the new stack gets its own. It returns the config as the
// program will load it.
func (l *lab) writeStackFile(t *testing.T, source, stack, cluster string, hostPort int) *stacks.Config {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(l.repoDir, source))
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]any
	if err := yaml.Unmarshal(data, &file); err != nil {
		t.Fatalf("%s: %v", source, err)
	}
	delete(file, "encryptionsalt")
	cfg, _ := file["config"].(map[string]any)
	if cfg == nil {
		t.Fatalf("%s has no config", source)
	}
	key := stacks.Namespace + ":cluster"
	cl, _ := cfg[key].(map[string]any)
	if cl == nil {
		cl = map[string]any{}
		cfg[key] = cl
	}
	if typ, _ := cl["type"].(string); typ != "" && typ != stacks.ClusterKind {
		t.Fatalf("%s: cluster.type is %q; the e2e test needs a kind stack", source, typ)
	}
	cl["name"] = cluster
	cl["ingressHostPort"] = hostPort
	out, err := yaml.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	path := l.stackFile(stack)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	// The same decoding, defaults and validation the program runs.
	loaded, err := stacks.LoadFile(path)
	if err != nil {
		t.Fatalf("generated %s from %s is invalid: %v", filepath.Base(path), source, err)
	}
	return loaded
}

func (l *lab) stackFile(stack string) string {
	return filepath.Join(l.projectDir, "Pulumi."+stack+".yaml")
}

// newStack creates the stack in the project copy and registers its
// teardown: `pulumi destroy`, then `pulumi stack rm`, then, as a fallback,
// `kind delete cluster`. Teardown has its own context: the test's is
// already cancelled when cleanups run.
func (l *lab) newStack(t *testing.T, ctx context.Context, stack, cluster string) auto.Stack {
	t.Helper()
	st, err := auto.UpsertStackLocalSource(ctx, stack, l.projectDir, auto.Pulumi(l.pulumi), auto.EnvVars(l.env))
	if err != nil {
		t.Fatalf("create stack %s: %v", stack, err)
	}
	t.Cleanup(func() { l.teardown(t, st, cluster) })
	return st
}

func (l *lab) teardown(t *testing.T, st auto.Stack, cluster string) {
	budget := cleanupBudget - time.Minute
	if deadline, ok := t.Deadline(); ok {
		budget = min(budget, time.Until(deadline)-30*time.Second)
	}
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	start := time.Now()
	var opts []optdestroy.Option
	if testing.Verbose() {
		opts = append(opts, optdestroy.ProgressStreams(os.Stdout))
	}
	_, destroyErr := st.Destroy(ctx, opts...)
	if destroyErr != nil {
		t.Errorf("pulumi destroy %s: %v", st.Name(), destroyErr)
	} else {
		t.Logf("destroyed %s in %s", st.Name(), time.Since(start).Round(time.Second))
	}

	out, err := run(ctx, l.environ(), l.kind, "get", "clusters")
	if err != nil {
		t.Errorf("list kind clusters: %v", err)
	}
	if err != nil || containsLine(out, cluster) {
		if destroyErr == nil && err == nil {
			t.Errorf("pulumi destroy %s left the kind cluster %s behind", st.Name(), cluster)
		}
		if _, err := run(ctx, l.environ(), l.kind, "delete", "cluster", "--name", cluster); err != nil {
			t.Errorf("fallback: %v", err)
		}
	}

	// Without --force, rm fails if the state still holds resources.
	var rm []optremove.Option
	if destroyErr != nil {
		rm = append(rm, optremove.Force())
	}
	if err := st.Workspace().RemoveStack(ctx, st.Name(), rm...); err != nil {
		t.Errorf("pulumi stack rm %s: %v", st.Name(), err)
	}
}

func containsLine(out, line string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.TrimSpace(l) == line {
			return true
		}
	}
	return false
}

// up runs `pulumi up` and returns the stack outputs as the smoke checker
// reads them.
func (l *lab) up(t *testing.T, ctx context.Context, st auto.Stack, what string) *stacks.Outputs {
	t.Helper()
	start := time.Now()
	var opts []optup.Option
	if testing.Verbose() {
		opts = append(opts, optup.ProgressStreams(os.Stdout))
	}
	res, err := st.Up(ctx, opts...)
	if err != nil {
		t.Fatalf("pulumi up (%s) of %s: %v", what, st.Name(), err)
	}
	changes := map[string]int{}
	if res.Summary.ResourceChanges != nil {
		changes = *res.Summary.ResourceChanges
	}
	t.Logf("pulumi up (%s) of %s: %s in %s", what, st.Name(), formatCounts(changes), time.Since(start).Round(time.Second))
	o, err := parseOutputs(res.Outputs)
	if err != nil {
		t.Fatalf("outputs of %s after %s: %v", st.Name(), what, err)
	}
	return o
}

// parseOutputs marshals the Automation API's outputs (secrets come back in
// plaintext) to the JSON `pulumi stack output --json` prints, and decodes
// that with the same function the smoke command uses.
func parseOutputs(om auto.OutputMap) (*stacks.Outputs, error) {
	values := make(map[string]any, len(om))
	for k, v := range om {
		values[k] = v.Value
	}
	data, err := json.Marshal(values)
	if err != nil {
		return nil, err
	}
	return stacks.ParseOutputs(data)
}

// step is one resource operation a preview announced.
type step struct {
	Op    apitype.OpType
	Type  string
	URN   string
	Diffs []string
}

func (s step) String() string {
	d := ""
	if len(s.Diffs) > 0 {
		d = " (changed: " + strings.Join(s.Diffs, ", ") + ")"
	}
	return fmt.Sprintf("%s %s%s", s.Op, s.URN, d)
}

// preview runs `pulumi preview` and returns its change summary and every
// step that is not "same", read from the engine's event stream.
func (l *lab) preview(t *testing.T, ctx context.Context, st auto.Stack, what string) (map[apitype.OpType]int, []step) {
	t.Helper()
	ch := make(chan events.EngineEvent)
	done := make(chan struct{})
	var mu sync.Mutex
	var steps []step
	go func() {
		defer close(done)
		for e := range ch {
			if e.ResourcePreEvent == nil {
				continue
			}
			m := e.ResourcePreEvent.Metadata
			if m.Op == apitype.OpSame {
				continue
			}
			mu.Lock()
			steps = append(steps, step{Op: m.Op, Type: m.Type, URN: m.URN, Diffs: m.Diffs})
			mu.Unlock()
		}
	}()
	opts := []optpreview.Option{optpreview.EventStreams(ch)}
	if testing.Verbose() {
		opts = append(opts, optpreview.ProgressStreams(os.Stdout), optpreview.Diff())
	}
	res, err := st.Preview(ctx, opts...)
	if err != nil {
		t.Fatalf("pulumi preview (%s) of %s: %v", what, st.Name(), err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Logf("preview (%s): the event stream did not end; the step list may be incomplete", what)
	}
	mu.Lock()
	defer mu.Unlock()
	counts := map[string]int{}
	for op, n := range res.ChangeSummary {
		counts[string(op)] = n
	}
	t.Logf("pulumi preview (%s) of %s: %s", what, st.Name(), formatCounts(counts))
	return res.ChangeSummary, append([]step(nil), steps...)
}

// changed is the summary without its "same" count.
func changed(summary map[apitype.OpType]int) map[apitype.OpType]int {
	out := map[apitype.OpType]int{}
	for op, n := range summary {
		if op != apitype.OpSame && n > 0 {
			out[op] = n
		}
	}
	return out
}

func formatCounts(m map[string]int) string {
	if len(m) == 0 {
		return "no resources"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

func formatSteps(steps []step) string {
	if len(steps) == 0 {
		return "  (no step events)"
	}
	lines := make([]string, len(steps))
	for i, s := range steps {
		lines[i] = "  " + s.String()
	}
	return strings.Join(lines, "\n")
}

// requireSmoke runs the smoke checker with its default parameters (the
// same as `make smoke`) and fails the test with its report unless it passes.
func requireSmoke(t *testing.T, ctx context.Context, o *stacks.Outputs, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, smokeTimeout)
	defer cancel()
	var progress io.Writer
	if testing.Verbose() {
		progress = os.Stdout
	}
	rep, err := smoke.Run(ctx, o, smoke.DefaultParams, smoke.NewProgress(progress, false))
	if err != nil {
		t.Fatalf("smoke (%s) could not run: %v", what, err)
	}
	rep.Source = what
	var buf bytes.Buffer
	if err := rep.WriteText(&buf); err != nil {
		t.Fatalf("smoke report: %v", err)
	}
	t.Logf("smoke (%s):\n%s", what, buf.String())
	if !rep.Pass {
		t.Fatalf("smoke (%s) failed:\n  %s", what, strings.Join(rep.Failures(), "\n  "))
	}
}

// canarySplit is the split a canary config asks for, by version name.
func canarySplit(cfg *stacks.Config) map[string]int {
	split := map[string]int{}
	if cfg.Canary == nil {
		return split
	}
	for _, v := range cfg.Canary.Versions {
		if v.Percent != nil {
			split[v.Name] = *v.Percent
		}
	}
	return split
}
