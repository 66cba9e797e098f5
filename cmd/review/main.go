// Command review prints the review of a change to the stacks from what
// hack/make-rules/review.sh gathered (both sides' stack files, renders,
// diffs and optional previews): `make review` runs it. Exit status: 0 the
// review is printed, 1 a stack is invalid after the change (the review is
// printed too, with the errors), 2 the review could not be made.
//
//	make review                    # text, against origin/main (else main)
//	make review FORMAT=markdown    # the PR comment .github/workflows/review.yml posts
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/modelrollouts/modelrollouts/internal/review"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("review", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var in review.Input
	format := fs.String("format", "text", "text (a terminal) or markdown (the PR comment)")
	fs.StringVar(&in.BaseLabel, "base-label", "main", "the base as the user named it")
	fs.StringVar(&in.BaseDir, "base", "", "checkout of the base")
	fs.StringVar(&in.HeadDir, "head", ".", "checkout of the change")
	fs.StringVar(&in.RendersDir, "renders", "", "renders, errors and diffs per stack (written by hack/make-rules/review.sh)")
	fs.StringVar(&in.PreviewsDir, "previews", "", "pulumi preview --json results per stack, if any")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: review --base DIR --renders DIR [--head DIR] [--previews DIR] [--format text|markdown]")
		fmt.Fprintln(stderr, "Run it through `make review [BASE=ref] [FORMAT=markdown]`, which gathers its inputs.")
		fmt.Fprintln(stderr, "Exit status: 0 printed, 1 a stack is invalid after the change, 2 no review could be made.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if in.BaseDir == "" || in.RendersDir == "" {
		fmt.Fprintln(stderr, "review: --base and --renders are required (run `make review`)")
		return 2
	}
	r, err := review.Build(in)
	if err != nil {
		fmt.Fprintln(stderr, "review:", err)
		return 2
	}
	switch *format {
	case "markdown":
		err = r.Markdown(stdout)
	case "text":
		err = r.Text(stdout)
	default:
		fmt.Fprintf(stderr, "review: --format %q: want text or markdown\n", *format)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "review:", err)
		return 2
	}
	if r.Failed() {
		return 1
	}
	return 0
}
