// Command rollout moves a canary up its ladder of percents, one reviewed
// config change at a time, on the word of a gate run from outside:
//
//	bin/rollout check --stack dev --json > verdict.json  # promote (0), rollback (1) or inconclusive (3)
//	bin/rollout advance --stack dev --evidence verdict.json
//	bin/rollout rollback --stack dev --evidence verdict.json
//	bin/rollout status --stack dev
//
// Build it with `go build -o bin/ ./cmd/rollout`: `go run` reports every
// non-zero exit as 1, so rollback could not be told from inconclusive.
//
// check measures the candidate and the baseline (see internal/gate);
// advance and rollback edit Pulumi.<stack>.yaml in place and print the
// pull request's title and body; nothing reaches the cluster until the PR
// is merged and `pulumi up` runs. advance and rollback refuse to edit
// without the gate's report (--evidence) unless told --no-evidence. Exit
// status 2 means the command could not do its job (bad input, an
// unmeasurable version, an invalid edit). Flags follow package cli.
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

	"github.com/modelrollouts/modelrollouts/internal/cli"
	"github.com/modelrollouts/modelrollouts/internal/measure"
	"github.com/modelrollouts/modelrollouts/internal/rollout"
	"github.com/modelrollouts/modelrollouts/stacks"
	"github.com/modelrollouts/modelrollouts/stacks/stackoutputs"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, measure.IsTerminal(os.Stderr))
	stop()
	os.Exit(code)
}

const summary = "move a canary up its ladder of percents, one reviewed config change at a time, on the word of a gate"

var examples = []string{
	"bin/rollout status --stack dev",
	"bin/rollout check --stack dev --json > verdict.json",
	"bin/rollout advance --stack dev --evidence verdict.json",
	"bin/rollout rollback --stack dev --evidence verdict.json",
}

var (
	exitCheck = []cli.ExitCode{
		{Code: rollout.ExitPromote, Meaning: "promote: the candidate meets every criterion"},
		{Code: rollout.ExitRollback, Meaning: "rollback: the candidate breaks a criterion"},
		{Code: rollout.ExitError, Meaning: "the check could not be made (bad flags, no outputs, an unmeasurable version)"},
		{Code: rollout.ExitInconclusive, Meaning: "inconclusive: the requests ran out before a verdict, a limit both versions break, or the deployed split is not the step the stack file names (not applied)"},
	}
	exitEdit = []cli.ExitCode{
		{Code: 0, Meaning: "done (the file written, unless --dry-run; the PR title and body on stdout)"},
		{Code: rollout.ExitError, Meaning: "nothing was written: bad flags, no evidence, evidence that does not back the step, an invalid edit"},
	}
	exitStatus = []cli.ExitCode{
		{Code: 0, Meaning: "the status is printed"},
		{Code: rollout.ExitError, Meaning: "the stack file could not be read"},
	}
)

// writeTopHelp is `rollout -h`: the commands, then how to get each one's flags.
func writeTopHelp(w io.Writer) {
	fmt.Fprintf(w, "rollout: %s\n\nusage: rollout COMMAND [flags]\n\ncommands:\n"+
		"  status    where the stack stands on its ladder\n"+
		"  check     judge the candidate against the baseline: promote (exit 0), rollback (1), inconclusive (3)\n"+
		"  advance   write the next step into Pulumi.<stack>.yaml and print the PR title and body\n"+
		"  rollback  set the candidate to 0%% (still tagged) and print the PR title and body\n"+
		"\nflags:\n  each command has its own: rollout COMMAND -h\n", summary)
	cli.WriteExamples(w, examples)
	cli.WriteExitCodes(w, exitCheck)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, tty bool) int {
	if cli.IsHelp(args) {
		writeTopHelp(stdout)
		return 0
	}
	if len(args) == 0 {
		fmt.Fprintln(stderr, "rollout: name a command: status, check, advance or rollback\nrun `rollout -h` for the commands, examples and exit codes")
		return rollout.ExitError
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "check":
		return check(ctx, rest, stdout, stderr, tty)
	case "advance":
		return step(rest, stdout, stderr, rollout.ActionAdvance)
	case "rollback":
		return step(rest, stdout, stderr, rollout.ActionRollback)
	case "status":
		return status(ctx, rest, stdout, stderr)
	}
	fmt.Fprintf(stderr, "rollout: unknown command %q: want status, check, advance or rollback\nrun `rollout -h` for the commands, examples and exit codes\n", cmd)
	return rollout.ExitError
}

// fail prints a command's error and returns the exit code of an error.
func fail(stderr io.Writer, name string, err error) int {
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	return rollout.ExitError
}

