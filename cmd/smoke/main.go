// Command smoke proves from outside that a deployed rollout lab does what
// its stack config says (see internal/smoke). Exit status (also in --help):
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
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/smoke"
)

// Exit statuses, also listed by --help.
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
	fs := flag.NewFlagSet("smoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := smoke.DefaultParams
	var (
		src          smoke.Source
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
	fs.StringVar(&src.Stack, "stack", "", "pulumi stack whose outputs to read (runs: pulumi stack output --json)")
	fs.StringVar(&src.File, "outputs", "", "read outputs from this JSON file instead (written by: pulumi stack output --json > FILE)")
	fs.StringVar(&src.Cwd, "cwd", "", "pulumi project directory for --stack")
	fs.IntVar(&p.Concurrency, "concurrency", d.Concurrency, "requests in flight at once")
	fs.DurationVar(&p.WaitTimeout, "wait-timeout", d.WaitTimeout, "how long to wait for every route to answer at first (cold start)")
	fs.DurationVar(&p.RequestTimeout, "request-timeout", d.RequestTimeout, "timeout of one request")
	fs.IntVar(&p.OwnRequests, "own-requests", d.OwnRequests, "fewest requests to each version's own host")
	fs.IntVar(&p.Retries, "retries", d.Retries, "extra attempts of a request that got no HTTP answer (answers are never retried)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: smoke (--stack NAME [--cwd DIR] | --outputs FILE) [flags]\n\n")
		fs.PrintDefaults()
		fmt.Fprintf(stderr, "\nexit status:\n"+
			"  %d  pass: the deployment does what its stack says\n"+
			"  %d  fail: the deployment failed a check (the report says which)\n"+
			"  %d  the run could not be made (bad flags, no outputs, a run error)\n", exitPass, exitFail, exitError)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitPass
		}
		return exitError
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "smoke: unexpected arguments %q\n", fs.Args())
		return exitError
	}
	if src.Stack == "" && src.File == "" && src.Env == "" {
		fmt.Fprintln(stderr, "smoke: name a stack (--stack) or an outputs file (--outputs)")
		return exitError
	}
	// The kubeconfig output is secret; only a run from the cluster needs it.
	src.ShowSecrets = inCluster.enabled
	p.Margin, p.Leak, p.Alpha, p.Power, p.N = *margin/100, *leak/100, *alpha, *power, *n
	p.MaxErrorShare, p.DetectErrorShare, p.Pods = *maxErr/100, *detErr/100, smoke.PodAccess(*pods)
	if err := p.Check(); err != nil {
		fmt.Fprintln(stderr, "smoke:", err)
		return exitError
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	o, err := smoke.LoadOutputs(ctx, src)
	if err != nil {
		fmt.Fprintln(stderr, "smoke:", err)
		return exitError
	}
	if inCluster.enabled {
		return inCluster.run(ctx, o, passThrough(fs), *timeout, stdout, stderr)
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
