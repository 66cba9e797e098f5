//go:build e2e

package e2e

import (
	"fmt"
	"maps"
	"strconv"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/modelrollouts/modelrollouts/stacks"
)

// TestKind deploys the real program on kind, once per strategy, and proves
// each deployment from outside with the smoke checker. The flows run one
// after the other, each on its own kind cluster that is destroyed before
// the next starts (two clusters with Istio at once are heavy for a laptop).
func TestKind(t *testing.T) {
	l := setupLab(t)
	t.Run("canary", func(t *testing.T) { canaryFlow(t, l) })
	t.Run("shadow", func(t *testing.T) { shadowFlow(t, l) })
}

// canaryFlow: Pulumi.dev.yaml (90/10) comes up and splits as configured; a
// second preview changes nothing; the PR-sized change 90/10 -> 50/50 updates
// only the Knative Route and the new split holds.
func canaryFlow(t *testing.T, l *lab) {
	ctx := opsContext(t)
	stack := fmt.Sprintf("e2e-canary-%d", time.Now().Unix())
	cluster := "mr-" + stack
	cfg := l.writeStackFile(t, "Pulumi.dev.yaml", stack, cluster, freePort(t))
	if cfg.Strategy != stacks.StrategyCanary || cfg.Canary == nil || len(cfg.Canary.Versions) < 2 {
		t.Fatalf("Pulumi.dev.yaml must be a canary of at least two versions, got strategy %q", cfg.Strategy)
	}
	st := l.newStack(t, ctx, stack, cluster)

	o := l.up(t, ctx, st, "create")
	requireSplit(t, o, canarySplit(cfg))
	requireSmoke(t, ctx, o, "canary "+formatSplit(canarySplit(cfg)))

	summary, steps := l.preview(t, ctx, st, "no change")
	if c := changed(summary); len(c) > 0 {
		t.Fatalf("a preview right after up must change nothing, got %v:\n%s", c, formatSteps(steps))
	}

	// The PR: every version gets an equal share (90/10 -> 50/50 for two),
	// set the way the stack file's comment tells users to.
	n := len(cfg.Canary.Versions)
	edit := auto.ConfigMap{}
	want := map[string]int{}
	for i, v := range cfg.Canary.Versions {
		share := 100 / n
		if i == 0 {
			share += 100 % n
		}
		want[v.Name] = share
		edit[fmt.Sprintf("%s:canary.versions[%d].percent", stacks.Namespace, i)] = auto.ConfigValue{Value: strconv.Itoa(share)}
	}
	if err := st.SetAllConfigWithOptions(ctx, edit, &auto.ConfigOptions{Path: true}); err != nil {
		t.Fatalf("pulumi config set --path percents: %v", err)
	}
	// The CLI must have stored numbers: the program rejects "50".
	edited, err := stacks.LoadFile(l.stackFile(stack))
	if err != nil {
		t.Fatalf("the stack file after `config set --path` is invalid: %v", err)
	}
	if got := canarySplit(edited); !maps.Equal(got, want) {
		t.Fatalf("after `config set --path` the split is %v, want %v", got, want)
	}

	summary, steps = l.preview(t, ctx, st, "percent change")
	if c := changed(summary); !maps.Equal(c, map[apitype.OpType]int{apitype.OpUpdate: 1}) {
		t.Fatalf("a percent change must update exactly one resource (the Route), got %v:\n%s", c, formatSteps(steps))
	}
	if len(steps) != 1 || steps[0].Type != knativeRouteType {
		t.Fatalf("a percent change must update only the %s, got:\n%s", knativeRouteType, formatSteps(steps))
	}
	t.Logf("the percent change updates only %s", steps[0])

	o = l.up(t, ctx, st, "percent change")
	requireSplit(t, o, want)
	requireSmoke(t, ctx, o, "canary "+formatSplit(want))
}

// shadowFlow: Pulumi.shadow.yaml comes up on its own cluster; users are
// answered by the primary, the shadow sees the mirrored share; a second
// preview changes nothing.
func shadowFlow(t *testing.T, l *lab) {
	ctx := opsContext(t)
	stack := fmt.Sprintf("e2e-shadow-%d", time.Now().Unix())
	cluster := "mr-" + stack
	cfg := l.writeStackFile(t, "Pulumi.shadow.yaml", stack, cluster, freePort(t))
	if cfg.Strategy != stacks.StrategyShadow || cfg.Shadow == nil {
		t.Fatalf("Pulumi.shadow.yaml must be a shadow stack, got strategy %q", cfg.Strategy)
	}
	st := l.newStack(t, ctx, stack, cluster)

	o := l.up(t, ctx, st, "create")
	if o.Strategy != stacks.StrategyShadow {
		t.Fatalf("output strategy is %q, want shadow", o.Strategy)
	}
	if want := *cfg.Shadow.MirrorPercent; *o.MirrorPercent != want {
		t.Fatalf("output mirrorPercent is %g, want %g", *o.MirrorPercent, want)
	}
	requireSmoke(t, ctx, o, fmt.Sprintf("shadow %s -> %s at %g%%", o.Primary, o.Shadow, *o.MirrorPercent))

	summary, steps := l.preview(t, ctx, st, "no change")
	if c := changed(summary); len(c) > 0 {
		t.Fatalf("a preview right after up must change nothing, got %v:\n%s", c, formatSteps(steps))
	}
}

// requireSplit checks the outputs describe a canary with the configured
// split before any traffic is sent.
func requireSplit(t *testing.T, o *stacks.Outputs, want map[string]int) {
	t.Helper()
	if o.Strategy != stacks.StrategyCanary {
		t.Fatalf("output strategy is %q, want canary", o.Strategy)
	}
	if !maps.Equal(o.Split, want) {
		t.Fatalf("output split is %v, want %v", o.Split, want)
	}
}

func formatSplit(split map[string]int) string { return formatCounts(split) }
