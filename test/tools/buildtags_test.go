package tools

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// `make vet` vets once with every build tag on and `make test` runs the unit
// tests once, inside `go test -tags slow`: both rely on no file being left out
// when a tag is on. A `//go:build !slow` (or any negated tag) would hide that
// file from both, so it is refused here.
func TestNoFileIsExcludedByTurningATagOn(t *testing.T) {
	out, err := exec.Command("git", "-C", "../..", "ls-files", "*.go").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, name := range strings.Fields(string(out)) {
		if strings.HasPrefix(name, "test/istio/") {
			continue // its own module, vetted and tested by make test-istio
		}
		f, err := os.Open("../../" + name)
		if err != nil {
			t.Fatal(err)
		}
		s := bufio.NewScanner(f)
		for s.Scan() {
			line := s.Text()
			if strings.HasPrefix(line, "package ") {
				break
			}
			if strings.HasPrefix(line, "//go:build") && strings.Contains(line, "!") {
				t.Errorf("%s: %q negates a tag; make vet and make test would skip this file (see Makefile)", name, line)
			}
		}
		f.Close()
	}
}
