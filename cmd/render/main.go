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

	"github.com/modelrollouts/modelrollouts/internal/render"
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
	projectDir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	rec, err := render.Stack(filepath.Join(projectDir, "Pulumi."+stack+".yaml"), projectDir)
	if err != nil {
		return err
	}
	out, err := render.YAML(rec.Resources(), projectDir)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(out)
	return err
}