func check(ctx context.Context, args []string, stdout, stderr io.Writer, tty bool) int {
	c := cli.New("rollout check", "judge the candidate against the baseline from probes of their tag hosts (or Prometheus) and say promote, rollback or inconclusive")
	c.Usage = "(--stack NAME [--cwd DIR] | --outputs FILE) [flags]"
	c.Examples = []string{
		"bin/rollout check --stack dev",
		"bin/rollout check --stack dev --json > verdict.json",
		"bin/rollout check --stack dev --prometheus http://127.0.0.1:9090 --window 30m",
	}
	c.Exit = exitCheck
	fs := c.Flags
	var (
		src       stackoutputs.Source
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
		warmupF   = fs.Int("warmup", -1, "override the uncounted requests each version gets before the gate measures (0: none; -1: the stack's canary.rollout.gate.warmupRequests)")
		alphaF    = fs.Float64("alpha", 0, "override the gate's false-alarm rate")
		powerF    = fs.Float64("power", 0, "override the gate's power")
	)
	cli.OutputsFlags(fs, &src)
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
	if code, done := c.Parse(args, stdout, stderr); done {
		return code
	}
	if src.Stack == "" && src.File == "" {
		return c.UsageError(stderr, "name a stack (--stack) or an outputs file (--outputs)")
	}
	if *warmupF < -1 || *warmupF > stacks.MaxWarmupRequests {
		return c.UsageError(stderr, fmt.Sprintf("--warmup %d: want 0 (no warm-up) to %d requests per version", *warmupF, stacks.MaxWarmupRequests))
	}
	if *bodyFile != "" {
		b, err := os.ReadFile(*bodyFile)
		if err != nil {
			return fail(stderr, c.Name, fmt.Errorf("--body: %w", err))
		}
		opts.Body = b
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	o, err := stackoutputs.Load(ctx, src)
	if err != nil {
		return fail(stderr, c.Name, err)
	}
	if refused, err := refuseUnapplied(src, o, stdout, *asJSON); err != nil {
		return fail(stderr, c.Name, err)
	} else if refused {
		return rollout.ExitInconclusive
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
	if *warmupF >= 0 {
		opts.WarmupRequests = warmupF
	}
	opts.Outputs, opts.Source = o, src.String()
	opts.Command = "bin/rollout check " + shellJoin(args)
	opts.Progress = rollout.NewProgress(stderr, tty)
	if *prom != "" {
		m, err := rollout.NewPrometheus(*prom, *metrics, *window, o)
		if err != nil {
			return fail(stderr, c.Name, err)
		}
		opts.Metrics = m
	}
	rep, err := rollout.Check(ctx, opts)
	if err != nil {
		return fail(stderr, c.Name, err)
	}
	if *asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		return fail(stderr, c.Name, err)
	}
	return rep.ExitCode()
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

func step(args []string, stdout, stderr io.Writer, action rollout.Action) int {
	c := cli.New("rollout "+string(action), map[rollout.Action]string{
		rollout.ActionAdvance:  "write the candidate's next step on its ladder into Pulumi.<stack>.yaml and print the PR title and body",
		rollout.ActionRollback: "set the candidate to 0% (still tagged) in Pulumi.<stack>.yaml and print the PR title and body",
	}[action])
	c.Usage = "--stack NAME (--evidence REPORT.json | --no-evidence) [flags]"
	c.Examples = []string{
		"bin/rollout " + string(action) + " --stack dev --evidence verdict.json",
		"bin/rollout " + string(action) + " --stack dev --evidence verdict.json --dry-run",
		"bin/rollout " + string(action) + " --stack dev --no-evidence   # a step taken on your own word, said so in the PR",
	}
	c.Exit = exitEdit
	fs := c.Flags
	var stackFile stackFileFlags
	stackFile.register(fs, "edit")
	var (
		evidence   = fs.String("evidence", "", "the gate's report ('rollout check --json > verdict.json') to put in the PR and check the step against")
		noEvidence = fs.Bool("no-evidence", false, "take the step without a gate report (the PR says so)")
		force      = fs.Bool("force", false, "take the step although the evidence does not back it")
		dryRun     = fs.Bool("dry-run", false, "print the PR but leave the file alone")
		asJSON     = fs.Bool("json", false, "print the step and the PR as JSON")
		titleOut   = fs.String("title-file", "", "also write the PR title to this file")
		bodyOut    = fs.String("body-file", "", "also write the PR body to this file")
	)
	if code, done := c.Parse(args, stdout, stderr); done {
		return code
	}
	switch {
	case *evidence == "" && !*noEvidence:
		return c.UsageError(stderr, "no --evidence: pass the gate's report (`rollout check --stack NAME --json > verdict.json`, then --evidence verdict.json), or --no-evidence to take the step on your own word")
	case *evidence != "" && *noEvidence:
		return c.UsageError(stderr, "--evidence and --no-evidence both given: pick one")
	}
	path, err := stackFile.path()
	if err != nil {
		return c.UsageError(stderr, err.Error())
	}
	name := stackFile.stack
	if name == "" {
		name = strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), "Pulumi."), ".yaml")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fail(stderr, c.Name, err)
	}
	plan := rollout.PlanAdvance
	if action == rollout.ActionRollback {
		plan = rollout.PlanRollback
	}
	s, out, err := rollout.EditStackFile(data, plan)
	if err != nil {
		return fail(stderr, c.Name, fmt.Errorf("%s: %w", path, err))
	}
	var rep *rollout.Report
	if *evidence != "" {
		b, err := os.ReadFile(*evidence)
		if err != nil {
			return fail(stderr, c.Name, fmt.Errorf("--evidence: %w", err))
		}
		if rep, err = rollout.ReadReport(b); err != nil {
			return fail(stderr, c.Name, fmt.Errorf("%s: %w", *evidence, err))
		}
		if err := rollout.CheckEvidence(s, rep); err != nil {
			if !*force {
				return fail(stderr, c.Name, fmt.Errorf("%s does not back this step: %w (--force takes it anyway)", *evidence, err))
			}
			fmt.Fprintf(stderr, "%s: warning: %v\n", c.Name, err)
		}
	}
	pr := rollout.NewPR(name, s, rep)
	var written []string
	if !*dryRun {
		if err := writeFileKeepMode(path, out); err != nil {
			return fail(stderr, c.Name, err)
		}
		written = append(written, path)
	}
	for _, f := range []struct{ path, text string }{{*titleOut, pr.Title + "\n"}, {*bodyOut, pr.Body}} {
		if f.path != "" {
			if err := os.WriteFile(f.path, []byte(f.text), 0o644); err != nil {
				return fail(stderr, c.Name, err)
			}
			written = append(written, f.path)
		}
	}
	reportWritten(stderr, c.Name, path, s, *dryRun, written)
	if *asJSON {
		err = writeJSON(stdout, map[string]any{"file": path, "written": !*dryRun, "step": s, "pr": pr})
	} else {
		_, err = fmt.Fprintf(stdout, "%s\n\n%s", pr.Title, pr.Body)
	}
	if err != nil {
		return fail(stderr, c.Name, err)
	}
	return 0
}

