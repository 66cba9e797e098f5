package tools

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/modelrollouts/modelrollouts/stacks"
)

// The README is the user's page: one screen and a half of what the lab is,
// how to start it, what to run after, the config table and links. The rest
// lives in docs/. These tests keep the README small and true.

// readmeMaxLines is the README's budget; what does not fit goes to docs/.
const readmeMaxLines = 300

func readFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestTheReadmeFitsInThreeHundredLines(t *testing.T) {
	readme := readFile(t, "README.md")
	if n := strings.Count(readme, "\n"); n > readmeMaxLines {
		t.Errorf("README.md has %d lines, want at most %d: move maintainer detail to docs/", n, readmeMaxLines)
	}
}

// docPages are the README and every page under docs/, relative to the root.
func docPages(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob(filepath.Join(repoRoot(t), "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	rel := []string{"README.md"}
	for _, p := range pages {
		r, _ := filepath.Rel(repoRoot(t), p)
		rel = append(rel, r)
	}
	return rel
}

// markdownLink is an inline link or image: [text](target) or ![alt](target).
var markdownLink = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)

// codeSpan is inline code on one line.
var codeSpan = regexp.MustCompile("`[^`]*`")

// withoutCode drops fenced blocks and inline code spans, where brackets
// and parentheses are code, not links.
func withoutCode(text string) string {
	var kept []string
	fenced := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			kept = append(kept, "")
			continue
		}
		if fenced {
			kept = append(kept, "")
			continue
		}
		kept = append(kept, codeSpan.ReplaceAllString(line, "``"))
	}
	return strings.Join(kept, "\n")
}

func TestEveryRelativeLinkInTheReadmeAndDocsResolves(t *testing.T) {
	for _, page := range docPages(t) {
		text := withoutCode(readFile(t, page))
		for i, line := range strings.Split(text, "\n") {
			for _, m := range markdownLink.FindAllStringSubmatch(line, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") || strings.HasPrefix(target, "#") {
					continue
				}
				file, _, _ := strings.Cut(target, "#")
				path := filepath.Join(repoRoot(t), filepath.Dir(page), filepath.FromSlash(file))
				if _, err := os.Stat(path); err != nil {
					t.Errorf("%s:%d links to %s, which does not exist (%s)", page, i+1, target, path)
				}
			}
		}
	}
}

func TestTheReadmeLinksEveryDocsPage(t *testing.T) {
	readme := readFile(t, "README.md")
	for _, page := range docPages(t)[1:] {
		if !strings.Contains(readme, "]("+filepath.ToSlash(page)+")") && !strings.Contains(readme, "]("+filepath.ToSlash(page)+"#") {
			t.Errorf("README.md does not link %s", page)
		}
	}
}

// makeCommand is `make TARGET` as a user types it in a code span or block.
var makeCommand = regexp.MustCompile(`(?:^|[\s(` + "`" + `&;|])make ([a-z][a-z0-9-]*)`)

// codeOf returns the README's fenced blocks and inline code spans: where a
// command is something to type rather than a word of prose.
func codeOf(text string) []string {
	var code []string
	fenced := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			code = append(code, line)
		}
	}
	// Inline spans may wrap a line, so find them in the prose as a whole.
	prose := regexp.MustCompile("(?s)```.*?```").ReplaceAllString(text, "")
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(prose, -1) {
		code = append(code, strings.ReplaceAll(m[1], "\n", " "))
	}
	return code
}

func TestEveryMakeTargetTheReadmeNamesIsInTheMakefile(t *testing.T) {
	recipes, _ := makeTargets(t)
	seen := map[string]bool{}
	for _, code := range codeOf(readFile(t, "README.md")) {
		for _, m := range makeCommand.FindAllStringSubmatch(code, -1) {
			seen[m[1]] = true
			if _, ok := recipes[m[1]]; !ok {
				t.Errorf("README.md says `make %s`; the Makefile has no target %s", m[1], m[1])
			}
		}
	}
	// The two set-up commands are the README's promise; a parser that
	// found nothing would pass vacuously.
	for _, want := range []string{"up", "test", "smoke"} {
		if !seen[want] {
			t.Errorf("found no `make %s` in README.md's code (found %v)", want, seen)
		}
	}
}

