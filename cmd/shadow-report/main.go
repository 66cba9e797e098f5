// Command shadow-report turns a shadow rollout's payload events into data
// a data scientist can use: it reads the logs of every pod of the primary
// and the shadow (through the Kubernetes API, or saved logs), pairs each
// user request with its mirrored copy by request id and writes
// pairs.jsonl, pairs.parquet, summary.json, report.md and report.html
// with plots. Exit status: 0 done, 1 the agreement gate failed, 2 the
// report could not be made.
//
//	go run ./cmd/shadow-report --stack shadow --out report/
//	go run ./cmd/shadow-report --outputs outputs.json --logs saved/ --out report/
//	go run ./cmd/shadow-report --logs saved/ --primary v1 --shadow v2 --mirror-percent 50 --out report/
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/kubeclient"
	"github.com/modelrollouts/modelrollouts/internal/measure"
	"github.com/modelrollouts/modelrollouts/internal/shadow/collect"
	"github.com/modelrollouts/modelrollouts/internal/shadow/join"
	"github.com/modelrollouts/modelrollouts/internal/shadow/pipeline"
	"github.com/modelrollouts/modelrollouts/internal/shadow/report"
	"github.com/modelrollouts/modelrollouts/internal/shadow/stats"
	"github.com/modelrollouts/modelrollouts/internal/smoke"
	"github.com/modelrollouts/modelrollouts/stacks"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, measure.IsTerminal(os.Stderr))
	stop()
	os.Exit(code)
}

// flags are the command line, parsed.
type flags struct {
	src           smoke.Source
	logs          string
	out           string
	primary       string
	shadow        string
	mirrorPercent optionalFloat
	minAgreement  optionalFloat
	tolerance     float64
	confidence    float64
	window        time.Duration
	since         time.Duration
	from, to      timeFlag
	context       string
	saveLogs      bool
	progress      bool
}

