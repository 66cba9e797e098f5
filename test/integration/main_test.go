//go:build integration

// Package integration is the second test tier: the real Pulumi engine and
// Kubernetes provider run the program's infra.Program inline against a
// real kube-apiserver (kwok), with no Docker and no network. Run it with
// `make test-integration`, which builds the tools and enters a private
// network namespace first.
package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/test/integration/harness"
)

// tier is the shared cluster and Pulumi environment of one test run.
var tier struct {
	skip    string // why the tier cannot run here, if it cannot
	tools   harness.Tools
	cluster *harness.Cluster
	home    string // PULUMI_HOME and the file backend, kept between runs
	// clusterDir holds the run's clusters; removed at the end.
	clusterDir string
}

// required makes a missing tool or netns a failure instead of a skip: the
// make target sets it, so CI cannot pass by skipping the tier.
var required = os.Getenv("MODELROLLOUTS_INTEGRATION") == "required"

func TestMain(m *testing.M) {
	code := run(m)
	printStages()
	os.Exit(code)
}

func run(m *testing.M) int {
	ctx := context.Background()
	if reason := setup(ctx); reason != "" {
		tier.skip = reason
		if required {
			fmt.Fprintln(os.Stderr, "integration tier cannot run:", reason)
			return 1
		}
	}
	defer teardown()
	return m.Run()
}

func setup(ctx context.Context) string {
	var err error
	if tier.tools, err = harness.LoadTools(); err != nil {
		return err.Error()
	}
	if err := harness.RequireLoopbackOnlyNetns(); err != nil {
		return err.Error()
	}
	// The Pulumi home and file backend persist across runs, so a run that
	// was killed leaves its lock and stacks where the next run finds them.
	// $MODELROLLOUTS_INTEGRATION_HOME gives concurrent runs (two checkouts
	// on one machine) a backend each.
	tier.home = os.Getenv("MODELROLLOUTS_INTEGRATION_HOME")
	if tier.home == "" {
		tier.home = filepath.Join(harness.ToolsDir(), "..", "integration-pulumi")
	}
	tmp, err := os.MkdirTemp("", "modelrollouts-it-")
	if err != nil {
		return err.Error()
	}
	tier.clusterDir = tmp
	stage("cluster start", func() {
		tier.cluster, err = harness.StartCluster(ctx, filepath.Join(tier.clusterDir, "cluster"))
	})
	if err != nil {
		return "start the kwok cluster: " + err.Error()
	}
	stage("CRDs (Istio, Knative) apply", func() { err = applyCRDs(ctx) })
	if err != nil {
		return err.Error()
	}
	stage("pulumi home + provider plugin", func() {
		err = tier.tools.PreparePulumiHome(ctx, tier.tools.PulumiEnv(tier.home))
	})
	if err != nil {
		return err.Error()
	}
	// A run killed earlier may have left its stack locked.
	removed, err := harness.ClearStaleLocks(tier.tools.PulumiEnv(tier.home)["PULUMI_BACKEND_URL"])
	if err != nil {
		return "clear stale locks: " + err.Error()
	}
	for _, f := range removed {
		fmt.Fprintln(os.Stderr, "removed stale stack lock", f)
	}
	// Stacks left by a killed run describe a cluster that is gone.
	if err := removeLeftoverStacks(ctx); err != nil {
		return "remove leftover stacks: " + err.Error()
	}
	return ""
}

func teardown() {
	if tier.cluster != nil {
		stage("cluster stop", func() { _ = tier.cluster.Stop() })
	}
	if tier.clusterDir != "" {
		os.RemoveAll(tier.clusterDir)
	}
}

// applyCRDs installs what a cluster with Istio and Knative has, so the
// strategy tests can run with the platform install off.
func applyCRDs(ctx context.Context) error {
	files := []string{filepath.Join(tier.tools.IstioChartsDir, "base", "files", "crd-all.gen.yaml")}
	files = append(files, knativeCRDFiles()...)
	for _, f := range files {
		if _, err := tier.cluster.RunKubectl(ctx, "apply", "--server-side", "-f", f); err != nil {
			return err
		}
	}
	_, err := tier.cluster.RunKubectl(ctx, "wait", "--for=condition=Established", "--timeout=60s",
		"crd/routes.serving.knative.dev", "crd/configurations.serving.knative.dev", "crd/virtualservices.networking.istio.io")
	return err
}

func knativeCRDFiles() []string {
	core := filepath.Join(tier.tools.KnativeServingDir, "config", "core")
	files, _ := filepath.Glob(filepath.Join(core, "300-resources", "*.yaml"))
	return files
}

// requireTier skips a test, with the reason, where the tier cannot run.
func requireTier(t *testing.T) {
	t.Helper()
	if tier.skip != "" {
		t.Skip("integration tier not available: " + tier.skip)
	}
}

var stages struct {
	sync.Mutex
	times map[string]time.Duration
	order []string
}

// stage runs fn and records its wall time for the closing report.
func stage(name string, fn func()) {
	start := time.Now()
	fn()
	d := time.Since(start)
	stages.Lock()
	defer stages.Unlock()
	if stages.times == nil {
		stages.times = map[string]time.Duration{}
	}
	if _, seen := stages.times[name]; !seen {
		stages.order = append(stages.order, name)
	}
	stages.times[name] += d
}

func printStages() {
	stages.Lock()
	defer stages.Unlock()
	if len(stages.order) == 0 {
		return
	}
	var b strings.Builder
	b.WriteString("integration tier stage times:\n")
	for _, n := range stages.order {
		fmt.Fprintf(&b, "  %-45s %7.1fs\n", n, stages.times[n].Seconds())
	}
	fmt.Fprint(os.Stderr, b.String())
}
