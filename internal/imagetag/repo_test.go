package imagetag

import (
	"os"
	"path/filepath"
	"testing"
)

// The repository's own .dockerignore: the model's tests and docs are not
// image inputs, its code is.
func TestRepositoryContextHashesOnlyTheModelImageInputs(t *testing.T) {
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ignore, err := os.ReadFile(filepath.Join(repo, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	// Rebuild a small copy with the same .dockerignore and layout.
	dir := t.TempDir()
	write(t, dir, ".dockerignore", string(ignore))
	write(t, dir, "go.mod", "module x")
	write(t, dir, "go.sum", "")
	write(t, dir, "model-echo/main.go", "package main")
	write(t, dir, "model-echo/server/server.go", "package server")
	first := tag(t, dir)
	for _, name := range []string{"model-echo/server/server_test.go", "model-echo/README.md", "infra/program.go", "Pulumi.dev.yaml"} {
		write(t, dir, name, "x")
		if tag(t, dir) != first {
			t.Errorf("%s changed the model image tag", name)
		}
	}
	write(t, dir, "model-echo/server/server.go", "package server // changed")
	if tag(t, dir) == first {
		t.Error("a change to the model's code kept the tag")
	}
}
