package workflows

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	promote    = `{"result":{"verdict":"promote","reason":"v2 meets every SLO at 2% α"}}`
	rollback   = `{"result":{"verdict":"rollback","reason":"v2's success rate is below 99%"}}`
	undecided  = `{"result":{"verdict":"inconclusive","reason":"the budget ran out before a decision"}}`
	notApplied = `{"verdict":"not-applied","reason":"the deployed stack is not at the step Pulumi.dev.yaml names (v2 deployed at 10%, the file says 25%): a merged step waits for pulumi up"}`
)

func gate(t *testing.T, env map[string]string) ciRun {
	t.Helper()
	base := map[string]string{"STACK": "dev", "GH_TOKEN": "read-token", "PROMETHEUS_URL": ""}
	for k, v := range env {
		base[k] = v
	}
	return runScript(t, "rollout-gate.sh", nil, base, "rollout")
}

func TestTheGatesPromoteWritesTheNextStepForAPR(t *testing.T) {
	t.Parallel()
	r := gate(t, map[string]string{"FAKE_GATE_CODE": "0", "FAKE_VERDICT": promote})
	if r.code != 0 || r.outputs["code"] != "0" || r.outputs["action"] != "advance" || r.outputs["changed"] != "true" {
		t.Fatalf("want a step to advance:\n%v\noutputs %v", r, r.outputs)
	}
	for _, call := range []string{
		"pulumi stack output --json --stack dev",
		"rollout check --stack dev --outputs outputs.json --json",
		"rollout advance --stack dev --evidence verdict.json --title-file pr-title.txt --body-file pr-body.md",
	} {
		if !r.called(call) {
			t.Errorf("the gate job did not run %q:\n%v", call, r)
		}
	}
	if !strings.Contains(r.summary, "**promote**: v2 meets every SLO") {
		t.Errorf("the summary lacks the verdict:\n%s", r.summary)
	}
	if _, err := os.Stat(filepath.Join(r.dir, "pr-title.txt")); err != nil {
		t.Errorf("no PR title for the PR job: %v", err)
	}
}

func TestTheGatesRollbackWritesTheCandidateAtZero(t *testing.T) {
	t.Parallel()
	r := gate(t, map[string]string{"FAKE_GATE_CODE": "1", "FAKE_VERDICT": rollback})
	if r.code != 0 || r.outputs["action"] != "rollback" || r.outputs["changed"] != "true" || !r.called("rollout rollback --stack dev --evidence verdict.json") {
		t.Fatalf("want a rollback step:\n%v\noutputs %v", r, r.outputs)
	}
	if r.called("rollout advance") {
		t.Error("a rollback verdict advanced")
	}
}

func TestAnInconclusiveGateSaysWhyAndOpensNoPR(t *testing.T) {
	t.Parallel()
	for name, verdict := range map[string]string{"an undecided check": undecided, "a merged step not yet applied": notApplied} {
		r := gate(t, map[string]string{"FAKE_GATE_CODE": "3", "FAKE_VERDICT": verdict})
		if r.code != 0 || r.outputs["code"] != "3" || r.outputs["changed"] != "false" {
			t.Errorf("%s: want a green run without a step:\n%v\noutputs %v", name, r, r.outputs)
		}
		if r.called("rollout advance") || r.called("rollout rollback") {
			t.Errorf("%s: a step was written", name)
		}
		reason := verdict[strings.Index(verdict, `"reason":"`)+10 : strings.LastIndex(verdict, `"`)]
		if !strings.Contains(r.summary, reason) || !strings.Contains(r.summary, "No PR") {
			t.Errorf("%s: the summary lacks the reason %q:\n%s", name, reason, r.summary)
		}
	}
}

// Exit 2 (the gate's error) and any other code (a crash, a kill) are red
// runs with the gate's own message, never a rollback.
func TestAGateThatCannotJudgeFailsTheRunWithItsMessage(t *testing.T) {
	t.Parallel()
	for _, code := range []string{"2", "137"} {
		r := gate(t, map[string]string{"FAKE_GATE_CODE": code, "FAKE_GATE_STDERR": "rollout check: version v2 gave no answer within 3m0s"})
		if itoa(r.code) != code || r.outputs["changed"] == "true" {
			t.Errorf("exit %s: the run ended %d, changed %q:\n%v", code, r.code, r.outputs["changed"], r)
		}
		want := "::error title=rollout gate exit " + code + "::rollout check: version v2 gave no answer"
		if !strings.Contains(r.stderr, want) || !strings.Contains(r.summary, "could not judge (exit "+code+")") {
			t.Errorf("exit %s: the error lacks the gate's message:\n%v", code, r)
		}
		if r.called("rollout rollback") || r.called("rollout advance") {
			t.Errorf("exit %s: a step was written", code)
		}
	}
}

