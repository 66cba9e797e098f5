// Command review prints the review of a change to the stacks from what
// hack/make-rules/review.sh gathered (both sides' stack files, renders,
// diffs and optional previews): `make review` runs it. Exit status: 0 the
// review is printed, 1 a stack is invalid after the change (the review is
// printed too, with the errors), 2 the review could not be made. Flags
// follow package cli.
//
//	make review                    # text, against origin/main (else main)
//	make review FORMAT=markdown    # the PR comment .github/workflows/review.yml posts
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/modelrollouts/modelrollouts/internal/cli"
	"github.com/modelrollouts/modelrollouts/internal/review"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	c := cli.New("review", "print the review of a change to the stacks: each stack's versions, percents, mirror, smoke plan, preview and diff, before and after")
	c.Usage = "--base DIR --renders DIR [--head DIR] [--previews DIR] [--format text|markdown | --json]"
	c.Notes = "Run it through `make review [BASE=ref] [FORMAT=markdown]`, which gathers its inputs."
	c.Examples = []string{
		"make review",
		"make review BASE=origin/main FORMAT=markdown",
	}
	c.Exit = []cli.ExitCode{
		{Code: 0, Meaning: "the review is printed"},
		{Code: 1, Meaning: "a stack is invalid after the change (the review is printed too, with the errors)"},
		{Code: cli.ExitUsage, Meaning: "no review could be made (bad flags, unreadable inputs)"},
	}
	fs := c.Flags
	var in review.Input
	format := fs.String("format", "text", "text (a terminal) or markdown (the PR comment)")
	asJSON := fs.Bool("json", false, "print the review as JSON")
	fs.StringVar(&in.BaseLabel, "base-label", "main", "the base as the user named it")
	fs.StringVar(&in.BaseDir, "base", "", "checkout of the base")
	fs.StringVar(&in.HeadDir, "head", ".", "checkout of the change")
	fs.StringVar(&in.RendersDir, "renders", "", "renders, errors and diffs per stack (written by hack/make-rules/review.sh)")
	fs.StringVar(&in.PreviewsDir, "previews", "", "pulumi preview --json results per stack, if any")
	if code, done := c.Parse(args, stdout, stderr); done {
		return code
	}
	if in.BaseDir == "" || in.RendersDir == "" {
		return c.UsageError(stderr, "--base and --renders are required (run `make review`)")
	}
	if *format != "text" && *format != "markdown" {
		return c.UsageError(stderr, fmt.Sprintf("--format %q: want text or markdown", *format))
	}
	r, err := review.Build(in)
	if err != nil {
		fmt.Fprintln(stderr, "review:", err)
		return 2
	}
	switch {
	case *asJSON:
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(r)
	case *format == "markdown":
		err = r.Markdown(stdout)
	default:
		err = r.Text(stdout)
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
