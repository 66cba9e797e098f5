package journey

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEveryCommandTheJourneysRunIsInTheREADME(t *testing.T) {
	blocks, err := ReadDocuments("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range allCommands {
		if _, err := c.line(blocks); err != nil {
			t.Error(err)
		}
	}
}

func TestBlocksJoinContinuedLinesAndRefuseAMarkerWithoutAFence(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.md")
	os.WriteFile(good, []byte("text\n<!-- journey: a -->\n```sh\nmake up   # first\ngo run ./x \\\n    --y z\n# note\n```\n"), 0o644)
	blocks, err := ReadBlocks(good)
	if err != nil {
		t.Fatal(err)
	}
	got := blocks["a"].Commands()
	if len(got) != 2 || got[1] != "go run ./x     --y z" || !strings.HasPrefix(got[0], "make up") {
		t.Fatalf("commands %q", got)
	}
	if _, err := blocks["a"].Command("go run"); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.md")
	os.WriteFile(bad, []byte("<!-- journey: a -->\n\n```sh\nmake up\n```\n"), 0o644)
	if _, err := ReadBlocks(bad); err == nil || !strings.Contains(err.Error(), "must open a ```sh block") {
		t.Fatalf("a marker not right before its fence: %v", err)
	}
}
