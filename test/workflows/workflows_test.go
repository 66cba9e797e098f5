package workflows

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type workflow struct {
	file string
	raw  []byte
	On   map[string]any `yaml:"on"`
	// Permissions at the top: {} so that every job says its own.
	Permissions any            `yaml:"permissions"`
	Jobs        map[string]job `yaml:"jobs"`
}

type job struct {
	If          string            `yaml:"if"`
	Needs       any               `yaml:"needs"`
	Permissions map[string]string `yaml:"permissions"`
	Environment any               `yaml:"environment"`
	Env         map[string]string `yaml:"env"`
	Steps       []step            `yaml:"steps"`
}

type step struct {
	Name string            `yaml:"name"`
	ID   string            `yaml:"id"`
	If   string            `yaml:"if"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	Env  map[string]string `yaml:"env"`
	With map[string]any    `yaml:"with"`
}

func (s step) String() string {
	for _, v := range []string{s.Name, s.ID, s.Uses} {
		if v != "" {
			return v
		}
	}
	return strings.SplitN(s.Run, "\n", 2)[0]
}

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func parseWorkflow(t *testing.T, file string, raw []byte) *workflow {
	t.Helper()
	wf := &workflow{file: file, raw: raw}
	if err := yaml.Unmarshal(raw, wf); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return wf
}

// workflows reads every file of .github/workflows.
func workflows(t *testing.T) map[string]*workflow {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot(t), ".github", "workflows", "*.y*ml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no workflows: %v", err)
	}
	out := map[string]*workflow{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = parseWorkflow(t, filepath.Base(f), raw)
	}
	return out
}

// The rules. Each returns the problems it finds, one line each.

var (
	usesLine  = regexp.MustCompile(`(?m)^\s*(?:-\s+)?uses:\s*([^\s#]+)[ \t]*(?:#[ \t]*(\S+))?`)
	pinnedRef = regexp.MustCompile(`^[\w.-]+/[\w./-]+@[0-9a-f]{40}$`)
	tagName   = regexp.MustCompile(`^v\d+(\.\d+){0,2}$`)
)

// unpinnedActions: a third-party action must be pinned by full commit SHA
// (a tag can be moved to other code) with the tag it is in a comment.
func unpinnedActions(wf *workflow) []string {
	var out []string
	for _, m := range usesLine.FindAllStringSubmatch(string(wf.raw), -1) {
		ref, tag := m[1], m[2]
		if strings.HasPrefix(ref, "./") || strings.HasPrefix(ref, "docker://") {
			continue
		}
		if !pinnedRef.MatchString(ref) || !tagName.MatchString(tag) {
			out = append(out, fmt.Sprintf("%s: %s is not pinned as owner/repo@<40-hex commit> # vX.Y.Z (comment %q)", wf.file, ref, tag))
		}
	}
	return out
}

// jobsWithoutPermissions: each job says what its token may do, and the
// workflow's default is none, so a new job starts with nothing.
func jobsWithoutPermissions(wf *workflow) []string {
	var out []string
	if m, ok := wf.Permissions.(map[string]any); !ok || len(m) != 0 {
		out = append(out, fmt.Sprintf("%s: top-level permissions are %v, want {} (each job its own)", wf.file, wf.Permissions))
	}
	for name, j := range wf.Jobs {
		if j.Permissions == nil {
			out = append(out, fmt.Sprintf("%s: job %s has no explicit permissions", wf.file, name))
		}
	}
	return out
}

// expressionsInRun: a ${{ }} in a run: line is pasted into the script
// before the shell sees it, so a branch name or PR title can run code;
// values reach scripts through env: instead.
func expressionsInRun(wf *workflow) []string {
	var out []string
	for name, j := range wf.Jobs {
		for _, s := range j.Steps {
			if strings.Contains(s.Run, "${{") {
				out = append(out, fmt.Sprintf("%s: job %s, step %q has an expression in run:", wf.file, name, s))
			}
		}
	}
	return out
}

// goRunFeedsExitCode: `go run` exits 1 for any failing exit of the program,
// so its status must never choose a branch.
var exitCodeUse = regexp.MustCompile(`\$\?|set \+e|PIPESTATUS|\|\||\bcase\b|\bif\b|\|`)

func goRunFeedsExitCode(wf *workflow) []string {
	var out []string
	for name, j := range wf.Jobs {
		for _, s := range j.Steps {
			if strings.Contains(s.Run, "go run") && exitCodeUse.MatchString(s.Run) {
				out = append(out, fmt.Sprintf("%s: job %s, step %q branches on the exit code of go run (build the binary once)", wf.file, name, s))
			}
		}
	}
	return out
}

// scheduleWithoutOptIn: a schedule runs on every fork and every copy of the
// repository, secrets or not: each first job must need a repository
// variable to run on one.
func scheduleWithoutOptIn(wf *workflow) []string {
	if _, ok := wf.On["schedule"]; !ok {
		return nil
	}
	var out []string
	for name, j := range wf.Jobs {
		if j.Needs != nil {
			continue // skipped with the job it needs
		}
		if !strings.Contains(j.If, "github.event_name != 'schedule'") || !strings.Contains(j.If, "vars.") {
			out = append(out, fmt.Sprintf("%s: job %s runs on the schedule without a repository variable turning it on (if: %q)", wf.file, name, j.If))
		}
	}
	return out
}

// longRunSteps: a step longer than a few lines is a script in hack/ci,
// where shellcheck reads it and a test runs every branch.
const maxRunLines = 5

func longRunSteps(wf *workflow) []string {
	var out []string
	for name, j := range wf.Jobs {
		for _, s := range j.Steps {
			if n := len(strings.Split(strings.TrimRight(s.Run, "\n"), "\n")); n > maxRunLines {
				out = append(out, fmt.Sprintf("%s: job %s, step %q runs %d lines (> %d): move it to hack/ci", wf.file, name, s, n, maxRunLines))
			}
		}
	}
	return out
}

var rules = map[string]func(*workflow) []string{
	"actions pinned by SHA":          unpinnedActions,
	"explicit permissions":           jobsWithoutPermissions,
	"no expressions in run":          expressionsInRun,
	"no go run feeding an exit code": goRunFeedsExitCode,
	"schedules are opt-in":           scheduleWithoutOptIn,
	"long steps live in hack/ci":     longRunSteps,
}

func TestEveryWorkflowKeepsEveryRule(t *testing.T) {
	for _, wf := range workflows(t) {
		for name, rule := range rules {
			for _, p := range rule(wf) {
				t.Errorf("%s: %s", name, p)
			}
		}
	}
}

// Each rule catches what it is there for (a rule that cannot fail proves
// nothing).
func TestEachRuleCatchesAWorkflowThatBreaksIt(t *testing.T) {
	bad := parseWorkflow(t, "bad.yml", []byte(`on:
  schedule:
    - cron: "0 * * * *"
  pull_request:
permissions:
  contents: write
jobs:
  gate:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-go@b7ad1dad31e06c5925ef5d2fc7ad053ef454303e
      - run: |
          go run ./cmd/rollout check > verdict.json
          code=$?
          git push origin "${{ github.head_ref }}"
          a
          b
          c
`))
	for name, rule := range rules {
		if len(rule(bad)) == 0 {
			t.Errorf("the rule %q finds nothing wrong with a workflow that breaks it", name)
		}
	}
	if got := unpinnedActions(bad); len(got) != 2 {
		t.Errorf("unpinned actions: %v, want both (a tag, and a SHA without its tag)", got)
	}
}

// One action, one commit: two workflows on different commits of the same
// action are two reviews of third-party code, and one is stale.
func TestEachActionIsPinnedToOneCommitEverywhere(t *testing.T) {
	pins := map[string]map[string]bool{}
	for _, wf := range workflows(t) {
		for _, m := range usesLine.FindAllStringSubmatch(string(wf.raw), -1) {
			action, ref, _ := strings.Cut(m[1], "@")
			if pins[action] == nil {
				pins[action] = map[string]bool{}
			}
			pins[action][ref+" "+m[2]] = true
		}
	}
	for action, refs := range pins {
		if len(refs) > 1 {
			t.Errorf("%s is pinned %d ways: %v", action, len(refs), refs)
		}
	}
}

// Every cache key names its workflow: a key shared by two workflows is
// saved by whichever runs first and never by the other.
func TestEachWorkflowHasItsOwnCacheKeys(t *testing.T) {
	seen := map[string]string{}
	for _, wf := range workflows(t) {
		for _, j := range wf.Jobs {
			for _, s := range j.Steps {
				key, _ := s.With["key"].(string)
				if !strings.HasPrefix(s.Uses, "actions/cache@") || key == "" {
					continue
				}
				if other, ok := seen[key]; ok {
					t.Errorf("%s and %s share the cache key %s", other, wf.file, key)
				}
				seen[key] = wf.file
			}
		}
	}
	if len(seen) == 0 {
		t.Fatal("no cache steps found: the test reads nothing")
	}
}

// Every script a workflow runs exists, is executable and has a test here.
func TestEveryScriptAWorkflowRunsExistsAndIsTested(t *testing.T) {
	root := repoRoot(t)
	var tests []byte
	testFiles, _ := filepath.Glob("*_test.go")
	for _, f := range testFiles {
		if f == "workflows_test.go" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tests = append(tests, data...)
	}
	script := regexp.MustCompile(`hack/ci/[\w.-]+\.sh`)
	n := 0
	for _, wf := range workflows(t) {
		for _, j := range wf.Jobs {
			for _, s := range j.Steps {
				for _, path := range script.FindAllString(s.Run, -1) {
					n++
					info, err := os.Stat(filepath.Join(root, path))
					if err != nil || info.Mode()&0o111 == 0 {
						t.Errorf("%s runs %s, which is missing or not executable (%v)", wf.file, path, err)
					}
					if !strings.Contains(string(tests), `"`+filepath.Base(path)+`"`) {
						t.Errorf("%s runs %s, which no test here runs", wf.file, path)
					}
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no workflow runs a hack/ci script: the test reads nothing")
	}
}

// No script in hack/ci branches on `go run` either, and none pipes an
// installer into a shell.
func TestHackCIScriptsNeitherGoRunNorCurlIntoAShell(t *testing.T) {
	root := repoRoot(t)
	files, _ := filepath.Glob(filepath.Join(root, "hack", "ci", "*.sh"))
	libs, _ := filepath.Glob(filepath.Join(root, "hack", "lib", "*.sh"))
	rules, _ := filepath.Glob(filepath.Join(root, "hack", "make-rules", "*.sh"))
	libs = append(libs, rules...)
	comment := regexp.MustCompile(`(?m)^\s*#.*$`)
	pipeToShell := regexp.MustCompile(`curl[^|\n]*\|\s*(ba)?sh\b`)
	for _, f := range append(files, libs...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		data = comment.ReplaceAll(data, nil)
		if strings.Contains(f, "/hack/ci/") && strings.Contains(string(data), "go run") {
			t.Errorf("%s uses go run", rel)
		}
		if pipeToShell.Match(data) {
			t.Errorf("%s pipes a download into a shell: %s", rel, pipeToShell.Find(data))
		}
	}
}

// jobRunning is the one job with a step that runs needle (more than one
// is a test that would check whichever map order gives first).
func jobRunning(t *testing.T, wf *workflow, needle string) (string, job) {
	t.Helper()
	var names []string
	for name, j := range wf.Jobs {
		for _, s := range j.Steps {
			if strings.Contains(s.Run, needle) {
				names = append(names, name)
				break
			}
		}
	}
	switch len(names) {
	case 0:
		t.Fatalf("%s: no job runs %q", wf.file, needle)
	case 1:
		return names[0], wf.Jobs[names[0]]
	}
	slices.Sort(names)
	t.Fatalf("%s: jobs %v all run %q: name one", wf.file, names, needle)
	return "", job{}
}

func writes(j job) []string {
	var out []string
	for scope, level := range j.Permissions {
		if level == "write" {
			out = append(out, scope)
		}
	}
	slices.Sort(out)
	return out
}

// secretsIn lists the secrets a job's steps and env name.
func secretsIn(j job) string {
	var b strings.Builder
	for _, v := range j.Env {
		b.WriteString(v + "\n")
	}
	for _, s := range j.Steps {
		for _, v := range s.Env {
			b.WriteString(v + "\n")
		}
		for _, v := range s.With {
			fmt.Fprintln(&b, v)
		}
	}
	return b.String()
}

// rollout.yml: the gate binary is built once and run by the gate script;
// the gate job only reads; the PR job writes, with a token of its own and
// none of the Pulumi backend's secrets; nothing in the loop applies a
// change without review.
func TestTheRolloutWorkflowSplitsReadingFromWriting(t *testing.T) {
	wf := workflows(t)["rollout.yml"]
	builds := 0
	for _, j := range wf.Jobs {
		for _, s := range j.Steps {
			if regexp.MustCompile(`go build -o "\$RUNNER_TEMP/rollout" \./cmd/rollout`).MatchString(s.Run) {
				builds++
			}
			if strings.Contains(s.Run, "go run") {
				t.Errorf("step %q uses go run", s)
			}
		}
	}
	if builds != 1 {
		t.Errorf("cmd/rollout is built %d times, want once", builds)
	}
	gateName, gate := jobRunning(t, wf, `hack/ci/rollout-gate.sh "$RUNNER_TEMP/rollout"`)
	if w := writes(gate); len(w) != 0 {
		t.Errorf("the gate job %s may write %v", gateName, w)
	}
	prName, pr := jobRunning(t, wf, "hack/ci/rollout-pr.sh")
	if got := writes(pr); !slices.Equal(got, []string{"contents", "pull-requests"}) {
		t.Errorf("the PR job %s writes %v, want contents and pull-requests", prName, got)
	}
	secrets := secretsIn(pr)
	if strings.Contains(secrets, "PULUMI") {
		t.Errorf("the PR job gets the Pulumi backend's secrets:\n%s", secrets)
	}
	for _, want := range []string{"secrets.ROLLOUT_APP_PRIVATE_KEY", "secrets.ROLLOUT_PR_TOKEN"} {
		if !strings.Contains(secrets, want) {
			t.Errorf("the PR job does not use %s", want)
		}
	}
	if strings.Contains(secrets, "github.token") {
		t.Error("the PR job opens the PR with the workflow's own token, which triggers no PR workflow")
	}
	applies := regexp.MustCompile(`pulumi (up|update|destroy|refresh|config set)|make (up|down)|kubectl (apply|patch|edit|scale)|git push origin (main|master|HEAD:)`)
	root := repoRoot(t)
	for _, f := range []string{"hack/ci/rollout-gate.sh", "hack/ci/rollout-pr.sh"} {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if m := applies.Find(data); m != nil {
			t.Errorf("%s applies a change without review: %s", f, m)
		}
	}
	for _, j := range wf.Jobs {
		for _, s := range j.Steps {
			if m := applies.FindString(s.Run); m != "" {
				t.Errorf("step %q applies a change without review: %s", s, m)
			}
		}
	}
}

// deploy.yml: a push to main that changes a stack file applies it, behind
// an environment, never on a fork, and smoke-tests it.
func TestTheDeployWorkflowAppliesMergedStacksBehindAnEnvironment(t *testing.T) {
	wf := workflows(t)["deploy.yml"]
	push, _ := wf.On["push"].(map[string]any)
	if fmt.Sprint(push["branches"]) != "[main]" || !slices.Contains(anyStrings(push["paths"]), "Pulumi.*.yaml") {
		t.Errorf("deploy runs on push %v, want main and paths with Pulumi.*.yaml", push)
	}
	name, apply := jobRunning(t, wf, `hack/ci/deploy.sh "$STACK"`)
	if apply.Environment == nil {
		t.Errorf("job %s applies without a GitHub environment (no approval possible)", name)
	}
	if w := writes(apply); len(w) != 0 {
		t.Errorf("job %s may write %v", name, w)
	}
	_, plan := jobRunning(t, wf, "hack/ci/deploy-stacks.sh")
	if !strings.Contains(plan.If, "github.event.repository.fork == false") || !strings.Contains(plan.If, "vars.DEPLOY_STACKS") {
		t.Errorf("the plan job runs on forks or without DEPLOY_STACKS: if %q", plan.If)
	}
}

// review.yml: the PR's own code (make review) runs with a read-only token;
// secrets reach only the preview credentials and make review steps; the
// comment job runs the base branch's script.
func TestTheReviewWorkflowRunsThePRsCodeReadOnly(t *testing.T) {
	wf := workflows(t)["review.yml"]
	name, review := jobRunning(t, wf, "make review FORMAT=markdown")
	if w := writes(review); len(w) != 0 {
		t.Errorf("job %s runs the PR's code with write access to %v", name, w)
	}
	for _, s := range review.Steps {
		hasSecret := strings.Contains(fmt.Sprint(s.Env), "secrets.")
		allowed := s.ID == "creds" || s.ID == "review"
		if hasSecret && !allowed {
			t.Errorf("step %q gets secrets it does not need", s)
		}
		if strings.Contains(fmt.Sprint(s.Env), "PULUMI_CONFIG_PASSPHRASE") && s.ID != "review" {
			t.Errorf("step %q gets the passphrase", s)
		}
	}
	_, comment := jobRunning(t, wf, "hack/ci/sticky-comment.sh")
	for _, s := range comment.Steps {
		if strings.HasPrefix(s.Uses, "actions/checkout@") && s.With["ref"] != "${{ github.event.pull_request.base.sha }}" {
			t.Errorf("the comment job checks out %v, want the base commit", s.With["ref"])
		}
	}
}

// e2e.yml runs for every path that changes the lab, and its diagnostics
// are uploaded on a timeout or cancel too.
func TestTheE2EWorkflowRunsOnEveryPathThatChangesTheLab(t *testing.T) {
	wf := workflows(t)["e2e.yml"]
	pr, _ := wf.On["pull_request"].(map[string]any)
	paths := anyStrings(pr["paths"])
	for _, want := range []string{"components/**", "infra/**", "stacks/**", "model-echo/**", "cmd/**", "internal/**",
		"hack/**", "Makefile", "go.mod", "go.sum", "Pulumi.yaml", "Pulumi.*.yaml"} {
		if !slices.Contains(paths, want) {
			t.Errorf("e2e does not run for %s", want)
		}
	}
	n := 0
	for _, j := range wf.Jobs {
		for _, s := range j.Steps {
			if strings.Contains(strings.ToLower(s.Name), "diagnostics") {
				n++
				if s.If != "failure() || cancelled()" {
					t.Errorf("step %q runs if %q, want failure() || cancelled()", s, s.If)
				}
			}
		}
	}
	if n != 2 {
		t.Errorf("%d diagnostics steps, want collect and upload", n)
	}
}

// The Pulumi CLI comes from hack/ci/install-pulumi.sh (the pin, checked by
// sha256) wherever a workflow needs it, never from pulumi/actions (which
// installs whatever it is given, unchecked).
func TestWorkflowsInstallThePinnedPulumiCLI(t *testing.T) {
	for _, wf := range workflows(t) {
		if strings.Contains(string(wf.raw), "pulumi/actions@") {
			t.Errorf("%s uses pulumi/actions instead of hack/ci/install-pulumi.sh", wf.file)
		}
	}
	for _, file := range []string{"rollout.yml", "deploy.yml", "review.yml"} {
		jobRunning(t, workflows(t)[file], "hack/ci/install-pulumi.sh")
	}
}

func anyStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		out = append(out, fmt.Sprint(x))
	}
	return out
}
