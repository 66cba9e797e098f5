package imagetag

import (
	"os"
	"path/filepath"
	"testing"
)

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTagChangesExactlyWithTheSources(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "go.mod", "module x")
	write(t, dir, "app/main.go", "package main")
	write(t, dir, "docs/readme.md", "not part of the image")

	first, err := FromSources(dir, "go.mod", "app")
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 12 {
		t.Fatalf("tag %q: want 12 hex digits", first)
	}
	again, _ := FromSources(dir, "app", "go.mod")
	if again != first {
		t.Errorf("same sources in another order gave %q, want %q", again, first)
	}

	write(t, dir, "docs/readme.md", "edited")
	if got, _ := FromSources(dir, "go.mod", "app"); got != first {
		t.Errorf("a file outside the sources changed the tag: %q != %q", got, first)
	}

	write(t, dir, "app/main.go", "package main // edited")
	if got, _ := FromSources(dir, "go.mod", "app"); got == first {
		t.Error("editing a source kept the tag")
	}

	// Moving content between files must change the tag too.
	write(t, dir, "app/main.go", "package main")
	write(t, dir, "app/b.go", "")
	if got, _ := FromSources(dir, "go.mod", "app"); got == first {
		t.Error("adding a file kept the tag")
	}
}

func TestMissingSourceIsAnError(t *testing.T) {
	if _, err := FromSources(t.TempDir(), "nope"); err == nil {
		t.Fatal("want an error for a missing source")
	}
}
