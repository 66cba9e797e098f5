//go:build integration

package integration

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

const (
	knRoute         = "kubernetes:serving.knative.dev/v1:Route"
	knConfiguration = "kubernetes:serving.knative.dev/v1:Configuration"
	virtualService  = "kubernetes:networking.istio.io/v1:VirtualService"
)

func canaryVersions(percents ...int) map[string]any {
	var versions []map[string]any
	for i, p := range percents {
		name := []string{"v1", "v2", "v3"}[i]
		versions = append(versions, map[string]any{"name": name, "target": "model " + name, "percent": p})
	}
	versions[0]["minScale"] = 1
	return map[string]any{"service": "model", "waitForReady": false, "versions": versions}
}

func TestCanaryLifecycle(t *testing.T) {
	requireTier(t)
	st := newStack(t, "it-canary", config("canary", map[string]any{
		"namespace": "it-canary",
		"canary":    canaryVersions(90, 10),
	}))

	created, out := st.up("canary: up from empty")
	if created["create"] == 0 {
		t.Fatalf("up created nothing: %v", created)
	}
	if out.Strategy != "canary" || out.Namespace != "it-canary" || out.IngressURL != "http://127.0.0.1:8080" ||
		out.Host != "model.it-canary.example.com" || !reflect.DeepEqual(out.Split, map[string]int{"v1": 90, "v2": 10}) ||
		out.Versions["v2"].Host != "v2-model.it-canary.example.com" {
		t.Errorf("outputs do not match the config: %+v", out)
	}
	route := kubectlJSON(t, "-n", "it-canary", "get", "routes.serving.knative.dev", "model")
	if got := []any{field(route, "spec", "traffic", 0, "percent"), field(route, "spec", "traffic", 1, "percent")}; !reflect.DeepEqual(got, []any{90.0, 10.0}) {
		t.Errorf("the cluster's Route splits %v, want 90/10", got)
	}
	cfg := kubectlJSON(t, "-n", "it-canary", "get", "configurations.serving.knative.dev", "model-v1")
	if got := field(cfg, "spec", "template", "metadata", "annotations", "autoscaling.knative.dev/min-scale"); got != "1" {
		t.Errorf("model-v1 min-scale %v", got)
	}

	again, _ := st.up("canary: second up (no-op)")
	assertNoChanges(t, "second up", again)
	assertNoChanges(t, "refresh", st.refresh("canary: refresh"))

	// A PR that moves traffic: only the Route changes, in place.
	st.setConfig(config("canary", map[string]any{"namespace": "it-canary", "canary": canaryVersions(70, 30)}))
	summary, steps := st.preview("canary: preview percent change")
	assertOnlySteps(t, summary, steps, []plannedStep{{Op: apitype.OpUpdate, Type: knRoute, Name: "model"}})
	assertDiffs(t, steps, "spec.traffic[0].percent", "spec.traffic[1].percent")
	st.up("canary: up percent change")
	route = kubectlJSON(t, "-n", "it-canary", "get", "routes.serving.knative.dev", "model")
	if got := field(route, "spec", "traffic", 1, "percent"); got != 30.0 {
		t.Errorf("after the change v2 gets %v, want 30", got)
	}

	// A PR that adds a version: its Configuration, and a route entry.
	st.setConfig(config("canary", map[string]any{"namespace": "it-canary", "canary": canaryVersions(70, 20, 10)}))
	summary, steps = st.preview("canary: preview add version")
	assertOnlySteps(t, summary, steps, []plannedStep{
		{Op: apitype.OpCreate, Type: knConfiguration, Name: "model-v3"},
		{Op: apitype.OpUpdate, Type: knRoute, Name: "model"},
	})
	st.up("canary: up add version")
	kubectlJSON(t, "-n", "it-canary", "get", "configurations.serving.knative.dev", "model-v3")

	// Removing it again deletes it.
	st.setConfig(config("canary", map[string]any{"namespace": "it-canary", "canary": canaryVersions(70, 30)}))
	st.up("canary: up remove version")
	if out, err := tier.cluster.RunKubectl(context.Background(), "-n", "it-canary", "get", "configurations.serving.knative.dev", "model-v3"); err == nil {
		t.Errorf("model-v3 still exists after its version was removed:\n%s", out)
	}

	destroy(t, st, "canary: destroy")
	assertNamespaceGone(t, "it-canary")
}

