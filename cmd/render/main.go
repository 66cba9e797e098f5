// Command render prints every Kubernetes object the program would register
// for a stack, computed with mocks from Pulumi.<stack>.yaml, so a config
// change can be reviewed and diffed without a cluster:
//
//	go run ./cmd/render --stack dev
//
// An invalid config exits 1 with every validation error.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/modelrollouts/modelrollouts/infra"
	"github.com/modelrollouts/modelrollouts/internal/render"
	"github.com/modelrollouts/modelrollouts/stacks"
)

func main() {
	stack := flag.String("stack", "dev", "stack whose Pulumi.<stack>.yaml to render")
	dir := flag.String("dir", ".", "project folder (where Pulumi.yaml is)")
	flag.Parse()
	if err := run(*stack, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}

func run(stack, dir string) error {
	out, err := renderStack(stack, dir)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(out)
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
