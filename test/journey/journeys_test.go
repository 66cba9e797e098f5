//go:build journey

package journey

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/modelrollouts/modelrollouts/internal/shadow/report"
	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
	"github.com/modelrollouts/modelrollouts/stacks"
	"github.com/modelrollouts/modelrollouts/test/iris"
	"github.com/modelrollouts/modelrollouts/test/journey/lab/knative"
)

// gateAlpha is the α the dev journey's stack sets for its gate
// (canary.rollout.gate.alpha, with `pulumi config set --path` as the README
// shows): each check of two equal versions rolls back or stays
// inconclusive by chance at most this often, so the three promotions fail
// the journey by chance at most 3e-5 of runs. At the default 0.02 it
// would be up to 6%.
const gateAlpha = "0.00001"

// crashLoss bounds the requests whose payload events a SIGKILLed
// model-echo had answered but not yet written: its log queue drains in
// batches, and on this 2-core machine, busy with kwok, the stand-ins and
// four pods, it ran 3 to 24 events behind at the crash (CI once more than
// 32). A report that skipped the crashed pod's previous log would lose
// all of that pod's ~100 records before the crash, so 50 still catches it.
const crashLoss = 50

// a. The dev canary as the README's rollout block drives it: make up,
// make smoke (v2 scaled to zero: a cold start), rollout status, check ->
// advance -> make up to 100%, then a candidate turned bad is checked (exit
// 1), rolled back and applied, and make smoke proves it gets nothing; d.
// make down leaves nothing of ours.
func TestJourneyTheDevCanaryClimbsItsLadderAndABadCandidateIsRolledBack(t *testing.T) {
	requireTier(t)
	l := startLab(t, "dev", 8080)
	l.pointStackAtLab(l.url)
	set := func(key, value string) {
		expect(t, 0, fmt.Sprintf("source hack/lib/pulumi-env.sh && pulumi config set --stack dev --path %s %s", key, value))
	}
	set("canary.rollout.gate.alpha", gateAlpha)
	// The p99 SLO of this lab's machine: every model process, the stand-ins
	// and the API server share its cores with whatever else runs there, and
	// a starved moment would break the 500 ms default for both versions
	// (the gate then rightly says inconclusive: a platform problem).
	set("canary.rollout.gate.maxP99Ms", "5000")
	// v2 scales to zero between the commands, so every check meets a
	// freshly started v2 (the gate warms both versions alike first; before
	// it did, the default +25% latency rule rolled v2 back here).
	out := l.up("make up")
	if out.IngressURL != l.url || out.Split["v1"] != 90 || out.Split["v2"] != 10 {
		fatalf(t, "outputs after make up: ingressUrl %q split %v", out.IngressURL, out.Split)
	}
	// v1 is kept warm (min-scale 1); v2 scales to zero once idle, so
	// make smoke meets a cold start.
	l.waitPods("models", "version=v1", 1, 30*time.Second)
	l.waitPods("models", "version=v2", 0, 30*time.Second)

	smoke := l.run(0, readme(t, cmdSmoke))
	wantLine(t, smoke, `(?m)^PASS`)
	if l.gateway.Counts().ColdStarts == 0 {
		errorf(t, "make smoke found v2 scaled to zero, but the ingress held no request for a cold start")
	}
	curl := l.run(0, strings.Join(tier.blocks["outputs"].Commands(), "\n"))
	if !strings.Contains(curl.stdout, "model v") {
		errorf(t, "the README's curl got %q, want a model's TARGET", curl.stdout)
	}
	l.run(0, readme(t, cmdBuildRollout))
	l.run(0, "bin/rollout status --stack dev")

	for _, step := range []int{25, 50, 100} {
		if check := sh(t, readme(t, cmdCheck)); check.code != 0 {
			// The verdict went to the file: show why, not only the code.
			verdict, _ := os.ReadFile(filepath.Join(tier.checkout, "verdict.json"))
			fatalf(t, "%q exited %d, want 0 (promote) before the step to %d%%: %s\n%s\nverdict.json:\n%s", check.line, check.code, step, verdictWhy(verdict, check.stderr), check, verdict)
		}
		l.run(0, readme(t, cmdAdvance))
		assertFileSplit(t, step)
		l.run(0, readme(t, cmdPRCreate))
		l.run(0, readme(t, cmdUpAgain))
		l.assertRoute(t, map[string]int64{"v1": int64(100 - step), "v2": int64(step)})
	}

	// The candidate turns bad: 30% of its answers fail.
	set("'canary.versions[1].errorRate'", "0.3")
	l.up("make up")
	l.run(1, readme(t, cmdCheck))
	l.run(0, rollbackLine(t))
	assertFileSplit(t, 0)
	l.up("make up")
	l.assertRoute(t, map[string]int64{"v1": 100, "v2": 0})
	// Users get none of v2 (its share row passes), and v2, still deployed
	// and tagged, still fails its own host's error budget: smoke judges a
	// 0% version's own answers too (a version next on the ladder must not
	// hide its errors), so the run fails on that budget alone. make turns
	// smoke's exit 1 into 2.
	smoke = l.run(2, readme(t, cmdSmoke))
	wantLine(t, smoke, `(?m)^v2\s+tag v2\s+user answers\s+0\.0%\s+0/\d+ \(0\.0%\).*\bok$`)
	wantLine(t, smoke, `(?m)^FAIL \([^)]*\): v2 error budget: \d+ of \d+ requests failed, limit \d+$`)

	l.down(readme(t, cmdDown))
	l.assertNothingLeft(t, "dev")
}

