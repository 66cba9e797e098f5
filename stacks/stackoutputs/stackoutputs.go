// Package stackoutputs reads a deployed stack's outputs (stacks.Outputs)
// for the tools: from the Pulumi CLI (`pulumi stack output --json`), a
// file it wrote, or an environment variable.
//
// `--stack NAME` in every tool looks where `make up` wrote the stack: the
// project's file backend (.pulumi-state) with the lab's passphrase,
// unless PULUMI_BACKEND_URL / PULUMI_CONFIG_PASSPHRASE say otherwise, the
// same defaults as hack/lib/pulumi-env.sh.
//
// Secrets stay secret: outputs are read without --show-secrets, and the
// "[secret]" the CLI prints in place of the kubeconfig means "no
// kubeconfig here". A tool that needs the kubeconfig asks for it on
// purpose (Kubeconfig), into memory.
package stackoutputs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/modelrollouts/modelrollouts/stacks"
)

// Defaults of hack/lib/pulumi-env.sh, which make sources.
const (
	// StateDir is the project's file backend, relative to Pulumi.yaml.
	StateDir = ".pulumi-state"
	// LabPassphrase encrypts the lab stacks' secrets (the kind kubeconfig).
	LabPassphrase = "modelrollouts-lab"
)

// Source says where the stack outputs come from.
type Source struct {
	Stack string // pulumi stack name (runs the CLI)
	Cwd   string // pulumi project directory; "" finds Pulumi.yaml above the working directory
	File  string // outputs JSON file (`pulumi stack output --json > FILE`); wins over Stack
	// Env names an environment variable holding the outputs JSON (how
	// smoke --from-cluster hands them to its Job); wins over File.
	Env string
	// Pulumi is the CLI to run; "" means "pulumi" on PATH, else
	// ~/.pulumi/bin/pulumi where the installer puts it.
	Pulumi string
}

func (s Source) String() string {
	switch {
	case s.Env != "":
		return "$" + s.Env
	case s.File != "":
		return s.File
	}
	return "stack " + s.Stack
}

// Named reports whether the source names anything to read.
func (s Source) Named() bool { return s.Stack != "" || s.File != "" || s.Env != "" }

// Load reads the outputs and checks that they describe a deployment a
// smoke test or the gate can reach.
func Load(ctx context.Context, src Source) (*stacks.Outputs, error) {
	data, err := Read(ctx, src)
	if err != nil {
		return nil, err
	}
	o, err := stacks.ParseOutputs(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	hideSecretPlaceholders(o)
	return o, nil
}

// Decode reads the outputs unchecked, for a tool that needs less of them
// than the smoke test (the shadow report needs no ingress address).
func Decode(ctx context.Context, src Source) (*stacks.Outputs, error) {
	data, err := Read(ctx, src)
	if err != nil {
		return nil, err
	}
	var o stacks.Outputs
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, fmt.Errorf("%s: decode stack outputs: %w", src, err)
	}
	hideSecretPlaceholders(&o)
	return &o, nil
}

// hideSecretPlaceholders drops what the CLI prints for a secret it was
// not asked to show: "[secret]" is no kubeconfig.
func hideSecretPlaceholders(o *stacks.Outputs) {
	if o.Kubeconfig == stacks.SecretPlaceholder {
		o.Kubeconfig = ""
	}
}

// Read returns the outputs' JSON as the source holds it.
func Read(ctx context.Context, src Source) ([]byte, error) {
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
		return src.run(ctx, "--json")
	}
	return nil, errors.New("no stack outputs: name a stack (--stack) or an outputs file (--outputs)")
}

// Kubeconfig returns the kubeconfig the outputs carry, else, for a named
// stack, asks the CLI for the secret kubeconfig output on purpose (kind
// stacks export one), never printing it. "" means the stack has none
// here: an existing cluster, or outputs saved without --show-secrets;
// the caller uses the ambient kubeconfig or goes through the ingress.
func Kubeconfig(ctx context.Context, src Source, o *stacks.Outputs) (string, error) {
	if o != nil && o.Kubeconfig != "" && o.Kubeconfig != stacks.SecretPlaceholder {
		return o.Kubeconfig, nil
	}
	if src.Env != "" || src.File != "" || src.Stack == "" {
		return "", nil
	}
	out, err := src.run(ctx, stacks.OutputKubeconfig, "--show-secrets")
	if errors.Is(err, errNoSuchOutput) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	kc := strings.TrimSpace(string(out))
	if kc == stacks.SecretPlaceholder {
		return "", nil
	}
	return kc, nil
}

