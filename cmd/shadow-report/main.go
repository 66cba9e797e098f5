// Command shadow-report turns a shadow rollout's payload events into data
// a data scientist can use: it reads the logs of every pod of the primary
// and the shadow (through the Kubernetes API, or saved logs), pairs each
// user request with its mirrored copy by request id and writes
// pairs.jsonl, pairs.parquet, summary.json, report.md and report.html
// with plots. Exit status: 0 done, 1 the agreement gate failed, 2 the
// report could not be made (or a version it was told to read has no
// events). Flags follow package cli.
//
//	bin/shadow-report --stack shadow --out report/
//	bin/shadow-report --outputs outputs.json --logs saved/ --out report/
//	bin/shadow-report --logs saved/ --primary v1 --shadow v2 --mirror-percent 50 --out report/
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/cli"
	"github.com/modelrollouts/modelrollouts/internal/kubeclient"
	"github.com/modelrollouts/modelrollouts/internal/measure"
	"github.com/modelrollouts/modelrollouts/internal/shadow/collect"
	"github.com/modelrollouts/modelrollouts/internal/shadow/join"
	"github.com/modelrollouts/modelrollouts/internal/shadow/pipeline"
	"github.com/modelrollouts/modelrollouts/internal/shadow/report"
	"github.com/modelrollouts/modelrollouts/internal/shadow/stats"
	"github.com/modelrollouts/modelrollouts/stacks"
	"github.com/modelrollouts/modelrollouts/stacks/stackoutputs"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, measure.IsTerminal(os.Stderr))
	stop()
	os.Exit(code)
}

// flags are the command line, parsed.
type flags struct {
	src           stackoutputs.Source
	logs          string
	out           string
	primary       string
	shadow        string
	mirrorPercent optionalFloat
	minAgreement  optionalFloat
	tolerance     float64
	alpha         float64
	confidence    optionalFloat // deprecated: 1 - alpha
	window        time.Duration
	since         time.Duration
	from, to      timeFlag
	context       string
	saveLogs      bool
	progress      bool
	asJSON        bool
}

// Exit statuses, also listed by -h.
const (
	exitDone      = 0
	exitGateFail  = 1
	exitNoReport  = 2
	defaultAlpha  = 0.05
	summaryOfTool = "pair a shadow rollout's mirrored requests with the user requests they copy, from every pod's payload log, and report how the versions compare"
)

func newCommand(f *flags) *cli.Command {
	c := cli.New("shadow-report", summaryOfTool)
	c.Usage = "(--stack NAME [--cwd DIR] | --outputs FILE | --logs DIR --primary V --shadow V) [flags]"
	c.Examples = []string{
		"bin/shadow-report --stack shadow --out report/",
		"bin/shadow-report --stack shadow --out report/ --since 1h --min-agreement 0.95",
		"bin/shadow-report --logs report/logs --primary v1 --shadow v2 --mirror-percent 50 --out again/",
	}
	c.Exit = []cli.ExitCode{
		{Code: exitDone, Meaning: "the report is written"},
		{Code: exitGateFail, Meaning: "the report is written and the agreement gate (--min-agreement) failed"},
		{Code: exitNoReport, Meaning: "no report: bad flags, unreadable outputs or logs, or a version it was told to read has no events"},
	}
	fs := c.Flags
	cli.OutputsFlags(fs, &f.src)
	fs.StringVar(&f.logs, "logs", "", "read saved logs from this directory instead of the cluster (every file; kubectl logs output or CRI log files)")
	fs.StringVar(&f.out, "out", "shadow-report", "directory to write the dataset and the reports to")
	fs.StringVar(&f.primary, "primary", "", "primary version (default: the stack outputs' primary)")
	fs.StringVar(&f.shadow, "shadow", "", "shadow version (default: the stack outputs' shadow)")
	fs.Var(&f.mirrorPercent, "mirror-percent", "configured mirrored share in percent (default: the stack outputs' mirrorPercent)")
	fs.Var(&f.minAgreement, "min-agreement", "gate: exit 1 unless the agreement's confidence interval lies at or above this share (0-1)")
	fs.Float64Var(&f.tolerance, "tolerance", 1e-6, "largest absolute difference of an output element that still agrees")
	fs.Float64Var(&f.alpha, "alpha", defaultAlpha, "error rate of every interval and test: intervals at 1-alpha confidence (0.05: 95%)")
	fs.Var(&f.confidence, "confidence", "confidence level of every interval")
	c.Deprecated("confidence", "alpha (1 - confidence)")
	fs.DurationVar(&f.window, "join-window", join.DefaultWindow, "how long a request waits for its mirrored copy's events")
	fs.DurationVar(&f.since, "since", 0, "only requests of the last DURATION (e.g. 1h)")
	fs.Var(&f.from, "from", "only requests at or after this RFC 3339 time")
	fs.Var(&f.to, "to", "only requests at or before this RFC 3339 time")
	fs.StringVar(&f.context, "context", "", "kubeconfig context (clusters the stack does not export a kubeconfig for)")
	fs.BoolVar(&f.saveLogs, "save-logs", true, "keep a copy of the logs read from the cluster in OUT/logs (re-run with --logs)")
	fs.BoolVar(&f.progress, "progress", true, "show a progress bar on stderr while reading logs")
	fs.BoolVar(&f.asJSON, "json", false, "print the summary (summary.json) on stdout instead of the headline")
	return c
}