// b. The committed shadow stack on its kind cluster (kind stood in), so
// its kubeconfig output is a secret, with two pods per version, a shadow
// 30 ms slower and a primary pod restarted halfway: make smoke, then the
// README's shadow-report lines; the report counts what the ingress
// stand-in routed.
func TestJourneyTheShadowReportCountsWhatTheIngressMirrored(t *testing.T) {
	requireTier(t)
	l := startLab(t, "shadow", 8081)
	// The committed kind stack, kind stood in: its kubeconfig output is
	// the secret every command below must reach the cluster through.
	l.pointKindStackAtLab()
	for key, value := range map[string]string{
		"'shadow.versions[0].replicas'": "2", "'shadow.versions[1].replicas'": "2", "'shadow.versions[1].latencyMs'": "30",
	} {
		expect(t, 0, fmt.Sprintf("source hack/lib/pulumi-env.sh && pulumi config set --stack shadow --path %s %s", key, value))
	}
	out := l.up("make up STACK=shadow")
	cfg, err := stacks.LoadFile(filepath.Join(tier.checkout, "Pulumi.shadow.yaml"))
	if err != nil {
		fatalf(t, "%v", err)
	}
	l.assertKindCreated(cfg)
	outputs := expect(t, 0, "source hack/lib/pulumi-env.sh && pulumi stack output --stack shadow --json")
	wantLine(t, outputs, `"kubeconfig": "\[secret\]"`)
	l.waitPods("models", "version=v1", 2, time.Minute)
	l.waitPods("models", "version=v2", 2, time.Minute)

	smoke := l.run(0, strings.Replace(readme(t, cmdSmoke), "make smoke", "make smoke STACK=shadow", 1))
	wantLine(t, smoke, `(?m)^PASS`)

	// Users' inference requests; a primary pod crashes halfway.
	const users = 400
	v1pods := l.waitPods("models", "version=v1", 2, time.Second)
	infer(t, l.url, out.Host, users/2)
	if err := l.node.Crash("models", v1pods[0].Name); err != nil {
		fatalf(t, "%v", err)
	}
	l.waitRestarted(t, v1pods[0].Name)
	infer(t, l.url, out.Host, users/2)

	want := groundTruth(t, l, out.Host, 1e-6)
	l.run(0, readme(t, cmdBuildShadowReport))
	l.run(0, readme(t, cmdShadowRpt))
	got := readSummary(t, "report")
	want.assert(t, "shadow-report --stack shadow", got, crashLoss)
	if !strings.Contains(strings.Join(logNames(got), " "), v1pods[0].Name+"/model (previous)") {
		errorf(t, "the report read logs %v, want the restarted pod's previous log too", logNames(got))
	}
	// The gate line: a shadow whose every answer is off by its bias fails
	// --min-agreement 0.95 (exit 1).
	l.run(1, readme(t, cmdShadowGate))
	l.run(0, readme(t, cmdShadowLogs))
	want.assert(t, "shadow-report --logs report/logs", readSummary(t, "again"), crashLoss)

	l.down("make down STACK=shadow")
	if _, err := os.Stat(filepath.Join(kindClusterDir(cfg.Cluster.Name), "deleted")); err != nil {
		errorf(t, "make down ran no `kind delete cluster --name %s`: %v", cfg.Cluster.Name, err)
	}
	l.assertNothingLeft(t, "shadow")
}