// reportWritten says on stderr which files the step wrote (or that a dry
// run wrote none of the stack file), so an edit never goes unnoticed.
func reportWritten(stderr io.Writer, name, path string, s *rollout.Step, dryRun bool, written []string) {
	change := fmt.Sprintf("%s %d%% → %d%%", s.Candidate, s.Before[s.Candidate], s.After[s.Candidate])
	if dryRun {
		fmt.Fprintf(stderr, "%s: dry run: %s left unchanged (would set %s)\n", name, path, change)
	}
	for _, f := range written {
		what := "the PR text"
		if f == path {
			what = change + "; commit it in a PR, nothing reaches the cluster until `pulumi up`"
		}
		fmt.Fprintf(stderr, "%s: wrote %s (%s)\n", name, f, what)
	}
}

func status(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := cli.New("rollout status", "say where the stack stands on its ladder: the candidate's percent, its step and the next one")
	c.Usage = "--stack NAME [--cwd DIR | --file FILE] [--outputs FILE] [--json]"
	c.Examples = []string{
		"bin/rollout status --stack dev",
		"pulumi stack output --json > outputs.json && bin/rollout status --stack dev --outputs outputs.json",
	}
	c.Exit = exitStatus
	fs := c.Flags
	var stackFile stackFileFlags
	stackFile.register(fs, "read")
	var (
		outputs = fs.String("outputs", "", "also compare with the deployed outputs in this file (pulumi stack output --json)")
		asJSON  = fs.Bool("json", false, "print the status as JSON")
	)
	if code, done := c.Parse(args, stdout, stderr); done {
		return code
	}
	path, err := stackFile.path()
	if err != nil {
		return c.UsageError(stderr, err.Error())
	}
	cfg, err := stacks.LoadFile(path)
	if err != nil {
		return fail(stderr, c.Name, err)
	}
	st, err := rollout.StatusOf(cfg)
	if err != nil {
		return fail(stderr, c.Name, fmt.Errorf("%s: %w", path, err))
	}
	var deployed *stacks.Outputs
	if *outputs != "" {
		if deployed, err = stackoutputs.Load(ctx, stackoutputs.Source{File: *outputs}); err != nil {
			return fail(stderr, c.Name, err)
		}
	}
	if *asJSON {
		v := map[string]any{"file": path, "status": st}
		if deployed != nil {
			v["deployedPercents"] = deployed.Split
		}
		err = writeJSON(stdout, v)
	} else {
		err = rollout.WriteStatus(stdout, path, st, deployed)
	}
	if err != nil {
		return fail(stderr, c.Name, err)
	}
	return 0
}