func parse(args []string, stderr io.Writer, tty bool) (*flags, error) {
	fs := flag.NewFlagSet("shadow-report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &flags{}
	fs.StringVar(&f.src.Stack, "stack", "", "pulumi stack whose outputs say what to read (runs: pulumi stack output)")
	fs.StringVar(&f.src.Cwd, "cwd", "", "pulumi project directory for --stack")
	fs.StringVar(&f.src.File, "outputs", "", "stack outputs JSON file (pulumi stack output --json [--show-secrets] > FILE)")
	fs.StringVar(&f.logs, "logs", "", "read saved logs from this directory instead of the cluster (every file; kubectl logs output or CRI log files)")
	fs.StringVar(&f.out, "out", "shadow-report", "directory to write the dataset and the reports to")
	fs.StringVar(&f.primary, "primary", "", "primary version (default: the stack outputs' primary)")
	fs.StringVar(&f.shadow, "shadow", "", "shadow version (default: the stack outputs' shadow)")
	fs.Var(&f.mirrorPercent, "mirror-percent", "configured mirrored share in percent (default: the stack outputs' mirrorPercent)")
	fs.Var(&f.minAgreement, "min-agreement", "gate: exit 1 unless the agreement's confidence interval lies at or above this share (0-1)")
	fs.Float64Var(&f.tolerance, "tolerance", 1e-6, "largest absolute difference of an output element that still agrees")
	fs.Float64Var(&f.confidence, "confidence", 0.95, "confidence level of every interval")
	fs.DurationVar(&f.window, "join-window", join.DefaultWindow, "how long a request waits for its mirrored copy's events")
	fs.DurationVar(&f.since, "since", 0, "only requests of the last DURATION (e.g. 1h)")
	fs.Var(&f.from, "from", "only requests at or after this RFC 3339 time")
	fs.Var(&f.to, "to", "only requests at or before this RFC 3339 time")
	fs.StringVar(&f.context, "context", "", "kubeconfig context (clusters the stack does not export a kubeconfig for)")
	fs.BoolVar(&f.saveLogs, "save-logs", true, "keep a copy of the logs read from the cluster in OUT/logs (re-run with --logs)")
	fs.BoolVar(&f.progress, "progress", true, "show a progress bar on stderr while reading logs")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: shadow-report (--stack NAME [--cwd DIR] | --outputs FILE | --logs DIR --primary V --shadow V) [flags]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var errs []error
	if f.src.Stack == "" && f.src.File == "" && (f.logs == "" || f.primary == "" || f.shadow == "") {
		errs = append(errs, errors.New("name a stack (--stack), an outputs file (--outputs), or saved logs with their versions (--logs DIR --primary V --shadow V)"))
	}
	if f.minAgreement.set && !(f.minAgreement.v >= 0 && f.minAgreement.v <= 1) {
		errs = append(errs, fmt.Errorf("--min-agreement %v: want a share between 0 and 1", f.minAgreement.v))
	}
	if f.mirrorPercent.set && !(f.mirrorPercent.v >= 0 && f.mirrorPercent.v <= 100) {
		errs = append(errs, fmt.Errorf("--mirror-percent %v: want 0 to 100", f.mirrorPercent.v))
	}
	if !(f.tolerance >= 0) {
		errs = append(errs, fmt.Errorf("--tolerance %v: want 0 or more", f.tolerance))
	}
	if !(f.confidence > 0.5 && f.confidence < 1) {
		errs = append(errs, fmt.Errorf("--confidence %v: want a level between 0.5 and 1, e.g. 0.95", f.confidence))
	}
	if f.window <= 0 {
		errs = append(errs, fmt.Errorf("--join-window %v: want a positive duration", f.window))
	}
	if f.since < 0 {
		errs = append(errs, fmt.Errorf("--since %v: want a positive duration", f.since))
	}
	if f.since > 0 && f.from.set {
		errs = append(errs, errors.New("--since and --from both set: give one"))
	}
	if f.from.set && f.to.set && f.to.t.Before(f.from.t) {
		errs = append(errs, fmt.Errorf("--to %s is before --from %s", f.to.t.Format(time.RFC3339), f.from.t.Format(time.RFC3339)))
	}
	f.progress = f.progress && (tty || os.Getenv("CI") != "")
	return f, errors.Join(errs...)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, tty bool) int {
	return runWriting(ctx, args, stdout, stderr, tty, nil)
}

// runWriting is run with the report files written by writeReport (nil:
// every file; see pipeline.Options.WriteReport).
func runWriting(ctx context.Context, args []string, stdout, stderr io.Writer, tty bool,
	writeReport func(string, *report.Document, *stats.Series) error) int {
	f, err := parse(args, stderr, tty)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "shadow-report:", err)
		return 2
	}
	o, err := f.options(ctx, stderr, tty)
	if err != nil {
		fmt.Fprintln(stderr, "shadow-report:", err)
		return 2
	}
	o.WriteReport = writeReport
	doc, err := pipeline.Run(ctx, *o)
	if doc == nil {
		fmt.Fprintln(stderr, "shadow-report:", err)
		return 2
	}
	if err != nil {
		// Some logs could not be read; the report says which.
		fmt.Fprintln(stderr, "shadow-report: warning:", err)
	}
	fmt.Fprint(stdout, summaryText(doc, f.out))
	if g := doc.Agreement.GatePassed; g != nil && !*g {
		return 1
	}
	return 0
}

// options resolves what to read and how to judge it.
func (f *flags) options(ctx context.Context, stderr io.Writer, tty bool) (*pipeline.Options, error) {
	o := &pipeline.Options{
		OutDir: f.out,
		Window: f.window,
		Stats: stats.Options{
			Primary: f.primary, Shadow: f.shadow, Tolerance: f.tolerance, Confidence: f.confidence,
		},
	}
	if f.mirrorPercent.set {
		o.Stats.MirrorPercent = &f.mirrorPercent.v
	}
	if f.minAgreement.set {
		o.Stats.MinAgreement = &f.minAgreement.v
	}
	if f.since > 0 {
		o.From = time.Now().Add(-f.since)
	}
	if f.from.set {
		o.From = f.from.t
	}
	if f.to.set {
		o.To = f.to.t
	}
	if f.progress {
		o.Progress = pipeline.NewProgress(stderr, tty)
	}

	var outputs *stacks.Outputs
	if f.src.Stack != "" || f.src.File != "" {
		var err error
		if outputs, err = loadOutputs(ctx, f.src); err != nil {
			return nil, err
		}
		if o.Stats.Primary == "" {
			o.Stats.Primary = outputs.Primary
		}
		if o.Stats.Shadow == "" {
			o.Stats.Shadow = outputs.Shadow
		}
		if o.Stats.MirrorPercent == nil {
			o.Stats.MirrorPercent = outputs.MirrorPercent
		}
	}
	if o.Stats.Primary == o.Stats.Shadow {
		return nil, fmt.Errorf("primary and shadow are both %q", o.Stats.Primary)
	}

	if f.logs != "" {
		logs, err := collect.FromDir(f.logs)
		if err != nil {
			return nil, err
		}
		o.Logs, o.Source = logs, "logs in "+f.logs
		return o, nil
	}

	src := kubeclient.Source{Context: f.context}
	if outputs.Kubeconfig != "" && outputs.Kubeconfig != "[secret]" {
		src.Kubeconfig = outputs.Kubeconfig
	} else if f.src.Stack != "" {
		kc, err := stackKubeconfig(ctx, f.src)
		if err != nil {
			return nil, err
		}
		src.Kubeconfig = kc
	}
	client, err := kubeclient.New(src)
	if err != nil {
		return nil, err
	}
	logs, pods, err := collect.FromCluster(ctx, client, collect.ClusterOptions{
		Namespace: outputs.Namespace,
		Versions:  []string{o.Stats.Primary, o.Stats.Shadow},
		Since:     o.From,
	})
	if err != nil {
		return nil, err
	}
	o.Logs, o.Pods, o.Source = logs, pods, f.src.String()+", namespace "+outputs.Namespace
	if f.saveLogs {
		o.SaveLogs = filepath.Join(f.out, "logs")
	}
	return o, nil
}