func TestTheGateWaitsWhileARolloutPRIsOpen(t *testing.T) {
	t.Parallel()
	r := gate(t, map[string]string{"FAKE_OPEN_PRS": "1", "FAKE_GATE_CODE": "0", "FAKE_VERDICT": promote})
	if r.code != 0 || r.outputs["changed"] != "false" || r.called("rollout check") || !strings.Contains(r.summary, "is open") {
		t.Fatalf("want no check while a PR is open:\n%v", r)
	}
	if !r.called(`gh pr list --state open --search in:title "rollout(dev)"`) {
		t.Errorf("the open PRs were not looked up by title:\n%v", r)
	}
}

func TestAtTheEndsOfTheLadderThereIsNothingToStep(t *testing.T) {
	t.Parallel()
	top := gate(t, map[string]string{"FAKE_GATE_CODE": "0", "FAKE_VERDICT": promote, "FAKE_NEXT": "-1", "FAKE_PERCENT": "100"})
	zero := gate(t, map[string]string{"FAKE_GATE_CODE": "1", "FAKE_VERDICT": rollback, "FAKE_PERCENT": "0"})
	for name, r := range map[string]ciRun{"at the top": top, "at 0%": zero} {
		if r.code != 0 || r.outputs["changed"] != "false" || !strings.Contains(r.summary, "Nothing to") || r.called("rollout advance") || r.called("rollout rollback") {
			t.Errorf("%s: want nothing to step:\n%v", name, r)
		}
	}
}

func TestTheGateJudgesPrometheusWhenGivenOne(t *testing.T) {
	t.Parallel()
	r := gate(t, map[string]string{"FAKE_GATE_CODE": "3", "FAKE_VERDICT": undecided, "PROMETHEUS_URL": "http://prometheus:9090"})
	if !r.called("rollout check --stack dev --outputs outputs.json --json --prometheus http://prometheus:9090") {
		t.Fatalf("the Prometheus URL did not reach the gate:\n%v", r)
	}
}

var stepFiles = map[string]string{
	"Pulumi.dev.yaml": "config: {}\n", "pr-title.txt": "rollout(dev): v2 10% → 25%\n", "pr-body.md": "The gate's evidence.\n",
}

func prJob(t *testing.T, env map[string]string) ciRun {
	t.Helper()
	base := map[string]string{"STACK": "dev", "BASE": "main"}
	for k, v := range env {
		base[k] = v
	}
	return runScript(t, "rollout-pr.sh", stepFiles, base)
}

func TestWithoutATokenThePRJobWritesThePRToTheSummaryAndSaysWhy(t *testing.T) {
	t.Parallel()
	r := prJob(t, map[string]string{"GH_TOKEN": ""})
	if r.code != 0 {
		t.Fatalf("want a green run:\n%v", r)
	}
	for _, want := range []string{"No PR opened", "GITHUB_TOKEN", "ROLLOUT_PR_TOKEN", "### rollout(dev): v2 10% → 25%", "The gate's evidence.", "+        percent: 25"} {
		if !strings.Contains(r.summary, want) {
			t.Errorf("the summary lacks %q:\n%s", want, r.summary)
		}
	}
	if r.called("git push") || r.called("gh pr create") {
		t.Errorf("pushed or opened a PR without a token:\n%v", r)
	}
}

func TestWithATokenThePRJobPushesABranchAndOpensThePR(t *testing.T) {
	t.Parallel()
	r := prJob(t, map[string]string{"GH_TOKEN": "app-token"})
	if r.code != 0 {
		t.Fatalf("want a PR:\n%v", r)
	}
	order := []string{"gh auth setup-git", "git switch -c rollout/dev/", "git add -- Pulumi.dev.yaml", "git -c user.name=rollout gate", "git push origin rollout/dev/", "gh pr create --base main --head rollout/dev/"}
	i := 0
	for _, c := range r.calls {
		if i < len(order) && strings.HasPrefix(c, order[i]) {
			i++
		}
	}
	if i < len(order) {
		t.Errorf("the PR job did not run %q (in order):\n%v", order[i], r)
	}
	if !strings.Contains(r.summary, "Opened https://github.com/example/modelrollouts/pull/7") {
		t.Errorf("the summary lacks the PR:\n%s", r.summary)
	}
}