// configKeys lists every key below each path of the config, as the JSON
// names `pulumi config set --path` uses: "cluster" -> ["context", ...].
// Slices and maps are walked into; map keys (env names) are the user's.
func configKeys(typ reflect.Type, path string, into map[string][]string) {
	for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
		typ = typ.Elem()
	}
	if typ.Kind() != reflect.Struct {
		return
	}
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if f.Anonymous {
			configKeys(f.Type, path, into)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		into[path] = append(into[path], name)
		child := name
		if path != "" {
			child = path + "." + name
		}
		configKeys(f.Type, child, into)
	}
}

// TestTheReadmeConfigTableNamesEveryKey: every key stacks.Config accepts
// is named, in backticks, in the README's Stack config table, on the row
// of the nearest enclosing key that has a row (`canary.rollout` for the
// gate's keys, `canary` for a version's).
func TestTheReadmeConfigTableNamesEveryKey(t *testing.T) {
	rows := map[string]string{}
	row := regexp.MustCompile("^\\| `([a-zA-Z.]+)` \\| (.*) \\|$")
	in := false
	for _, line := range strings.Split(readFile(t, "README.md"), "\n") {
		switch {
		case line == "| key | meaning |":
			in = true
		case in && strings.HasPrefix(line, "| ---"):
		case in && row.MatchString(line):
			m := row.FindStringSubmatch(line)
			rows[m[1]] = m[2]
		case in:
			in = false
		}
	}
	if len(rows) == 0 {
		t.Fatal("README.md has no config table (a `| key | meaning |` header)")
	}
	keys := map[string][]string{}
	configKeys(reflect.TypeOf(stacks.Config{}), "", keys)
	paths := make([]string, 0, len(keys))
	for p := range keys {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, path := range paths {
		for _, name := range keys[path] {
			full := name
			if path != "" {
				full = path + "." + name
			}
			if _, ok := rows[full]; ok || hasRowBelow(rows, full) {
				continue // the key has a row of its own, or its keys have
			}
			owner := nearestRow(rows, path)
			if owner == "" {
				t.Errorf("README.md's config table has no row for %s", full)
				continue
			}
			// `versions[]: ...` and `type: kind` name a key too.
			named := regexp.MustCompile("`" + regexp.QuoteMeta(name) + "(`|\\[\\]`|: )")
			if !named.MatchString(rows[owner]) {
				t.Errorf("README.md's config table does not name `%s` (%s) on the %s row", name, full, owner)
			}
		}
	}
	for key := range rows {
		if _, isPath := keys[key]; !isPath && !isLeaf(keys, key) {
			t.Errorf("README.md's config table has a row for %s, which stacks.Config does not accept", key)
		}
	}
}

// nearestRow is the longest prefix of path (itself included) with a row.
func nearestRow(rows map[string]string, path string) string {
	for p := path; p != ""; {
		if _, ok := rows[p]; ok {
			return p
		}
		i := strings.LastIndex(p, ".")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return ""
}

// hasRowBelow reports whether keys below key have rows of their own
// (`platform.istio` for `platform`).
func hasRowBelow(rows map[string]string, key string) bool {
	for k := range rows {
		if strings.HasPrefix(k, key+".") {
			return true
		}
	}
	return false
}

// isLeaf reports whether key names a field that has no keys below it.
func isLeaf(keys map[string][]string, key string) bool {
	parent, name := "", key
	if i := strings.LastIndex(key, "."); i >= 0 {
		parent, name = key[:i], key[i+1:]
	}
	for _, n := range keys[parent] {
		if n == name {
			return true
		}
	}
	return false
}
