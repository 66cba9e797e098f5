package stackoutputs

import (
	"errors"
	"os"
	"path/filepath"
)

// Backend is where the Pulumi CLI looks for stacks, and the passphrase of
// their secrets, as make sets them.
type Backend struct {
	URL string
	// Default: URL is the project's file backend in Dir, because
	// PULUMI_BACKEND_URL is not set.
	Default bool
	Dir     string
	// Passphrase, when set, is the lab's: PULUMI_CONFIG_PASSPHRASE (and
	// its _FILE variant) is not set.
	Passphrase string
}

// ResolveBackend applies hack/lib/pulumi-env.sh's defaults for the
// project in projectDir ("" when no Pulumi.yaml was found).
func ResolveBackend(projectDir string) (*Backend, error) {
	b := &Backend{URL: os.Getenv("PULUMI_BACKEND_URL")}
	if b.URL == "" {
		if projectDir == "" {
			return nil, errors.New("no Pulumi.yaml in the working directory or above it, so no project backend (" + StateDir +
				"): run from the project, pass --cwd DIR, or set PULUMI_BACKEND_URL")
		}
		abs, err := filepath.Abs(projectDir)
		if err != nil {
			return nil, err
		}
		b.Dir = filepath.Join(abs, StateDir)
		b.URL, b.Default = "file://"+b.Dir, true
	}
	// The script keeps an empty passphrase that was set on purpose.
	_, set := os.LookupEnv("PULUMI_CONFIG_PASSPHRASE")
	if !set && os.Getenv("PULUMI_CONFIG_PASSPHRASE_FILE") == "" {
		b.Passphrase = LabPassphrase
	}
	return b, nil
}

// Environ is the CLI's environment: ours with the backend, the
// passphrase and no update check.
func (b *Backend) Environ() []string {
	env := append(os.Environ(), "PULUMI_BACKEND_URL="+b.URL, "PULUMI_SKIP_UPDATE_CHECK=true")
	if b.Passphrase != "" {
		env = append(env, "PULUMI_CONFIG_PASSPHRASE="+b.Passphrase)
	}
	return env
}

// Describe names the backend for a message, and why it is the one.
func (b *Backend) Describe() string {
	if b.Default {
		return "the project's backend " + b.URL + " (as make uses; PULUMI_BACKEND_URL is not set)"
	}
	return "backend " + b.URL + " (PULUMI_BACKEND_URL)"
}
