package tools

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// makeTargets reads the Makefile: each target's recipe, and its .PHONY list.
func makeTargets(t *testing.T) (recipes map[string]string, phony []string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(data), "\\\n", " ")
	recipes = map[string]string{}
	target := regexp.MustCompile(`^([a-z0-9-]+):`)
	var current string
	for _, line := range strings.Split(text, "\n") {
		if m := target.FindStringSubmatch(line); m != nil {
			current = m[1]
			recipes[current] = line[len(m[0]):] + "\n"
			continue
		}
		if strings.HasPrefix(line, "\t") && current != "" {
			recipes[current] += line + "\n"
		} else if !strings.HasPrefix(line, "\t") {
			current = ""
		}
		if rest, ok := strings.CutPrefix(line, ".PHONY:"); ok {
			phony = strings.Fields(rest)
		}
	}
	return recipes, phony
}

// TestMakeHelpListsEveryTargetAndWhichTakeSTACK: `make help` comes from the
// `##` comments; every target is there, and "[STACK]" marks exactly the
// targets whose recipe uses STACK (the README says which take it).
func TestMakeHelpListsEveryTargetAndWhichTakeSTACK(t *testing.T) {
	r := command(t, repoRoot(t), nil, "make", "--no-print-directory", "help")
	if r.code != 0 {
		t.Fatalf("make help exited %d: %s", r.code, r.stderr)
	}
	help := map[string]string{}
	for _, line := range strings.Split(r.stdout, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "make" {
			help[f[1]] = strings.Join(f[2:], " ")
		}
	}
	recipes, phony := makeTargets(t)
	if len(phony) == 0 {
		t.Fatal("the Makefile has no .PHONY list")
	}
	for _, target := range phony {
		text, ok := help[target]
		if !ok {
			t.Errorf("make help does not list %s (add a `## %s: ...` comment)", target, target)
			continue
		}
		usesStack := strings.Contains(recipes[target], "$(STACK)")
		if says := strings.HasPrefix(text, "[STACK]"); says != usesStack {
			t.Errorf("make help says %s takes STACK: %v; its recipe uses $(STACK): %v", target, says, usesStack)
		}
	}
	if _, ok := help["up"]; !ok || len(help) < len(phony) {
		t.Errorf("make help lists %d targets, the Makefile has %d:\n%s", len(help), len(phony), r.stdout)
	}
}

// TestMakeRecipesPrintingToStdoutAreSilent: `make render STACK=dev > x.yaml`
// must hold only YAML, so make must not echo the commands of targets whose
// output users redirect.
func TestMakeRecipesPrintingToStdoutAreSilent(t *testing.T) {
	recipes, _ := makeTargets(t)
	for _, target := range []string{"render", "review", "smoke", "help"} {
		for _, line := range strings.Split(recipes[target], "\n") {
			if strings.HasPrefix(line, "\t") && !strings.HasPrefix(line, "\t@") {
				t.Errorf("make %s echoes %q into its output: start the line with @", target, strings.TrimSpace(line))
			}
		}
	}
}