// b'. Bring your own model: the committed byo stack, the two
// scikit-learn models of examples/sklearn-iris (each Debian's Python
// running the example's server.py on the model train.py saved) behind
// model-agent, v2 shadowing v1 at 50%. make smoke, users' OIP v2 iris
// requests, the README's shadow-report line for the stack: its counts are
// what the ingress stand-in routed, and its agreement is scikit-learn's
// own on the same inputs.
func TestJourneyTheByoShadowReportAgreesWithScikitLearnOnTheMirroredInputs(t *testing.T) {
	requireTier(t)
	// Side by side with c, after the others: c mostly waits on its API
	// server, and each lab has its own cluster, ports, pod IPs, stack and
	// output files (byo writes report/, c none); together they keep the
	// tier under five minutes.
	t.Parallel()
	requireIris(t)
	l := startLab(t, "byo", 8082)
	l.pointStackAtLab(l.url)
	cfg, err := stacks.LoadFile(filepath.Join(tier.checkout, "Pulumi.byo.yaml"))
	if err != nil {
		fatalf(t, "%v", err)
	}
	out := l.up("make up STACK=byo")
	// The Python servers load scikit-learn before the agent calls them ready.
	l.waitPods("models", "version=v1", 1, 3*time.Minute)
	l.waitPods("models", "version=v2", 1, 3*time.Minute)

	// Smoke knows nothing of scikit-learn: it probes the readiness path
	// behind the agents, and says it could not join the copies by id.
	smoke := l.run(0, strings.Replace(readme(t, cmdSmoke), "make smoke", "make smoke STACK=byo", 1))
	wantLine(t, smoke, `(?m)^PASS`)
	wantLine(t, smoke, `(?m)^  skip mirrored copies carry the primary's request ids: not checked`)
	// With the example's inference request (its README's line), it joins
	// the mirrored copies to the users' requests.
	smoke = l.run(0, readme(t, cmdSmokeByoInfer))
	wantLine(t, smoke, `(?m)^PASS`)
	wantLine(t, smoke, `(?m)^  ok   mirrored copies carry the primary's request ids: \d+ mirrored records of this run read, [1-9]\d* joined`)

	// Users' requests; the servers serve the model as the pod names it
	// (MODEL_NAME is the stack's service).
	const users = 400
	pts := iris.BorderlinePoints(users, 18)
	inferIris(t, l.url, out.Host, modelapi.InferPath(cfg.Shadow.Service), pts)

	want := groundTruth(t, l, out.Host, 1e-6)
	p1, p2 := sklearnPredictions(t, pts)
	exchanges := l.gateway.Exchanges()
	var mirrored, agreeing int64
	for i := range pts {
		e, ok := exchanges[irisID(i)]
		if !ok || e.Primary == nil {
			errorf(t, "user request %s: the ingress routed no answer", irisID(i))
			continue
		}
		// What each model served is scikit-learn's prediction for it.
		if got := iris.ServedPrediction(e.Primary.Body); got != p1[i] || e.Primary.Version != "v1" {
			errorf(t, "user request %s: %s answered %d (%s), scikit-learn's v1 predicts %d", irisID(i), e.Primary.Version, got, e.Primary.Body, p1[i])
		}
		if e.Mirror == nil {
			continue
		}
		if got := iris.ServedPrediction(e.Mirror.Body); got != p2[i] || e.Mirror.Version != "v2" {
			errorf(t, "mirrored copy %s: %s answered %d (%s), scikit-learn's v2 predicts %d", irisID(i), e.Mirror.Version, got, e.Mirror.Body, p2[i])
		}
		mirrored++
		if p1[i] == p2[i] {
			agreeing++
		}
	}
	// The seeds fix the points and the mirror's draws: some of the
	// mirrored inputs split the two models, most do not (no chance).
	if agreeing == 0 || agreeing == mirrored || mirrored < users/4 {
		fatalf(t, "the inputs do not test agreement: %d mirrored, %d agree", mirrored, agreeing)
	}
	// Anything else on the user host (make smoke's requests) the report
	// counts too: for those, the ingress's own comparison.
	var others truth
	for id, e := range exchanges {
		if e.Host != out.Host || strings.HasPrefix(id, "iris-") || e.Primary == nil || e.Mirror == nil {
			continue
		}
		others.compared++
		if agree(e.Primary.Status, e.Primary.Body, e.Mirror.Status, e.Mirror.Body, 1e-6) {
			others.agreeing++
		}
	}
	t.Logf("scikit-learn: %d of %d mirrored user inputs agree; %d other mirrored requests (make smoke's), %d agreeing",
		agreeing, mirrored, others.compared, others.agreeing)

	l.run(0, readme(t, cmdBuildShadowReport))
	line := readme(t, cmdShadowRpt)
	if !strings.Contains(line, "--stack shadow") {
		fatalf(t, "the README's shadow-report line %q names no --stack shadow to swap for byo", line)
	}
	l.run(0, strings.Replace(line, "--stack shadow", "--stack byo", 1))
	got := readSummary(t, "report")
	want.assert(t, "shadow-report --stack byo", got, 0) // no crash here: nothing may be lost
	if a := got.Agreement; a.Compared-others.compared != mirrored || a.Agreeing-others.agreeing != agreeing {
		errorf(t, "the report's agreement on the users' inputs is %d of %d, scikit-learn's %d of %d",
			a.Agreeing-others.agreeing, a.Compared-others.compared, agreeing, mirrored)
	}

	l.down("make down STACK=byo")
	l.assertNothingLeft(t, "byo")
}

