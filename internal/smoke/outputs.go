package smoke

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/modelrollouts/modelrollouts/stacks"
)

// Source says where the stack outputs come from: a file written by
// `pulumi stack output --json > file`, or the pulumi CLI itself.
type Source struct {
	Stack string // pulumi stack name (run the CLI)
	Cwd   string // pulumi project directory (--cwd); "" is the current one
	File  string // outputs JSON file; wins over Stack
	// Env names an environment variable holding the outputs JSON (how
	// smoke --from-cluster hands them to its Job); wins over File.
	Env string
	// ShowSecrets asks the pulumi CLI for secret outputs too (the
	// kubeconfig, for a run from the cluster).
	ShowSecrets bool
	// Pulumi is the CLI to run; "" means "pulumi" on PATH.
	Pulumi string
}

func (s Source) String() string {
	if s.Env != "" {
		return "$" + s.Env
	}
	if s.File != "" {
		return s.File
	}
	return "stack " + s.Stack
}

// LoadOutputs reads and checks the outputs of a deployed stack. Secrets
// stay hidden: nothing the smoke test needs is secret, and the kubeconfig
// should not end up in CI logs.
func LoadOutputs(ctx context.Context, src Source) (*stacks.Outputs, error) {
	data, err := ReadOutputs(ctx, src)
	if err != nil {
		return nil, err
	}
	o, err := stacks.ParseOutputs(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	return o, nil
}

// ReadOutputs returns the outputs' JSON unchecked, for tools that need
// less of them than the smoke test (the shadow report needs no ingress).
func ReadOutputs(ctx context.Context, src Source) ([]byte, error) {
	switch {
	case src.Env != "":
		v, ok := os.LookupEnv(src.Env)
		if !ok {
			return nil, fmt.Errorf("environment variable %s with the stack outputs is not set", src.Env)
		}
		return []byte(v), nil
	case src.File != "":
		b, err := os.ReadFile(src.File)
		if err != nil {
			return nil, fmt.Errorf("read stack outputs: %w", err)
		}
		return b, nil
	case src.Stack != "":
		return pulumiOutputs(ctx, src)
	}
	return nil, errors.New("no stack outputs: name a stack (--stack) or an outputs file (--outputs)")
}

func pulumiOutputs(ctx context.Context, src Source) ([]byte, error) {
	bin := src.Pulumi
	if bin == "" {
		bin = "pulumi"
	}
	args := []string{"stack", "output", "--json", "--stack", src.Stack, "--non-interactive"}
	if src.ShowSecrets {
		args = append(args, "--show-secrets")
	}
	if src.Cwd != "" {
		args = append(args, "--cwd", src.Cwd)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if errors.Is(err, exec.ErrNotFound) {
			msg = "the pulumi CLI is not on PATH; pass --outputs FILE written by `pulumi stack output --json`"
		}
		return nil, fmt.Errorf("%s %s: %w: %s", bin, strings.Join(args, " "), err, msg)
	}
	return out, nil
}
