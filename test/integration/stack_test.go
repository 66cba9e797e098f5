//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optremove"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"

	"github.com/modelrollouts/modelrollouts/infra"
	"github.com/modelrollouts/modelrollouts/stacks"
)

// removeLeftoverStacks deletes, without touching any cluster, every stack
// of the project that an earlier, killed run left in the backend.
func removeLeftoverStacks(ctx context.Context) error {
	env := tier.tools.PulumiEnv(tier.home)
	cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: tier.tools.PulumiRoot})
	if err != nil {
		return err
	}
	ws, err := auto.NewLocalWorkspace(ctx, auto.Program(infra.Program),
		auto.Project(workspace.Project{Name: "modelrollouts", Runtime: workspace.NewProjectRuntimeInfo("go", nil)}),
		auto.EnvVars(env), auto.PulumiHome(env["PULUMI_HOME"]), auto.Pulumi(cmd))
	if err != nil {
		return err
	}
	list, err := ws.ListStacks(ctx)
	if err != nil {
		return err
	}
	for _, s := range list {
		fmt.Fprintln(os.Stderr, "removing leftover stack", s.Name)
		if err := ws.RemoveStack(ctx, s.Name, optremove.Force()); err != nil {
			return err
		}
	}
	return nil
}

// labStack is one stack of the real program, run inline.
type labStack struct {
	t     *testing.T
	ctx   context.Context
	stack auto.Stack
}

// newStack creates a stack running infra.Program against the kwok cluster
// with the given config (full keys, objects as JSON text, the form Pulumi
// hands a program). Its resources are destroyed when the test ends.
func newStack(t *testing.T, name string, config map[string]string) *labStack {
	t.Helper()
	ctx := context.Background()
	env := tier.tools.PulumiEnv(tier.home)
	cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: tier.tools.PulumiRoot, SkipVersionCheck: false})
	if err != nil {
		t.Fatalf("pulumi CLI: %v", err)
	}
	var st auto.Stack
	stage("stack create", func() {
		st, err = auto.UpsertStackInlineSource(ctx, name, "modelrollouts", infra.Program,
			auto.EnvVars(env), auto.PulumiHome(env["PULUMI_HOME"]), auto.Pulumi(cmd))
	})
	if err != nil {
		t.Fatalf("create stack %s: %v", name, err)
	}
	s := &labStack{t: t, ctx: ctx, stack: st}
	s.setConfig(config)
	t.Cleanup(func() {
		if _, err := st.Destroy(ctx, optdestroy.Remove()); err != nil {
			t.Errorf("destroy %s: %v", name, err)
		}
	})
	return s
}

func (s *labStack) setConfig(config map[string]string) {
	s.t.Helper()
	cm := auto.ConfigMap{}
	for k, v := range config {
		cm[k] = auto.ConfigValue{Value: v}
	}
	if err := s.stack.SetAllConfig(s.ctx, cm); err != nil {
		s.t.Fatalf("set config: %v", err)
	}
}

// up runs `pulumi up` and returns the counts of what it did.
func (s *labStack) up(stageName string) (map[string]int, *stacks.Outputs) {
	s.t.Helper()
	var res auto.UpResult
	var err error
	stage(stageName, func() { res, err = s.stack.Up(s.ctx, optup.SuppressProgress()) })
	if err != nil {
		s.t.Fatalf("%s: %v\n%s", stageName, err, res.StdErr)
	}
	raw := map[string]any{}
	for k, v := range res.Outputs {
		raw[k] = v.Value
	}
	b, _ := json.Marshal(raw)
	var out stacks.Outputs
	if err := json.Unmarshal(b, &out); err != nil {
		s.t.Fatalf("outputs %s: %v", b, err)
	}
	return *res.Summary.ResourceChanges, &out
}

// plannedStep is one resource step of a preview.
type plannedStep struct {
	Op    apitype.OpType
	Type  string
	Name  string
	Diffs []string
}

// preview returns the change summary and every non-same step.
func (s *labStack) preview(stageName string) (map[apitype.OpType]int, []plannedStep) {
	s.t.Helper()
	ch := make(chan events.EngineEvent)
	var steps []plannedStep
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range ch {
			if e.ResourcePreEvent == nil || e.ResourcePreEvent.Metadata.Op == apitype.OpSame {
				continue
			}
			m := e.ResourcePreEvent.Metadata
			urn := m.URN
			diffs := append([]string(nil), m.Diffs...)
			for path := range m.DetailedDiff {
				diffs = append(diffs, path)
			}
			steps = append(steps, plannedStep{Op: m.Op, Type: m.Type, Name: urn[strings.LastIndex(urn, "::")+2:], Diffs: diffs})
		}
	}()
	var res auto.PreviewResult
	var err error
	stage(stageName, func() {
		res, err = s.stack.Preview(s.ctx, optpreview.EventStreams(ch), optpreview.Diff())
	})
	<-done
	if err != nil {
		s.t.Fatalf("%s: %v\n%s", stageName, err, res.StdErr)
	}
	return res.ChangeSummary, steps
}

func (s *labStack) refresh(stageName string) map[string]int {
	s.t.Helper()
	var res auto.RefreshResult
	var err error
	stage(stageName, func() { res, err = s.stack.Refresh(s.ctx) })
	if err != nil {
		s.t.Fatalf("%s: %v\n%s", stageName, err, res.StdErr)
	}
	return *res.Summary.ResourceChanges
}

// assertNoChanges fails unless every resource was left the same.
func assertNoChanges(t *testing.T, what string, changes map[string]int) {
	t.Helper()
	for op, n := range changes {
		if op != string(apitype.OpSame) && n > 0 {
			t.Errorf("%s: %d %s, want no changes (%v)", what, n, op, changes)
		}
	}
}

// config builds a stack config for the existing kwok cluster with the
// platform preinstalled (CRDs only: no Knative or Istio controllers run).
func config(strategy string, extra map[string]any) map[string]string {
	cfg := map[string]any{
		"strategy": strategy,
		"cluster": map[string]any{
			"type": "existing", "kubeconfig": tier.cluster.Kubeconfig, "ingressUrl": "http://127.0.0.1:8080",
		},
		"platform": map[string]any{
			"istio":   map[string]any{"install": false},
			"knative": map[string]any{"install": false},
		},
		"image": map[string]any{"ref": "dev.local/model-echo:integration"},
	}
	for k, v := range extra {
		cfg[k] = v
	}
	out := map[string]string{}
	for k, v := range cfg {
		if s, ok := v.(string); ok {
			out[stacks.Namespace+":"+k] = s
			continue
		}
		b, _ := json.Marshal(v)
		out[stacks.Namespace+":"+k] = string(b)
	}
	return out
}

// kubectlJSON reads an object from the tier's cluster.
func kubectlJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	return kubectlJSONOn(t, tier.cluster, args...)
}

// field walks nested maps and lists: field(obj, "spec", "traffic", 0, "percent").
func field(obj any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := obj.(map[string]any)
			obj = m[k]
		case int:
			l, _ := obj.([]any)
			if k >= len(l) {
				return nil
			}
			obj = l[k]
		}
	}
	return obj
}
