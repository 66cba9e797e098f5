package stacks

import (
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestThePackageMapNamesEveryPackage holds docs/architecture.md's package
// map to the tree: every directory with Go files has a row, and every row
// is such a directory.
func TestThePackageMapNamesEveryPackage(t *testing.T) {
	root := ".."
	table := guideSection(t, filepath.Join(root, "docs", "architecture.md"), "## Package map")
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([^`]+)` \\|").FindAllStringSubmatch(table, -1) {
		documented = append(documented, m[1])
	}
	var packages []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		dir, _ := filepath.Rel(root, filepath.Dir(path))
		if dir = filepath.ToSlash(dir); !slices.Contains(packages, dir) {
			packages = append(packages, dir)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range packages {
		if !slices.Contains(documented, p) {
			t.Errorf("package %s has no row in docs/architecture.md's package map", p)
		}
	}
	for _, d := range documented {
		if !slices.Contains(packages, d) {
			t.Errorf("docs/architecture.md's package map names %s, which has no Go files", d)
		}
	}
}
