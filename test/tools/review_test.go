//go:build slow

package tools

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modelrollouts/modelrollouts/internal/review"
	"github.com/modelrollouts/modelrollouts/internal/smoke"
)

// makeEnv keeps a make run by a test from printing "Entering directory"
// lines, as it would under `make test-slow`.
var makeEnv = []string{"MAKELEVEL=", "MAKEFLAGS="}

// clone makes a fresh checkout of the repository's HEAD, as CI and a new
// user have it, with the working tree's uncommitted edits left out.
func clone(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "clone")
	if r := command(t, repoRoot(t), nil, "git", "clone", "-q", "--no-hardlinks", repoRoot(t), dir); r.code != 0 {
		t.Fatalf("git clone: %s", r.stderr)
	}
	return dir
}

// edit replaces old with new in a file of dir, once.
func edit(t *testing.T, dir, file, old, new string) {
	t.Helper()
	path := filepath.Join(dir, file)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s no longer has %q to edit", file, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestMakeReviewInAClone runs `make review` the way a reviewer and
// review.yml do: a percent change in the working tree against HEAD, as
// text and as the PR comment; then an invalid stack fails it and the
// comment shows the validation errors.
func TestMakeReviewInAClone(t *testing.T) {
	n := smoke.PlanCanary([]smoke.Version{
		{Name: "v1", Share: 0.8, OwnHost: true, ServesUsers: true},
		{Name: "v2", Share: 0.2, OwnHost: true, ServesUsers: true},
	}, smoke.DefaultParams).UserRequests
	dir := clone(t)
	edit(t, dir, "Pulumi.dev.yaml", "percent: 90", "percent: 80")
	edit(t, dir, "Pulumi.dev.yaml", "percent: 10", "percent: 20")
	// A cache of its own: the first run compiles, the later ones reuse.
	env := append([]string{"MODELROLLOUTS_REVIEW_CACHE=" + t.TempDir()}, makeEnv...)

	// Every stack file but dev's is unchanged; named the way review lists them.
	others := otherStacks(t, dir, "dev")

	text := command(t, dir, env, "make", "review", "BASE=HEAD")
	if text.code != 0 {
		t.Fatalf("make review exited %d:\n%s\n%s", text.code, text.stdout, text.stderr)
	}
	for _, want := range []string{
		"### stack dev: changes against HEAD",
		"v1       90% -> 80%  http://v1-model.models.example.com",
		fmt.Sprintf("smoke plan: 20%% canary: %d requests catch a 5-point error", n),
		"-    percent: 90\n+    percent: 80",
		"-    percent: 10\n+    percent: 20",
	} {
		if !strings.Contains(text.stdout, want) {
			t.Errorf("make review lacks %q:\n%s", want, text.stdout)
		}
	}

	for _, name := range others {
		if want := "### stack " + name + ": no change"; !strings.Contains(text.stdout, want) {
			t.Errorf("make review lacks %q:\n%s", want, text.stdout)
		}
	}

	if !strings.Contains(text.stderr, "compiling render from the base's code") {
		t.Errorf("the first make review does not say it compiles the base's render:\n%s", text.stderr)
	}

	md := command(t, dir, env, "make", "review", "BASE=HEAD", "FORMAT=markdown")
	if md.code != 0 {
		t.Fatalf("make review FORMAT=markdown exited %d:\n%s", md.code, md.stderr)
	}
	for _, want := range []string{
		"reusing render compiled from the base's code",
		"reusing render review compiled from the head's code",
		"reusing the renders of " + strings.Join(sorted(append([]string{"dev"}, others...)), " ") + " at HEAD",
	} {
		if !strings.Contains(md.stderr, want) {
			t.Errorf("the second make review, same base and code, does not say %q:\n%s", want, md.stderr)
		}
	}
	if !strings.HasPrefix(md.stdout, review.Marker+"\n") {
		t.Errorf("the comment does not start with its marker (make's own echo in stdout?):\n%.300s", md.stdout)
	}
	for _, want := range []string{
		"### ✏️ `dev`: changed",
		"| `v1` | 90% → **80%** | http://v1-model.models.example.com | 1 / – | – | kind.local/model-echo:",
		fmt.Sprintf("**Smoke plan** (`make smoke STACK=dev`): 20%% canary: %d requests catch a 5-point error", n),
		"**pulumi preview**: No credentials for this stack's cluster here: it is a kind cluster",
		"```diff\n--- dev@HEAD\n+++ dev@working-tree",
		"unchanged: `" + strings.Join(others, "`, `") + "`",
	} {
		if !strings.Contains(md.stdout, want) {
			t.Errorf("the comment lacks %q:\n%s", want, md.stdout)
		}
	}

	edit(t, dir, "Pulumi.shadow.yaml", "mirrorPercent: 50", "mirrorPercent: 150")
	bad := command(t, dir, env, "make", "review", "BASE=HEAD", "FORMAT=markdown")
	if bad.code == 0 {
		t.Fatalf("make review passed an invalid stack:\n%s", bad.stdout)
	}
	for _, want := range []string{"**This check fails: a stack is invalid.**", "### ❌ `shadow`: invalid", "modelrollouts:shadow.mirrorPercent: 150 is out of range"} {
		if !strings.Contains(bad.stdout, want) {
			t.Errorf("the failing comment lacks %q:\n%s", want, bad.stdout)
		}
	}

	// A change to the code the working tree's tools are compiled from is
	// never served from the cache; the base's stay reused.
	edit(t, dir, "stacks/fielderror.go", `"%v is out of range, want %v to %v"`, `"%v is out of bounds, want %v to %v"`)
	rebuilt := command(t, dir, env, "make", "review", "BASE=HEAD", "FORMAT=markdown")
	if !strings.Contains(rebuilt.stdout, "modelrollouts:shadow.mirrorPercent: 150 is out of bounds") {
		t.Errorf("after an edit to the validation message, the review does not show the new one (a stale render?):\n%s", rebuilt.stdout)
	}
	for _, want := range []string{"compiling render review from the head's code", "reusing render compiled from the base's code"} {
		if !strings.Contains(rebuilt.stderr, want) {
			t.Errorf("after a code edit, make review does not say %q:\n%s", want, rebuilt.stderr)
		}
	}
}

// otherStacks is the sorted names of dir's Pulumi.<stack>.yaml files but except.
func otherStacks(t *testing.T, dir, except string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "Pulumi.*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "Pulumi."), ".yaml")
		if name != except {
			names = append(names, name)
		}
	}
	if len(names) < 2 {
		t.Fatalf("%s holds stacks %v; the test needs two besides %s", dir, names, except)
	}
	return names
}

