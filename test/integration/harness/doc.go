// Package harness is the tooling side of the integration test tier: the real
// Pulumi engine (Automation API, inline programs) plus the Kubernetes
// provider against a real kube-apiserver, with no Docker and no network.
//
// The binaries are built outside the tests by make tools (Go module proxy
// only) and described by $MODELROLLOUTS_TOOLS_DIR/env.sh. Tests run inside a
// private network namespace that has only loopback, started by
// hack/integration/in-netns.sh, so nothing the cluster does (webhooks, aggregated APIs,
// conversion webhooks that dial 10.x Service IPs) can leave the machine.
//
// Typical use:
//
//	tools, err := harness.LoadTools()
//	if err != nil {
//		t.Skip(err) // the message says what is missing and how to build it
//	}
//	if err := harness.RequireLoopbackOnlyNetns(); err != nil {
//		t.Skip(err) // or t.Fatal in CI: never run the tier on the host netns
//	}
//	cluster, err := harness.StartCluster(ctx, t.TempDir())
//	if err != nil {
//		t.Fatal(err)
//	}
//	t.Cleanup(func() { _ = cluster.Stop() })
//
//	home := t.TempDir()
//	env := tools.PulumiEnv(home) // PULUMI_HOME, file backend, PATH, ...
//	env["KUBECONFIG"] = cluster.Kubeconfig
//	// auto.UpsertStackInlineSource(ctx, stack, project, program,
//	//	auto.EnvVars(env), auto.PulumiHome(env["PULUMI_HOME"]),
//	//	auto.Pulumi(cmd)) with cmd from
//	//	auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: tools.PulumiRoot})
//
// The package uses only the standard library.
package harness