func TestShadowLifecycle(t *testing.T) {
	requireTier(t)
	shadow := func(mirror float64) map[string]any {
		return map[string]any{
			"namespace": "it-shadow",
			"shadow": map[string]any{
				"host": "model.example.com", "mirrorPercent": mirror,
				"versions": []map[string]any{
					{"name": "v1", "role": "primary", "target": "model v1"},
					{"name": "v2", "role": "shadow", "target": "model v2", "bias": 0.5},
				},
			},
		}
	}
	st := newStack(t, "it-shadow", config("shadow", shadow(50)))
	_, out := st.up("shadow: up from empty")
	if out.Primary != "v1" || out.Shadow != "v2" || out.MirrorPercent == nil || *out.MirrorPercent != 50 || out.Host != "model.example.com" {
		t.Errorf("outputs do not match the config: %+v", out)
	}
	for _, d := range []string{"model-v1", "model-v2"} {
		dep := kubectlJSON(t, "-n", "it-shadow", "get", "deployment", d)
		if !conditionTrue(dep, "Available") {
			t.Errorf("deployment %s is not Available", d)
		}
	}
	vs := kubectlJSON(t, "-n", "it-shadow", "get", "virtualservices.networking.istio.io", "model")
	users := field(vs, "spec", "http", 2)
	if field(users, "mirrorPercentage", "value") != 50.0 || field(users, "mirror", "subset") != "v2" || field(users, "route", 0, "destination", "subset") != "v1" {
		t.Errorf("the cluster's users route is %v", users)
	}
	ns := kubectlJSON(t, "get", "namespace", "it-shadow")
	if field(ns, "metadata", "labels", "istio-injection") != "enabled" {
		t.Error("the namespace does not ask for sidecar injection")
	}

	again, _ := st.up("shadow: second up (no-op)")
	assertNoChanges(t, "second up", again)
	assertNoChanges(t, "refresh", st.refresh("shadow: refresh"))

	st.setConfig(config("shadow", shadow(10)))
	summary, steps := st.preview("shadow: preview mirror change")
	assertOnlySteps(t, summary, steps, []plannedStep{{Op: apitype.OpUpdate, Type: virtualService, Name: "model"}})
	assertDiffs(t, steps, "spec.http[2].mirrorPercentage.value")
	st.up("shadow: up mirror change")
	vs = kubectlJSON(t, "-n", "it-shadow", "get", "virtualservices.networking.istio.io", "model")
	if got := field(vs, "spec", "http", 2, "mirrorPercentage", "value"); got != 10.0 {
		t.Errorf("mirror percent in the cluster %v, want 10", got)
	}

	destroy(t, st, "shadow: destroy")
	assertNamespaceGone(t, "it-shadow")
}

func TestInvalidConfigCreatesNothing(t *testing.T) {
	requireTier(t)
	st := newStack(t, "it-invalid", config("canary", map[string]any{
		"namespace": "it-invalid",
		"canary":    canaryVersions(90, 20),
	}))
	var err error
	stage("invalid: up", func() { _, err = st.stack.Up(st.ctx) })
	if err == nil {
		t.Fatal("up succeeded with percents summing to 110")
	}
	if !strings.Contains(err.Error(), "modelrollouts:canary.versions: percents sum to 110, want 100") {
		t.Errorf("the error does not name the key: %v", err)
	}
	exported, xerr := st.stack.Export(st.ctx)
	if xerr != nil {
		t.Fatal(xerr)
	}
	if strings.Contains(string(exported.Deployment), "kubernetes:") {
		t.Errorf("an invalid config left resources in the state: %s", exported.Deployment)
	}
	assertNamespaceGone(t, "it-invalid")
}