// Cluster is how a tool reaches a stack's cluster through its API, the
// way the program did: Kubeconfig is a kubeconfig's text (a kind stack's
// secret output); else Path and Context are the stack file's
// cluster.kubeconfig and cluster.context (an existing cluster); all empty
// means the ambient kubeconfig ($KUBECONFIG or ~/.kube/config).
type Cluster struct {
	Kubeconfig, Path, Context string
}

// ClusterAccess returns how to reach the stack's cluster: the kubeconfig
// output (Kubeconfig), else, for a named stack, the cluster block of its
// Pulumi.<stack>.yaml, which `make up` reached the cluster with.
func ClusterAccess(ctx context.Context, src Source, o *stacks.Outputs) (Cluster, error) {
	kc, err := Kubeconfig(ctx, src, o)
	if err != nil || kc != "" || src.Stack == "" || src.Env != "" || src.File != "" {
		return Cluster{Kubeconfig: kc}, err
	}
	dir := src.Cwd
	if dir == "" {
		if dir, err = stacks.FindProjectDir("."); err != nil {
			return Cluster{}, nil
		}
	}
	file := filepath.Join(dir, "Pulumi."+src.Stack+".yaml")
	cfg, err := stacks.LoadFile(file)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return Cluster{}, nil
		}
		return Cluster{}, fmt.Errorf("the cluster of stack %s: %w", src.Stack, err)
	}
	c := Cluster{Path: cfg.Cluster.Kubeconfig, Context: cfg.Cluster.Context}
	if c.Path != "" && !filepath.IsAbs(c.Path) {
		c.Path = filepath.Join(dir, c.Path)
	}
	return c, nil
}

var errNoSuchOutput = errors.New("no such output")

// run runs `pulumi stack output ARGS --stack NAME --non-interactive` with
// the project's backend defaults and returns its stdout. Its stderr goes
// into the error only: nothing the CLI prints reaches the user's terminal.
func (s Source) run(ctx context.Context, args ...string) ([]byte, error) {
	env, err := s.Backend()
	if err != nil {
		return nil, err
	}
	if env.Default && !isDir(env.Dir) {
		return nil, fmt.Errorf("no stack %q in %s: the folder does not exist yet; deploy it first (`make up STACK=%s`), or point PULUMI_BACKEND_URL at the backend that holds it",
			s.Stack, env.Describe(), s.Stack)
	}
	bin := s.pulumi()
	args = append([]string{"stack", "output"}, args...)
	args = append(args, "--stack", s.Stack, "--non-interactive")
	if s.Cwd != "" {
		args = append(args, "--cwd", s.Cwd)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env.Environ()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err == nil {
		return out, nil
	}
	msg := strings.TrimSpace(stderr.String())
	switch {
	case errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("the pulumi CLI is not on PATH (nor in ~/.pulumi/bin): install it, or pass --outputs FILE written by `pulumi stack output --json`")
	case strings.Contains(msg, "no stack named") || strings.Contains(msg, "stack not found") || (strings.Contains(msg, "stack") && strings.Contains(msg, "does not exist")):
		return nil, fmt.Errorf("no stack %q in %s: deploy it first (`make up STACK=%s`), or point PULUMI_BACKEND_URL at the backend that holds it (pulumi: %s)",
			s.Stack, env.Describe(), s.Stack, msg)
	case strings.Contains(msg, "current stack does not have output property") || strings.Contains(msg, "does not have output property"):
		return nil, errNoSuchOutput
	}
	return nil, fmt.Errorf("%s stack output (stack %s, %s): %w: %s", bin, s.Stack, env.Describe(), err, msg)
}

// pulumi is the CLI to run.
func (s Source) pulumi() string {
	if s.Pulumi != "" {
		return s.Pulumi
	}
	if _, err := exec.LookPath("pulumi"); err == nil {
		return "pulumi"
	}
	if home, err := os.UserHomeDir(); err == nil {
		if p := filepath.Join(home, ".pulumi", "bin", "pulumi"); isExecutable(p) {
			return p
		}
	}
	return "pulumi"
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// Backend is where the CLI looks for this source's stack.
func (s Source) Backend() (*Backend, error) {
	dir := s.Cwd
	if dir == "" {
		var err error
		if dir, err = stacks.FindProjectDir("."); err != nil {
			dir = ""
		}
	}
	return ResolveBackend(dir)
}