// loadOutputs reads the stack outputs the report needs: the strategy,
// the namespace and the versions (the mirror share and the kubeconfig
// when there). Unlike the smoke test it needs no ingress address: a
// LoadBalancer still pending does not stop it.
func loadOutputs(ctx context.Context, src smoke.Source) (*stacks.Outputs, error) {
	data, err := smoke.ReadOutputs(ctx, src)
	if err != nil {
		return nil, err
	}
	var o stacks.Outputs
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, fmt.Errorf("%s: decode stack outputs: %w", src, err)
	}
	var errs []error
	if o.Strategy != stacks.StrategyShadow {
		errs = append(errs, fmt.Errorf("stack output %s is %q; the shadow report needs a shadow stack", stacks.OutputStrategy, o.Strategy))
	}
	if o.Namespace == "" {
		errs = append(errs, fmt.Errorf("stack output %s is empty", stacks.OutputNamespace))
	}
	if o.Strategy == stacks.StrategyShadow && (o.Primary == "" || o.Shadow == "") {
		errs = append(errs, fmt.Errorf("stack outputs %s and %s name no versions", stacks.OutputPrimary, stacks.OutputShadow))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	return &o, nil
}

// stackKubeconfig reads the stack's kubeconfig output (kind stacks), a
// secret, without printing it; "" when the stack has none (existing
// clusters use the ambient kubeconfig).
func stackKubeconfig(ctx context.Context, src smoke.Source) (string, error) {
	bin := src.Pulumi
	if bin == "" {
		bin = "pulumi"
	}
	args := []string{"stack", "output", stacks.OutputKubeconfig, "--show-secrets", "--stack", src.Stack, "--non-interactive"}
	if src.Cwd != "" {
		args = append(args, "--cwd", src.Cwd)
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if strings.Contains(stderr.String(), "not found") {
			return "", nil
		}
		return "", fmt.Errorf("%s stack output %s: %w: %s", bin, stacks.OutputKubeconfig, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// summaryText is what the command prints: the headline and the files.
func summaryText(d *report.Document, out string) string {
	var b strings.Builder
	md := report.Markdown(d)
	// The headline bullets, then where everything is.
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "- ") {
			b.WriteString(line + "\n")
		}
	}
	fmt.Fprintf(&b, "Wrote %s: %s, %s, %s, %s, %s.\n", out, d.Files.Pairs, d.Files.Parquet,
		report.SummaryFile, report.MarkdownFile, report.HTMLFile)
	return b.String()
}

type optionalFloat struct {
	v   float64
	set bool
}

func (o *optionalFloat) String() string {
	if !o.set {
		return ""
	}
	return strconv.FormatFloat(o.v, 'g', -1, 64)
}

func (o *optionalFloat) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("%q is not a number", s)
	}
	o.v, o.set = v, true
	return nil
}

type timeFlag struct {
	t   time.Time
	set bool
}

func (t *timeFlag) String() string {
	if !t.set {
		return ""
	}
	return t.t.Format(time.RFC3339)
}

func (t *timeFlag) Set(s string) error {
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("%q is not an RFC 3339 time (e.g. 2026-01-02T15:04:05Z)", s)
	}
	t.t, t.set = v, true
	return nil
}
