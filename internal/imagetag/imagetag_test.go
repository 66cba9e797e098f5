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

func tag(t *testing.T, dir string) string {
	t.Helper()
	got, err := FromContext(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 12 {
		t.Fatalf("tag %q: want 12 hex digits", got)
	}
	return got
}

// A context like the repository's: only go.mod, go.sum and the app, less
// its tests, reach the build.
func newContext(t *testing.T) string {
	dir := t.TempDir()
	write(t, dir, ".dockerignore", "*\n!go.mod\n!go.sum\n!app/\napp/**/*_test.go\n")
	write(t, dir, "go.mod", "module x")
	write(t, dir, "go.sum", "")
	write(t, dir, "app/main.go", "package main")
	write(t, dir, "app/main_test.go", "package main")
	write(t, dir, "docs/readme.md", "not part of the image")
	return dir
}

func TestTagChangesExactlyWithWhatTheBuildSends(t *testing.T) {
	dir := newContext(t)
	first := tag(t, dir)
	if again := tag(t, dir); again != first {
		t.Fatalf("two hashes of one context differ: %q %q", first, again)
	}
	for name, edit := range map[string]string{
		"docs/readme.md":    "edited",
		"app/main_test.go":  "package main // edited",
		".pulumi-state/x":   "state written during up",
		"stacks/config.yml": "another part of the repo",
	} {
		write(t, dir, name, edit)
		if got := tag(t, dir); got != first {
			t.Errorf("editing %s, which the build does not send, changed the tag", name)
		}
	}
	write(t, dir, "app/main.go", "package main // edited")
	if tag(t, dir) == first {
		t.Error("editing a file the build sends kept the tag")
	}
}

func TestAddingASentFileChangesTheTag(t *testing.T) {
	dir := newContext(t)
	first := tag(t, dir)
	write(t, dir, "app/util.go", "")
	if tag(t, dir) == first {
		t.Error("adding a file kept the tag")
	}
}

func TestWithoutDockerignoreEveryFileCounts(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a", "1")
	first := tag(t, dir)
	write(t, dir, "sub/b", "2")
	if tag(t, dir) == first {
		t.Error("a new file changed nothing without a .dockerignore")
	}
}

func TestMissingContextIsAnError(t *testing.T) {
	if _, err := FromContext(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Fatal("want an error for a missing context")
	}
}

func TestADockerfilesOwnIgnoreFileReplacesTheContexts(t *testing.T) {
	dir := newContext(t)
	write(t, dir, "client/Dockerfile", "FROM scratch")
	write(t, dir, "client/Dockerfile.dockerignore", "*\n!go.mod\n!client/\n")
	write(t, dir, "client/main.go", "package main")
	dockerfile := filepath.Join(dir, "client/Dockerfile")
	app, client := tag(t, dir), buildTag(t, dir, dockerfile)
	write(t, dir, "client/main.go", "package main // changed")
	if tag(t, dir) != app {
		t.Error("the client's code changed the app's tag")
	}
	if buildTag(t, dir, dockerfile) == client {
		t.Error("the client's code kept the client's tag")
	}
	client = buildTag(t, dir, dockerfile)
	write(t, dir, "app/main.go", "package main // changed")
	if buildTag(t, dir, dockerfile) != client {
		t.Error("the app's code changed the client's tag")
	}
	// Without its own ignore file a Dockerfile uses the context's.
	if got, err := FromBuild(dir, filepath.Join(dir, "app/Dockerfile")); err != nil || got != tag(t, dir) {
		t.Errorf("FromBuild without a Dockerfile ignore file = %q, %v; want the context's tag", got, err)
	}
}

func buildTag(t *testing.T, dir, dockerfile string) string {
	t.Helper()
	got, err := FromBuild(dir, dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	return got
}