// c. An existing cluster whose gateway address nobody knows: the tools
// say it is pending and how to set cluster.ingressUrl, with their
// documented exit code (2: could not run).
func TestJourneyAnExistingClusterWithItsIngressPendingSaysHowToSetIt(t *testing.T) {
	requireTier(t)
	t.Parallel() // beside b' (see there)
	l := startLab(t, "cloud", 0)
	l.pointStackAtLab("")
	out := l.up("make up STACK=cloud")
	if out.IngressURL != "" || !strings.Contains(out.IngressPending, "cluster.ingressUrl") {
		fatalf(t, "outputs: ingressUrl %q, ingressPending %q; want it pending with the key to set", out.IngressURL, out.IngressPending)
	}
	for _, line := range []string{
		strings.Replace(readme(t, cmdSmoke), "make smoke", "make smoke STACK=cloud", 1),
		"go build -o bin/ ./cmd/rollout && bin/rollout check --stack cloud --candidate v2",
	} {
		r := l.run(2, line)
		if !strings.Contains(r.stderr, "cluster.ingressUrl") {
			errorf(t, "%q said\n%s\nwant how to set cluster.ingressUrl", line, r.stderr)
		}
	}
	l.down("make down STACK=cloud")
	l.assertNothingLeft(t, "cloud")
}

// rollbackLine is the README's rollback, which the rollout block gives as
// a comment ("An exit 1 instead: bin/rollout rollback --stack dev
// --evidence verdict.json (v2 → 0%)").
func rollbackLine(t *testing.T) string {
	comment := readme(t, cmdRollback)
	_, cmd, _ := strings.Cut(comment, "instead: ")
	cmd, _, _ = strings.Cut(cmd, " (")
	return strings.TrimSpace(cmd)
}

func wantLine(t *testing.T, r result, pattern string) {
	t.Helper()
	if !regexp.MustCompile(pattern).MatchString(r.stdout) {
		errorf(t, "%q printed no line matching %s:\n%s", r.line, pattern, r.stdout)
	}
}

// assertFileSplit checks Pulumi.dev.yaml holds v2 at percent (v1 the rest).
func assertFileSplit(t *testing.T, percent int) {
	t.Helper()
	cfg, err := stacks.LoadFile(filepath.Join(tier.checkout, "Pulumi.dev.yaml"))
	if err != nil {
		fatalf(t, "%v", err)
	}
	got := map[string]int{}
	for _, v := range cfg.Canary.Versions {
		if v.Percent != nil {
			got[v.Name] = *v.Percent
		}
	}
	if got["v2"] != percent || got["v1"] != 100-percent {
		fatalf(t, "Pulumi.dev.yaml splits %v, want v2 at %d", got, percent)
	}
}