// GitHub refuses the PR (e.g. Actions may not create PRs): the branch just
// pushed is deleted, and the run is red with GitHub's words.
func TestARefusedPRDeletesItsBranchAndFailsTheRun(t *testing.T) {
	t.Parallel()
	r := prJob(t, map[string]string{"GH_TOKEN": "app-token", "FAKE_PR_REFUSED": "1"})
	if r.code != 1 || !r.called("git push origin --delete rollout/dev/") {
		t.Fatalf("want a red run and the branch deleted:\n%v", r)
	}
	if !strings.Contains(r.stderr, "::error title=rollout PR refused::gh pr create: pull request create failed") {
		t.Errorf("the error lacks GitHub's message:\n%s", r.stderr)
	}
}

func plan(t *testing.T, listed, before string, changed ...string) ciRun {
	t.Helper()
	files := map[string]string{"Pulumi.dev.yaml": "", "Pulumi.cloud.yaml": "", "Pulumi.shadow.yaml": ""}
	return runScript(t, "deploy-stacks.sh", files, map[string]string{"DEPLOY_STACKS": listed, "FAKE_CHANGED": strings.Join(changed, " ")}, before, "after")
}

func TestDeployPlansTheChangedStacksItDeploys(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		r    ciRun
		want string
	}{
		"a listed stack's file":               {plan(t, "cloud,dev", "before", "Pulumi.cloud.yaml", "README.md"), `["cloud"]`},
		"a stack file not listed":             {plan(t, "cloud", "before", "Pulumi.shadow.yaml"), `[]`},
		"the program: every listed stack":     {plan(t, "cloud dev", "before", "infra/program.go"), `["cloud","dev"]`},
		"go.sum: every listed stack":          {plan(t, "cloud", "before", "go.sum"), `["cloud"]`},
		"docs only":                           {plan(t, "cloud", "before", "docs/github.md"), `[]`},
		"a new branch (no before): every one": {plan(t, "cloud", "0000000000000000000000000000000000000000"), `["cloud"]`},
		"a listed stack without its file":     {plan(t, "cloud nosuch", "", ""), `["cloud"]`},
	} {
		if tc.r.code != 0 || tc.r.outputs["stacks"] != tc.want {
			t.Errorf("%s: stacks=%s, want %s\n%v", name, tc.r.outputs["stacks"], tc.want, tc.r)
		}
	}
	if r := plan(t, "cloud nosuch", ""); !strings.Contains(r.stderr, "DEPLOY_STACKS names nosuch") {
		t.Errorf("a listed stack without a file is not reported:\n%v", r)
	}
}