// parse parses and checks the command line; done means return code.
func parse(args []string, stdout, stderr io.Writer, tty bool) (f *flags, code int, done bool) {
	f = &flags{}
	c := newCommand(f)
	if code, done := c.Parse(args, stdout, stderr); done {
		return nil, code, true
	}
	var errs []error
	if !f.src.Named() && (f.logs == "" || f.primary == "" || f.shadow == "") {
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
	if f.confidence.set {
		if !(f.confidence.v > 0.5 && f.confidence.v < 1) {
			errs = append(errs, fmt.Errorf("--confidence %v: want a level between 0.5 and 1, e.g. 0.95 (or --alpha 0.05)", f.confidence.v))
		} else if c.Set("alpha") {
			errs = append(errs, errors.New("--alpha and --confidence both set: give --alpha"))
		}
		f.alpha = 1 - f.confidence.v
	}
	if !(f.alpha > 0 && f.alpha < 0.5) {
		errs = append(errs, fmt.Errorf("--alpha %v: want an error rate between 0 and 0.5, e.g. 0.05 (95%% intervals)", f.alpha))
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
	if err := errors.Join(errs...); err != nil {
		return nil, c.UsageError(stderr, err.Error()), true
	}
	f.progress = f.progress && (tty || os.Getenv("CI") != "")
	return f, 0, false
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, tty bool) int {
	return runWriting(ctx, args, stdout, stderr, tty, nil)
}

// runWriting is run with the report files written by writeReport (nil:
// every file; see pipeline.Options.WriteReport).
func runWriting(ctx context.Context, args []string, stdout, stderr io.Writer, tty bool,
	writeReport func(string, *report.Document, *stats.Series) error) int {
	f, code, done := parse(args, stdout, stderr, tty)
	if done {
		return code
	}
	o, err := f.options(ctx, stderr, tty)
	if err != nil {
		fmt.Fprintln(stderr, "shadow-report:", err)
		return exitNoReport
	}
	o.WriteReport = writeReport
	o.EventsByVersion = map[string]int64{}
	doc, err := pipeline.Run(ctx, *o)
	if doc == nil {
		fmt.Fprintln(stderr, "shadow-report:", err)
		return exitNoReport
	}
	if err != nil {
		// Some logs could not be read; the report says which.
		fmt.Fprintln(stderr, "shadow-report: warning:", err)
	}
	if err := f.versionsFound(o); err != nil {
		fmt.Fprintln(stderr, "shadow-report:", err)
		return exitNoReport
	}
	if f.asJSON {
		err = writeJSON(stdout, doc)
	} else {
		_, err = fmt.Fprint(stdout, summaryText(doc, f.out))
	}
	if err != nil {
		fmt.Fprintln(stderr, "shadow-report:", err)
		return exitNoReport
	}
	if g := doc.Agreement.GatePassed; g != nil && !*g {
		return exitGateFail
	}
	return exitDone
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// versionsFound refuses a report on a version the logs hold no event of
// (a typo in --shadow, the wrong stack): the report would say "0 compared
// pairs" and exit 0. It names the versions the logs do hold.
func (f *flags) versionsFound(o *pipeline.Options) error {
	var missing []string
	for _, v := range []struct{ role, name, flag string }{
		{"primary", o.Stats.Primary, "--primary"}, {"shadow", o.Stats.Shadow, "--shadow"},
	} {
		if o.EventsByVersion[v.name] > 0 {
			continue
		}
		from := v.flag
		if (v.role == "primary" && f.primary == "") || (v.role == "shadow" && f.shadow == "") {
			from = "the stack output " + v.role
		}
		missing = append(missing, fmt.Sprintf("the %s %q (%s)", v.role, v.name, from))
	}
	if len(missing) == 0 {
		return nil
	}
	found := "no payload events at all (is the stack's payloadLog on, and did requests arrive?)"
	if len(o.EventsByVersion) > 0 {
		var names []string
		for name := range o.EventsByVersion {
			names = append(names, name)
		}
		sort.Strings(names)
		for i, name := range names {
			names[i] = fmt.Sprintf("%s (%d events)", name, o.EventsByVersion[name])
		}
		found = "events of " + strings.Join(names, ", ")
	}
	return fmt.Errorf("no events of %s in %s; they hold %s", strings.Join(missing, " or "), o.Source, found)
}

// options resolves what to read and how to judge it.
func (f *flags) options(ctx context.Context, stderr io.Writer, tty bool) (*pipeline.Options, error) {
	o := &pipeline.Options{
		OutDir: f.out,
		Window: f.window,
		Stats: stats.Options{
			Primary: f.primary, Shadow: f.shadow, Tolerance: f.tolerance, Confidence: 1 - f.alpha,
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
	if f.src.Named() {
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

	// The kubeconfig output is a secret: asked for on purpose, into
	// memory; an existing cluster is reached as the program reached it,
	// by the stack file's cluster.kubeconfig and cluster.context.
	cluster, err := stackoutputs.ClusterAccess(ctx, f.src, outputs)
	if err != nil {
		return nil, err
	}
	kubeContext := cluster.Context
	if f.context != "" {
		kubeContext = f.context
	}
	client, err := kubeclient.New(kubeclient.Source{Kubeconfig: cluster.Kubeconfig, Path: cluster.Path, Context: kubeContext})
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
// the namespace and the versions (the mirror share when there). Unlike
// the smoke test it needs no ingress address: a LoadBalancer still
// pending does not stop it.
func loadOutputs(ctx context.Context, src stackoutputs.Source) (*stacks.Outputs, error) {
	o, err := stackoutputs.Decode(ctx, src)
	if err != nil {
		return nil, err
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
	return o, nil
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
