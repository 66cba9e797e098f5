package stacks

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFindProjectDirWalksUpToPulumiYAML(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := FindProjectDir(deep); err == nil {
		t.Fatal("found a project where there is no Pulumi.yaml")
	}
	if err := os.WriteFile(filepath.Join(root, "Pulumi.yaml"), []byte("name: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := FindProjectDir(deep)
	if err != nil || got != root {
		t.Fatalf("FindProjectDir = %q, %v; want %q", got, err, root)
	}
}
