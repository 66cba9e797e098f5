// Command render prints every Kubernetes object the program would register
// for a stack, computed with mocks from Pulumi.<stack>.yaml, so a config
// change can be reviewed and diffed without a cluster:
//
//	go run ./cmd/render --stack dev
//
// An invalid config exits 1 with every validation error. Flags follow
// package cli: its own FlagSet, so the flags the Pulumi SDK's glog
// registers on the global one never show.
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/modelrollouts/modelrollouts/infra"
	"github.com/modelrollouts/modelrollouts/internal/cli"
	"github.com/modelrollouts/modelrollouts/internal/render"
	"github.com/modelrollouts/modelrollouts/stacks"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	c := cli.New("render", "print every Kubernetes object the program would register for a stack, as YAML, without a cluster")
	c.Usage = "[--stack NAME] [--dir DIR]"
	c.Examples = []string{
		"make render STACK=dev",
		"go run ./cmd/render --stack shadow > shadow.yaml",
	}
	c.Exit = []cli.ExitCode{
		{Code: 0, Meaning: "the objects are printed"},
		{Code: 1, Meaning: "the stack file is missing or invalid (every validation error is printed)"},
		{Code: cli.ExitUsage, Meaning: "bad flags"},
	}
	stack := c.Flags.String("stack", "dev", "stack whose Pulumi.<stack>.yaml to render")
	dir := c.Flags.String("dir", ".", "project folder (where Pulumi.yaml is)")
	if code, done := c.Parse(args, stdout, stderr); done {
		return code
	}
	if err := renderTo(stdout, *stack, *dir); err != nil {
		fmt.Fprintln(stderr, "render:", err)
		return 1
	}
	return 0
}

func renderTo(w io.Writer, stack, dir string) error {
	out, err := renderStack(stack, dir)
	if err != nil {
		return err
	}
	_, err = w.Write(out)
	return err
}

// renderStack is the YAML of every object the stack's config registers.
func renderStack(stack, dir string) ([]byte, error) {
	projectDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	rec, err := render.Stack(filepath.Join(projectDir, "Pulumi."+stack+".yaml"), program(projectDir))
	if err != nil {
		return nil, err
	}
	return render.YAML(rec.Resources(), projectDir)
}

// program is the real program, without a cluster to read from.
func program(projectDir string) render.Program {
	return func(ctx *pulumi.Context, cfg *stacks.Config) error {
		_, err := infra.Deploy(ctx, cfg, projectDir)
		return err
	}
}
