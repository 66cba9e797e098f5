// Command rollout moves a canary up its ladder of percents, one reviewed
// config change at a time, on the word of a gate run from outside:
//
//	go run ./cmd/rollout check --stack dev        # promote (0), rollback (1) or inconclusive (3)
//	go run ./cmd/rollout advance --stack dev --evidence verdict.json
//	go run ./cmd/rollout rollback --stack dev --evidence verdict.json
//	go run ./cmd/rollout status --stack dev
//
// check measures the candidate and the baseline (see internal/gate);
// advance and rollback edit Pulumi.<stack>.yaml in place and print the
// pull request's title and body; nothing reaches the cluster until the PR
// is merged and `pulumi up` runs. Exit status 2 means the command could
// not do its job (bad input, an unmeasurable version, an invalid edit).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/measure"
	"github.com/modelrollouts/modelrollouts/internal/rollout"
	"github.com/modelrollouts/modelrollouts/internal/smoke"
	"github.com/modelrollouts/modelrollouts/stacks"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, measure.IsTerminal(os.Stderr))
	stop()
	os.Exit(code)
}

const usage = `usage: rollout COMMAND [flags]

commands:
  check     judge the candidate against the baseline: promote (exit 0), rollback (1), inconclusive (3)
  advance   write the next step into Pulumi.<stack>.yaml and print the PR title and body
  rollback  set the candidate to 0% (still tagged) and print the PR title and body
  status    where the stack stands on its ladder

run "rollout COMMAND -h" for a command's flags.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer, tty bool) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return rollout.ExitError
	}
	cmd, rest := args[0], args[1:]
	var err error
	code := 0
	switch cmd {
	case "check":
		code, err = check(ctx, rest, stdout, stderr, tty)
	case "advance":
		err = step(rest, stdout, stderr, rollout.ActionAdvance)
	case "rollback":
		err = step(rest, stdout, stderr, rollout.ActionRollback)
	case "status":
		err = status(ctx, rest, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "rollout: unknown command %q\n\n%s", cmd, usage)
		return rollout.ExitError
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return rollout.ExitError
	case err != nil:
		fmt.Fprintf(stderr, "rollout %s: %v\n", cmd, err)
		return rollout.ExitError
	}
	return code
}

// errUsage is a flag error already printed by the flag package.
var errUsage = errors.New("usage")

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return nil
}

func check(ctx context.Context, args []string, stdout, stderr io.Writer, tty bool) (int, error) {
	fs := flag.NewFlagSet("rollout check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		src       smoke.Source
		opts      rollout.CheckOptions
		asJSON    = fs.Bool("json", false, "print the report as JSON (the evidence advance and rollback take)")
		timeout   = fs.Duration("timeout", 15*time.Minute, "deadline of the whole check; an undecided check then ends inconclusive")
		prom      = fs.String("prometheus", "", "judge real traffic from this Prometheus server's mesh metrics instead of probes")
		window    = fs.Duration("window", 10*time.Minute, "with --prometheus: the span of traffic judged, ending now")
		metrics   = fs.String("metrics", "knative", "with --prometheus: knative (queue-proxy invocation metrics) or istio (istio_requests_total)")
		successF  = fs.Float64("min-success-rate", 0, "override the gate's success-rate SLO (0.99 = 99% non-5xx)")
		p99F      = fs.Duration("max-p99", 0, "override the gate's p99 latency SLO, e.g. 500ms")
		increaseF = fs.Float64("max-latency-increase", 0, "override how much slower than the baseline the candidate may be (0.25 = 25%)")
		errIncF   = fs.Float64("max-error-increase", 0, "override how many points more often than the baseline the candidate may fail (0.2 = 0.2 points of failure rate)")
		minReqF   = fs.Int("min-requests", 0, "override the requests per version before any verdict")
		alphaF    = fs.Float64("alpha", 0, "override the gate's false-alarm rate")
		powerF    = fs.Float64("power", 0, "override the gate's power")
	)
	fs.StringVar(&src.Stack, "stack", "", "pulumi stack whose outputs to read (runs: pulumi stack output --json)")
	fs.StringVar(&src.File, "outputs", "", "read outputs from this JSON file (written by: pulumi stack output --json > FILE)")
	fs.StringVar(&src.Cwd, "cwd", "", "pulumi project directory for --stack")
	fs.StringVar(&opts.Candidate, "candidate", "", "version to judge (default: the stack's rollout candidate)")
	fs.StringVar(&opts.Baseline, "baseline", "", "version to judge it against (default: the stack's rollout baseline)")
	fs.IntVar(&opts.Settings.MaxRequests, "max-requests", 0, "budget of requests per version (0: the size of the fixed-N test with the same error rates)")
	fs.StringVar(&opts.Path, "path", "/", "path the probes request on each host")
	bodyFile := fs.String("body", "", "send this file's content with each probe (a POST unless --method says otherwise), for a model that only answers an inference request")
	fs.StringVar(&opts.Method, "method", "", "HTTP method of the probes (default GET, or POST with --body)")
	fs.IntVar(&opts.Concurrency, "concurrency", 8, "requests in flight at once")
	fs.DurationVar(&opts.RequestTimeout, "request-timeout", 30*time.Second, "timeout of one request")
	fs.DurationVar(&opts.WakeTimeout, "wake-timeout", rollout.DefaultWakeTimeout, "how long each host may take to give its first answer (a cold start), which is not counted")
	fs.IntVar(&opts.SplitRequests, "split-requests", 0, "user-host requests that check the deployed split (0: a power calculation, -1: skip)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: rollout check (--stack NAME [--cwd DIR] | --outputs FILE) [flags]\n\n")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return 0, err
	}
	if src.Stack == "" && src.File == "" {
		return 0, errors.New("name a stack (--stack) or an outputs file (--outputs)")
	}
	if *bodyFile != "" {
		b, err := os.ReadFile(*bodyFile)
		if err != nil {
			return 0, fmt.Errorf("--body: %w", err)
		}
		opts.Body = b
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	o, err := smoke.LoadOutputs(ctx, src)
	if err != nil {
		return 0, err
	}
	if refused, err := refuseUnapplied(src, o, stdout, *asJSON); refused || err != nil {
		return rollout.ExitInconclusive, err
	}
	maxRequests := opts.Settings.MaxRequests
	opts.Settings = rollout.SettingsFromOutputs(o)
	opts.Settings.MaxRequests = maxRequests
	override(&opts.Settings.MinSuccessRate, *successF)
	override(&opts.Settings.MaxP99, *p99F)
	override(&opts.Settings.MaxLatencyIncrease, *increaseF)
	override(&opts.Settings.MaxErrorIncrease, *errIncF/100) // points to a rate
	override(&opts.Settings.MinRequests, *minReqF)
	override(&opts.Settings.Alpha, *alphaF)
	override(&opts.Settings.Power, *powerF)
	opts.Outputs, opts.Source = o, src.String()
	opts.Command = "go run ./cmd/rollout check " + shellJoin(args)
	opts.Progress = rollout.NewProgress(stderr, tty)
	if *prom != "" {
		m, err := rollout.NewPrometheus(*prom, *metrics, *window, o)
		if err != nil {
			return 0, err
		}
		opts.Metrics = m
	}
	rep, err := rollout.Check(ctx, opts)
	if err != nil {
		return 0, err
	}
	if *asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	return rep.ExitCode(), err
}

func override[T comparable](dst *T, v T) {
	var zero T
	if v != zero {
		*dst = v
	}
}

// stackFileFlags name the stack file that step and status read: --file,
// or Pulumi.<--stack>.yaml in --cwd or the project folder above the
// working directory.
type stackFileFlags struct{ stack, cwd, file string }

func (f *stackFileFlags) register(fs *flag.FlagSet, verb string) {
	fs.StringVar(&f.stack, "stack", "", "stack whose Pulumi.<stack>.yaml to "+verb)
	fs.StringVar(&f.cwd, "cwd", "", "pulumi project directory (default: the one above the working directory)")
	fs.StringVar(&f.file, "file", "", "the stack file to "+verb+" (default: Pulumi.<stack>.yaml in the project)")
}

func (f *stackFileFlags) path() (string, error) {
	if f.file != "" {
		return f.file, nil
	}
	if f.stack == "" {
		return "", errors.New("name a stack (--stack NAME) or its file (--file Pulumi.NAME.yaml)")
	}
	dir := f.cwd
	if dir == "" {
		var err error
		if dir, err = stacks.FindProjectDir("."); err != nil {
			return "", err
		}
	}
	return filepath.Join(dir, "Pulumi."+f.stack+".yaml"), nil
}

func step(args []string, stdout, stderr io.Writer, action rollout.Action) error {
	fs := flag.NewFlagSet("rollout "+string(action), flag.ContinueOnError)
	fs.SetOutput(stderr)
	var stackFile stackFileFlags
	stackFile.register(fs, "edit")
	var (
		evidence = fs.String("evidence", "", "the gate's report (rollout check --json) to put in the PR and check against")
		force    = fs.Bool("force", false, "take the step although the evidence does not back it")
		dryRun   = fs.Bool("dry-run", false, "print the PR but leave the file alone")
		asJSON   = fs.Bool("json", false, "print the step and the PR as JSON")
		titleOut = fs.String("title-file", "", "also write the PR title to this file")
		bodyOut  = fs.String("body-file", "", "also write the PR body to this file")
	)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: rollout %s --stack NAME [--evidence REPORT.json] [flags]\n\n", action)
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	path, err := stackFile.path()
	if err != nil {
		return err
	}
	name := stackFile.stack
	if name == "" {
		name = strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), "Pulumi."), ".yaml")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	plan := rollout.PlanAdvance
	if action == rollout.ActionRollback {
		plan = rollout.PlanRollback
	}
	s, out, err := rollout.EditStackFile(data, plan)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var rep *rollout.Report
	if *evidence != "" {
		b, err := os.ReadFile(*evidence)
		if err != nil {
			return err
		}
		if rep, err = rollout.ReadReport(b); err != nil {
			return fmt.Errorf("%s: %w", *evidence, err)
		}
		if err := rollout.CheckEvidence(s, rep); err != nil {
			if !*force {
				return fmt.Errorf("%s does not back this step: %w (--force takes it anyway)", *evidence, err)
			}
			fmt.Fprintf(stderr, "rollout %s: warning: %v\n", action, err)
		}
	}
	pr := rollout.NewPR(name, s, rep)
	if !*dryRun {
		if err := writeFileKeepMode(path, out); err != nil {
			return err
		}
	}
	for _, f := range []struct{ path, text string }{{*titleOut, pr.Title + "\n"}, {*bodyOut, pr.Body}} {
		if f.path != "" {
			if err := os.WriteFile(f.path, []byte(f.text), 0o644); err != nil {
				return err
			}
		}
	}
	if *asJSON {
		return writeJSON(stdout, map[string]any{"file": path, "written": !*dryRun, "step": s, "pr": pr})
	}
	_, err = fmt.Fprintf(stdout, "%s\n\n%s", pr.Title, pr.Body)
	return err
}

func status(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rollout status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var stackFile stackFileFlags
	stackFile.register(fs, "read")
	var (
		outputs = fs.String("outputs", "", "also compare with the deployed outputs in this file (pulumi stack output --json)")
		asJSON  = fs.Bool("json", false, "print the status as JSON")
	)
	if err := parse(fs, args); err != nil {
		return err
	}
	path, err := stackFile.path()
	if err != nil {
		return err
	}
	cfg, err := stacks.LoadFile(path)
	if err != nil {
		return err
	}
	st, err := rollout.StatusOf(cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var deployed *stacks.Outputs
	if *outputs != "" {
		if deployed, err = smoke.LoadOutputs(ctx, smoke.Source{File: *outputs}); err != nil {
			return err
		}
	}
	if *asJSON {
		v := map[string]any{"file": path, "status": st}
		if deployed != nil {
			v["deployedPercents"] = deployed.Split
		}
		return writeJSON(stdout, v)
	}
	return rollout.WriteStatus(stdout, path, st, deployed)
}