func TestDeployAppliesSmokesAndShowsTheOutputs(t *testing.T) {
	t.Parallel()
	r := runScript(t, "deploy.sh", nil, map[string]string{
		"PULUMI_BACKEND_URL": "s3://state", "DEPLOY_KUBECONFIG": "apiVersion: v1\nkind: Config\n",
	}, "cloud")
	if r.code != 0 {
		t.Fatalf("deploy failed:\n%v", r)
	}
	order := []string{"make up STACK=cloud ARGS=--non-interactive", "pulumi stack output --stack cloud", "make smoke STACK=cloud"}
	i := 0
	for _, c := range r.calls {
		if i < len(order) && c == order[i] {
			i++
		}
	}
	if i < len(order) {
		t.Errorf("deploy did not run %q (in order):\n%v", order[i], r)
	}
	if !strings.Contains(r.summary, "ingressUrl  http://203.0.113.10") || !strings.Contains(r.summary, "make smoke passed") {
		t.Errorf("the summary lacks the outputs or the smoke result:\n%s", r.summary)
	}
	info, err := os.Stat(filepath.Join(r.fakeDir, "deploy-kubeconfig"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("the kubeconfig is %v (%v), want 0600", info.Mode().Perm(), err)
	}
}

func TestDeployStopsBeforeSmokeWhenUpFailsAndRefusesWithoutABackend(t *testing.T) {
	t.Parallel()
	r := runScript(t, "deploy.sh", nil, map[string]string{"PULUMI_BACKEND_URL": "s3://state", "FAKE_MAKE_FAILS": "up"}, "cloud")
	if r.code == 0 || r.called("make smoke") {
		t.Errorf("a failed make up went on:\n%v", r)
	}
	r = runScript(t, "deploy.sh", nil, map[string]string{"PULUMI_BACKEND_URL": ""}, "cloud")
	if r.code != 2 || r.called("make") || !strings.Contains(r.stderr, "PULUMI_BACKEND_URL is not set") {
		t.Errorf("deploy without a backend would start an empty local state:\n%v", r)
	}
}

func TestReviewPreviewsOnlyWithAReadOnlyKubeconfigWrittenPrivately(t *testing.T) {
	t.Parallel()
	r := runScript(t, "review-credentials.sh", nil, map[string]string{"REVIEW_KUBECONFIG": "", "PULUMI_BACKEND_URL": ""})
	if r.code != 0 || r.outputs["preview"] != "0" {
		t.Errorf("without secrets: want preview=0:\n%v", r)
	}
	secrets := map[string]string{"REVIEW_KUBECONFIG": "apiVersion: v1\nkind: Config\n", "PULUMI_BACKEND_URL": "s3://state"}
	r = runScript(t, "review-credentials.sh", nil, secrets)
	path := r.outputs["kubeconfig"]
	if r.code != 0 || r.outputs["preview"] != "1" || path == "" {
		t.Fatalf("a read-only kubeconfig: want preview=1:\n%v", r)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("the kubeconfig is %v (%v), want 0600", info.Mode().Perm(), err)
	}
	if !r.called("kubectl --kubeconfig " + path + " auth can-i create deployments.apps --all-namespaces") {
		t.Errorf("the kubeconfig's rights were not checked:\n%v", r)
	}
	secrets["FAKE_KUBECTL_CAN"] = "create:deployments.apps delete:namespaces"
	r = runScript(t, "review-credentials.sh", nil, secrets)
	if r.code != 1 || r.outputs["preview"] == "1" || !strings.Contains(r.stderr, "may create deployments.apps delete namespaces") {
		t.Errorf("a kubeconfig that can write: want a refusal:\n%v", r)
	}
	if _, err := os.Stat(filepath.Join(r.fakeDir, "review-kubeconfig")); err == nil {
		t.Error("the refused kubeconfig was left on disk")
	}
}

func TestTheReviewCommentIsEditedInPlaceAndCappedBelowGitHubsLimit(t *testing.T) {
	t.Parallel()
	small := "<!-- modelrollouts-review -->\n## dev\nfine\n"
	r := runScript(t, "sticky-comment.sh", map[string]string{"review.md": small}, map[string]string{"GH_TOKEN": "t", "FAKE_COMMENT_ID": "42"}, "7", "review.md")
	posted, _ := os.ReadFile(filepath.Join(r.fakeDir, "posted-body"))
	if r.code != 0 || !r.called("gh api -X PATCH repos/example/modelrollouts/issues/comments/42") || string(posted) != small {
		t.Fatalf("a small review is not edited in place as it is:\n%v\nposted:\n%s", r, posted)
	}

	var big strings.Builder
	big.WriteString("<!-- modelrollouts-review -->\n```diff\n")
	for big.Len() < 5000 {
		big.WriteString("+  a line of the object diff, é\n")
	}
	big.WriteString("```\n")
	r = runScript(t, "sticky-comment.sh", map[string]string{"review.md": big.String()},
		map[string]string{"GH_TOKEN": "t", "COMMENT_MAX_BYTES": "2000"}, "7", "review.md")
	posted, _ = os.ReadFile(filepath.Join(r.fakeDir, "posted-body"))
	if r.code != 0 || !r.called("gh api -X POST repos/example/modelrollouts/issues/7/comments") {
		t.Fatalf("the capped review was not posted:\n%v", r)
	}
	body := string(posted)
	if len(body) > 2000+300 || !strings.HasPrefix(body, "<!-- modelrollouts-review -->") || !strings.Contains(body, "**Cut here**") {
		t.Errorf("the posted body is %d bytes, want the marker, at most the cap and a note:\n%s", len(body), body)
	}
	if strings.Count(body, "```")%2 != 0 {
		t.Errorf("the cut left a code block open:\n%s", body)
	}
}
