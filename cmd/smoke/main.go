// Command smoke proves from outside that a deployed rollout lab does what
// its stack config says (see internal/smoke). Flags follow package cli.
// Exit status (also in -h):
// 0 pass, 1 the deployment failed a check, 2 the run could not be made.
//
//	go run ./cmd/smoke --stack dev
//	go run ./cmd/smoke --outputs outputs.json --json
//	go run ./cmd/smoke --stack shadow --from-cluster
//
// --from-cluster runs the same checks from a pod in the cluster (a Job of
// the smoke client image the stack built), as a caller inside the mesh,
// and prints the report that comes back through the Kubernetes API.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/cli"
	"github.com/modelrollouts/modelrollouts/internal/smoke"
	"github.com/modelrollouts/modelrollouts/stacks/stackoutputs"
)

// Exit statuses, also listed by -h.
const (
	exitPass  = 0
	exitFail  = 1
	exitError = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, smoke.IsTerminal(os.Stderr))
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, tty bool) int {
	c := cli.New("smoke", "prove from outside that a deployed rollout lab does what its stack config says (split, tags, shadow mirror, error budgets)")
	c.Usage = "(--stack NAME [--cwd DIR] | --outputs FILE) [flags]"
	c.Examples = []string{
		"make smoke STACK=dev",
		"go run ./cmd/smoke --stack dev",
		"go run ./cmd/smoke --stack shadow --json > smoke.json",
		"go run ./cmd/smoke --stack shadow --from-cluster",
		"go run ./cmd/smoke --stack byo --path /v2/models/model/infer --body examples/sklearn-iris/infer-request.json",
	}
	c.Exit = []cli.ExitCode{
		{Code: exitPass, Meaning: "pass: the deployment does what its stack says"},
		{Code: exitFail, Meaning: "fail: the deployment failed a check (the report says which; an ingress that does not answer at all is one)"},
		{Code: exitError, Meaning: "the run could not be made (bad flags, no outputs, the ingress address pending, a run error)"},
	}
	fs := c.Flags
	d := smoke.DefaultParams
	var (
		src          stackoutputs.Source
		margin       = fs.Float64("margin", 100*d.Margin, "smallest error to catch on any share, in percentage points")
		leak         = fs.Float64("leak", 100*d.Leak, "smallest share of user traffic, in percent, reaching a version that should get none, to catch")
		maxErr       = fs.Float64("max-errors", 100*d.MaxErrorShare, "failure rate (5xx or no answer), in percent, each version may have")
		detErr       = fs.Float64("detect-errors", 100*d.DetectErrorShare, "failure rate, in percent, each version's error budget catches with --power")
		pods         = fs.String("pods", string(d.Pods), "how to read every pod of a version: auto (the Kubernetes API when the outputs carry a kubeconfig), ingress, kubernetes")
		alpha        = fs.Float64("alpha", d.Alpha, "false-alarm rate of the statistical tests")
		power        = fs.Float64("power", d.Power, "chance of catching an error of --margin")
		n            = fs.Int("n", 0, "user requests to send (0: chosen by the power calculation)")
		timeout      = fs.Duration("timeout", 10*time.Minute, "deadline of the whole run")
		asJSON       = fs.Bool("json", false, "print the report as JSON")
		showProgress = fs.Bool("progress", true, "show progress on stderr")
		inCluster    inClusterFlags
		p            = d
	)
	inCluster.register(fs)
	fs.StringVar(&src.Env, "outputs-env", "", "read the outputs JSON from this environment variable (how --from-cluster hands them to its Job)")
	cli.OutputsFlags(fs, &src)
	fs.IntVar(&p.Concurrency, "concurrency", d.Concurrency, "requests in flight at once")
	fs.DurationVar(&p.WaitTimeout, "wake-timeout", d.WaitTimeout, "how long every route may take to give its first answer (a cold start)")
	c.Alias("wait-timeout", "wake-timeout")
	fs.DurationVar(&p.RequestTimeout, "request-timeout", d.RequestTimeout, "timeout of one request")
	fs.IntVar(&p.OwnRequests, "own-requests", d.OwnRequests, "fewest requests to each version's own host")
	fs.IntVar(&p.Retries, "retries", d.Retries, "extra attempts of a request that got no HTTP answer (answers are never retried)")
	fs.StringVar(&p.ShadowRequest.Path, "path", "", "shadow check: the path of the user requests (default: model-echo's inference request, or the readiness path of an own model behind model-agent); an inference path lets the check join the mirrored copies to the users' requests")
	bodyFile := fs.String("body", "", "shadow check: send this file's content as a POST to --path (an own model's inference request, e.g. examples/sklearn-iris/infer-request.json)")
	bodyEnv := fs.String("body-env", "", "read the --body content from this environment variable (how --from-cluster hands it to its Job)")
	if code, done := c.Parse(args, stdout, stderr); done {
		return code
	}
	if !src.Named() {
		return c.UsageError(stderr, "name a stack (--stack) or an outputs file (--outputs)")
	}
	p.Margin, p.Leak, p.Alpha, p.Power, p.N = *margin/100, *leak/100, *alpha, *power, *n
	p.MaxErrorShare, p.DetectErrorShare, p.Pods = *maxErr/100, *detErr/100, smoke.PodAccess(*pods)
	switch {
	case *bodyFile != "" && *bodyEnv != "":
		return c.UsageError(stderr, "give --body or --body-env, not both")
	case *bodyFile != "":
		body, err := os.ReadFile(*bodyFile)
		if err != nil {
			return c.UsageError(stderr, fmt.Sprintf("--body: %v", err))
		}
		p.ShadowRequest.Body = body
	case *bodyEnv != "":
		p.ShadowRequest.Body = []byte(os.Getenv(*bodyEnv))
	}
	if err := p.Check(); err != nil {
		return c.UsageError(stderr, err.Error())
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	o, err := stackoutputs.Load(ctx, src)
	if err != nil {
		fmt.Fprintln(stderr, "smoke:", err)
		return exitError
	}
	// The kubeconfig output is a secret the outputs show as "[secret]";
	// fetch it on purpose, into memory, only where a kubeconfig is needed.
	if inCluster.enabled || p.Pods == smoke.PodsKubernetes {
		if o.Kubeconfig, err = stackoutputs.Kubeconfig(ctx, src, o); err != nil {
			fmt.Fprintln(stderr, "smoke:", err)
			return exitError
		}
	}
	if inCluster.enabled {
		return inCluster.run(ctx, o, passThrough(fs), p.ShadowRequest.Body, *timeout, stdout, stderr)
	}
	if src.Env == "" && !o.ReachableFromOutside() {
		fmt.Fprintf(stderr, "smoke: %s routes only callers inside the mesh (shadow.bindTo %s): run smoke --from-cluster\n", src, o.BindTo)
		return exitError
	}
	progress := smoke.NewProgress(stderr, tty)
	if !*showProgress {
		progress = nil
	}
	rep, err := smoke.Run(ctx, o, p, progress)
	if err != nil {
		fmt.Fprintln(stderr, "smoke:", err)
		return exitError
	}
	rep.Source = src.String()
	if *asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "smoke:", err)
		return exitError
	}
	if !rep.Pass {
		return exitFail
	}
	return exitPass
}