// assertRoute checks the Knative Route in the API server routes these
// percents by version (its status, which the ingress follows).
func (l *lab) assertRoute(t *testing.T, want map[string]int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		rt, err := l.dyn.Resource(knative.Routes).Namespace("models").Get(context.Background(), "model", metav1.GetOptions{})
		got := map[string]int64{}
		if err == nil {
			traffic, _, _ := unstructured.NestedSlice(rt.Object, "status", "traffic")
			for _, e := range traffic {
				m, _ := e.(map[string]any)
				tag, _ := m["tag"].(string)
				p, _ := m["percent"].(int64)
				got[tag] = p
			}
		}
		if fmt.Sprint(got) == fmt.Sprint(want) {
			return
		}
		if time.Now().After(deadline) {
			fatalf(t, "the Route routes %v, want %v (%v)", got, want, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// assertNothingLeft: after make down the stack has no resources and the
// API server no object of ours.
func (l *lab) assertNothingLeft(t *testing.T, stack string) {
	t.Helper()
	r := expect(t, 0, "source hack/lib/pulumi-env.sh && pulumi stack export --stack "+stack)
	var state struct {
		Deployment struct {
			Resources []json.RawMessage `json:"resources"`
		} `json:"deployment"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &state); err != nil {
		fatalf(t, "pulumi stack export: %v", err)
	}
	if n := len(state.Deployment.Resources); n != 0 {
		errorf(t, "stack %s keeps %d resources after make down", stack, n)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		left, err := l.cluster.RunKubectl(context.Background(), "get", "namespace", "models", "--ignore-not-found", "-o", "name")
		if err == nil && strings.TrimSpace(string(left)) == "" {
			break
		}
		if time.Now().After(deadline) {
			fatalf(t, "namespace models still there 60 s after make down: %s %v", left, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	kinds := strings.Join([]string{"configurations.serving.knative.dev", "routes.serving.knative.dev", "revisions.serving.knative.dev",
		"virtualservices.networking.istio.io", "gateways.networking.istio.io", "destinationrules.networking.istio.io", "deployments", "pods", "services"}, ",")
	out, err := l.cluster.RunKubectl(context.Background(), "get", kinds, "-A", "-l", "app=model", "-o", "name")
	if err != nil || strings.TrimSpace(string(out)) != "" {
		errorf(t, "after make down, objects of the model (%s): %s %v", kinds, out, err)
	}
}

// infer sends n inference requests as users do, four at a time.
func infer(t *testing.T, url, host string, n int) {
	t.Helper()
	body, _ := json.Marshal(modelapi.InferRequest{Inputs: []modelapi.InferInput{{Name: "x", Shape: []int64{2}, Datatype: "FP32", Data: []float64{1, 2}}}})
	var wg sync.WaitGroup
	errs := make(chan error, n)
	work := make(chan int)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				req, _ := http.NewRequest(http.MethodPost, url+modelapi.InferPath("model"), bytes.NewReader(body))
				req.Host = host
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		errorf(t, "a user's request: %v", err)
	}
}

// waitRestarted waits until the pod's container restarted once and is
// Ready again.
func (l *lab) waitRestarted(t *testing.T, name string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		p, err := l.kube.CoreV1().Pods("models").Get(context.Background(), name, metav1.GetOptions{})
		if err == nil && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].RestartCount == 1 && p.Status.ContainerStatuses[0].Ready {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	fatalf(t, "pod %s did not restart", name)
}

// truth is what the ingress routed: the report must say the same.
type truth struct {
	seen, paired, compared, agreeing int64
}

// groundTruth counts the inference requests the gateway routed on the
// user host, those it mirrored and whose copy answered, and how many
// copies agreed with the user's answer (same status; for 200, every
// output element within tolerance).
func groundTruth(t *testing.T, l *lab, host string, tolerance float64) truth {
	var w truth
	for _, e := range l.gateway.Exchanges() {
		if e.Host != host || e.Primary == nil {
			continue
		}
		w.seen++
		if e.Mirror == nil {
			continue
		}
		w.paired++
		w.compared++
		if agree(e.Primary.Status, e.Primary.Body, e.Mirror.Status, e.Mirror.Body, tolerance) {
			w.agreeing++
		}
	}
	t.Logf("the ingress routed %d inference requests, mirrored %d that answered, %d agreeing", w.seen, w.paired, w.agreeing)
	return w
}

func agree(s1 int, b1 []byte, s2 int, b2 []byte, tolerance float64) bool {
	if s1 != s2 {
		return false
	}
	if s1 != http.StatusOK {
		return true
	}
	var r1, r2 modelapi.InferResponse
	if json.Unmarshal(b1, &r1) != nil || json.Unmarshal(b2, &r2) != nil || len(r1.Outputs) != len(r2.Outputs) {
		return false
	}
	for i := range r1.Outputs {
		if len(r1.Outputs[i].Data) != len(r2.Outputs[i].Data) {
			return false
		}
		for j := range r1.Outputs[i].Data {
			if math.Abs(r1.Outputs[i].Data[j]-r2.Outputs[i].Data[j]) > tolerance {
				return false
			}
		}
	}
	return true
}

// assert holds the report to what the ingress routed. A primary pod
// crashed mid-journey (SIGKILL): the payload events it had answered but
// not yet written die with it, as in a real pod, so the report may miss
// up to lostToCrash requests, and must account for each mirrored one
// among them as a copy without a primary record.
func (w truth) assert(t *testing.T, what string, got *report.Document, lostToCrash int64) {
	t.Helper()
	r, a := got.Requests, got.Agreement
	missing := got.Mirror.CopiesWithoutPrimary
	lost := w.seen - r.Seen
	ok := r.Paired+missing == w.paired && a.Compared+missing == w.compared &&
		a.Agreeing <= w.agreeing && a.Agreeing >= w.agreeing-missing &&
		lost >= 0 && lost+missing <= lostToCrash
	if !ok {
		errorf(t, "%s: seen %d, paired %d (+%d copies without a primary record), compared %d, agreeing %d; "+
			"the ingress routed %d, mirrored %d answered, %d compared, %d agreeing (at most %d lost to the crash)",
			what, r.Seen, r.Paired, missing, a.Compared, a.Agreeing, w.seen, w.paired, w.compared, w.agreeing, lostToCrash)
	}
	if lost+missing > 0 {
		t.Logf("%s: %d requests' primary records died with the crashed pod (%d of them mirrored, reported as copies without a primary record)", what, lost+missing, missing)
	}
}

func readSummary(t *testing.T, dir string) *report.Document {
	t.Helper()
	doc, err := report.ReadSummary(filepath.Join(tier.checkout, dir, report.SummaryFile))
	if err != nil {
		fatalf(t, "%v", err)
	}
	return doc
}

func logNames(doc *report.Document) []string {
	var out []string
	for _, l := range doc.Inputs.Logs {
		out = append(out, fmt.Sprint(l.Name))
	}
	return out
}

// verdictWhy says in a line or two why a check did not promote: the
// gate's verdict and reason, each criterion not met, the split, and the
// error the command printed (exit 2 writes no verdict), so the failure's
// first lines, which the journey repeats at the end, carry the cause.
func verdictWhy(verdictJSON []byte, stderr string) string {
	var v struct {
		Result *struct {
			Verdict, Reason string
			Criteria        []struct{ Name, State, Detail string }
		}
		Split *struct {
			OK     bool
			Detail string
		}
		Notes []string
	}
	var why []string
	if err := json.Unmarshal(verdictJSON, &v); err != nil {
		why = append(why, "verdict.json unreadable: "+err.Error())
	}
	if r := v.Result; r != nil {
		why = append(why, r.Verdict+": "+r.Reason)
		for _, c := range r.Criteria {
			if c.State != "met" {
				why = append(why, c.Name+" "+c.State+": "+c.Detail)
			}
		}
	}
	if s := v.Split; s != nil && !s.OK {
		why = append(why, "split: "+s.Detail)
	}
	for _, line := range strings.Split(stderr, "\n") {
		if strings.Contains(line, "rollout check:") || strings.HasPrefix(line, "error") {
			why = append(why, strings.TrimSpace(line))
		}
	}
	why = append(why, v.Notes...)
	return strings.Join(why, "; ")
}