func destroy(t *testing.T, st *labStack, name string) {
	t.Helper()
	var err error
	stage(name, func() { _, err = st.stack.Destroy(st.ctx, optdestroy.SuppressProgress()) })
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func assertNamespaceGone(t *testing.T, ns string) {
	t.Helper()
	if out, err := tier.cluster.RunKubectl(context.Background(), "get", "namespace", ns); err == nil {
		t.Errorf("namespace %s exists:\n%s", ns, out)
	}
}

// assertOnlySteps checks a preview plans exactly these changes.
func assertOnlySteps(t *testing.T, summary map[apitype.OpType]int, steps []plannedStep, want []plannedStep) {
	t.Helper()
	var got []plannedStep
	for _, s := range steps {
		got = append(got, plannedStep{Op: s.Op, Type: s.Type, Name: s.Name})
	}
	if !sameSteps(got, want) {
		t.Errorf("preview plans %+v, want exactly %+v (summary %v)", got, want, summary)
	}
	for op, n := range summary {
		if op == apitype.OpSame {
			continue
		}
		expected := 0
		for _, w := range want {
			if w.Op == op {
				expected++
			}
		}
		if n != expected {
			t.Errorf("summary has %d %s, want %d (%v)", n, op, expected, summary)
		}
	}
}

func sameSteps(a, b []plannedStep) bool {
	if len(a) != len(b) {
		return false
	}
	used := make([]bool, len(b))
next:
	for _, x := range a {
		for i, y := range b {
			if !used[i] && x.Op == y.Op && x.Type == y.Type && x.Name == y.Name {
				used[i] = true
				continue next
			}
		}
		return false
	}
	return true
}

// assertDiffs checks the one planned step changes exactly these fields.
func assertDiffs(t *testing.T, steps []plannedStep, want ...string) {
	t.Helper()
	if len(steps) != 1 {
		return // assertOnlySteps reported it
	}
	got := append([]string(nil), steps[0].Diffs...)
	sort.Strings(got)
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s %s: diff %v, want exactly %v", steps[0].Type, steps[0].Name, got, want)
	}
}

func conditionTrue(obj map[string]any, condition string) bool {
	conds, _ := field(obj, "status", "conditions").([]any)
	for _, c := range conds {
		if field(c, "type") == condition && field(c, "status") == "True" {
			return true
		}
	}
	return false
}

// TestCanaryUpWaitsForKnativeReady proves `pulumi up` does not finish until
// Knative reports every Configuration and then the Route Ready. No Knative
// controller runs here, so the test plays its part: it sets the Ready
// condition the controller would, and only then may up finish.
func TestCanaryUpWaitsForKnativeReady(t *testing.T) {
	requireTier(t)
	versions := canaryVersions(80, 20)
	versions["waitForReady"] = true
	st := newStack(t, "it-canary-ready", config("canary", map[string]any{"namespace": "it-ready", "canary": versions}))

	done := make(chan error, 1)
	go func() {
		var err error
		stage("ready: up waiting for Knative", func() { _, err = st.stack.Up(st.ctx) })
		done <- err
	}()

	const configurations = "configurations.serving.knative.dev"
	for _, name := range []string{"model-v1", "model-v2"} {
		waitForObject(t, done, configurations, "it-ready", name)
	}
	assertStillWaiting(t, done, "the Configurations are not Ready")
	if _, err := tier.cluster.RunKubectl(context.Background(), "-n", "it-ready", "get", "routes.serving.knative.dev", "model"); err == nil {
		t.Error("the Route was created before the Configurations it routes to were Ready")
	}
	for _, name := range []string{"model-v1", "model-v2"} {
		markReady(t, configurations, "it-ready", name)
	}
	waitForObject(t, done, "routes.serving.knative.dev", "it-ready", "model")
	assertStillWaiting(t, done, "the Route is not Ready")
	markReady(t, "routes.serving.knative.dev", "it-ready", "model")

	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("up failed once everything was Ready: %v", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("up did not finish after the Route became Ready")
	}
	destroy(t, st, "ready: destroy")
}

// waitForObject polls until the object exists; up failing ends the wait.
func waitForObject(t *testing.T, done chan error, resource, ns, name string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if _, err := tier.cluster.RunKubectl(context.Background(), "-n", ns, "get", resource, name); err == nil {
			return
		}
		select {
		case err := <-done:
			t.Fatalf("up ended before %s %s existed: %v", resource, name, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
	t.Fatalf("%s %s was never created", resource, name)
}

// assertStillWaiting fails if up finishes within a few seconds.
func assertStillWaiting(t *testing.T, done chan error, why string) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("up finished (err=%v) though %s", err, why)
	case <-time.After(3 * time.Second):
	}
}

// markReady sets the Ready condition a Knative controller would set.
func markReady(t *testing.T, resource, ns, name string) {
	t.Helper()
	obj := kubectlJSON(t, "-n", ns, "get", resource, name)
	generation := field(obj, "metadata", "generation")
	patch := fmt.Sprintf(`{"status":{"observedGeneration":%v,"conditions":[{"type":"Ready","status":"True","lastTransitionTime":%q}]}}`,
		generation, time.Now().UTC().Format(time.RFC3339))
	if _, err := tier.cluster.RunKubectl(context.Background(), "-n", ns, "patch", resource, name,
		"--subresource=status", "--type=merge", "-p", patch); err != nil {
		t.Fatal(err)
	}
}