func sorted(s []string) []string { slices.Sort(s); return s }

// TestMakeRenderIntoAFileIsPureYAML: `make render STACK=dev > dev.yaml`
// holds only the objects; the note about compiling goes to stderr.
func TestMakeRenderIntoAFileIsPureYAML(t *testing.T) {
	r := command(t, repoRoot(t), makeEnv, "make", "render", "STACK=dev")
	if r.code != 0 {
		t.Fatalf("make render exited %d: %s", r.code, r.stderr)
	}
	if !strings.HasPrefix(r.stdout, "---\n") || strings.Contains(r.stdout, "go run") || strings.Contains(r.stdout, "compiling") {
		t.Errorf("make render's stdout is not only YAML documents:\n%.400s", r.stdout)
	}
	if !strings.Contains(r.stderr, "the first build compiles the Pulumi SDKs") {
		t.Errorf("make render does not say it compiles first:\n%s", r.stderr)
	}
}

// TestConfigChangeFlowWorksFromAFreshCheckout is the README's config-change
// flow in a fresh clone: `pulumi config set` fails with "no stack named
// 'dev' found" until `make stack` creates the stack in the local backend.
func TestConfigChangeFlowWorksFromAFreshCheckout(t *testing.T) {
	cli := findPulumiCLI(t)
	dir := clone(t)
	env := append([]string{"PATH=" + filepath.Dir(cli) + string(os.PathListSeparator) + os.Getenv("PATH"),
		"PULUMI_HOME=" + t.TempDir()}, makeEnv...)
	set := `source hack/lib/pulumi-env.sh && pulumi config set --stack dev --path 'canary.versions[0].percent' 80 && pulumi config set --stack dev --path 'canary.versions[1].percent' 20`

	before := command(t, dir, env, "bash", "-c", set)
	if before.code == 0 || !strings.Contains(before.stderr, "no stack named 'dev' found") {
		t.Errorf("before make stack, pulumi config set should fail with \"no stack named 'dev' found\" (why the flow starts with make stack); exit %d: %s", before.code, before.stderr)
	}
	if r := command(t, dir, env, "make", "stack", "STACK=dev"); r.code != 0 {
		t.Fatalf("make stack exited %d:\n%s", r.code, r.stderr)
	}
	if r := command(t, dir, env, "bash", "-c", set); r.code != 0 {
		t.Fatalf("after make stack, pulumi config set fails (%d):\n%s", r.code, r.stderr)
	}
	data, err := os.ReadFile(filepath.Join(dir, "Pulumi.dev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "percent: 80") || !strings.Contains(string(data), "percent: 20") {
		t.Errorf("Pulumi.dev.yaml after the flow:\n%s", data)
	}
}

// findPulumiCLI is the Pulumi CLI on PATH, in ~/.pulumi/bin or the one
// make tools built (creating a stack needs no language host).
func findPulumiCLI(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("pulumi"); err == nil {
		return p
	}
	if home, err := os.UserHomeDir(); err == nil {
		if p := filepath.Join(home, ".pulumi", "bin", "pulumi"); isExecutable(p) {
			return p
		}
	}
	if root := os.Getenv("PULUMI_ROOT"); root != "" && isExecutable(filepath.Join(root, "bin", "pulumi")) {
		return filepath.Join(root, "bin", "pulumi")
	}
	if p := toolsEnv(t)["PULUMI"]; isExecutable(p) {
		return p
	}
	t.Skip("no Pulumi CLI here (PATH, ~/.pulumi/bin, $PULUMI_ROOT, make tools' env.sh): run make tools")
	return ""
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// toolsEnv reads the export lines of make tools' env.sh.
func toolsEnv(t *testing.T) map[string]string {
	t.Helper()
	dir := os.Getenv("MODELROLLOUTS_TOOLS_DIR")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "modelrollouts", "tools")
	}
	data, err := os.ReadFile(filepath.Join(dir, "env.sh"))
	env := map[string]string{}
	if err != nil {
		return env
	}
	for _, line := range strings.Split(string(data), "\n") {
		if kv, ok := strings.CutPrefix(line, "export "); ok {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = strings.Trim(v, "'")
			}
		}
	}
	return env
}
