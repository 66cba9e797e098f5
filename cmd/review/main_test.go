package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/modelrollouts/modelrollouts/internal/cli/clitest"
)

func TestHelpFollowsTheConvention(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-h"}, &stdout, &stderr); code != 0 || stderr.Len() > 0 {
		t.Fatalf("-h: exit %d, stderr %q", code, stderr.String())
	}
	if p := clitest.Problems("review", stdout.String()); len(p) > 0 {
		t.Errorf("-h breaks the convention: %q\n%s", p, stdout.String())
	}
}

// Bad command lines exit 2 and say what is wrong, before reading anything.
func TestBadCommandLinesExit2(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "--base and --renders are required"},
		{[]string{"--base", "b", "--renders", "r", "--format", "html"}, `--format "html": want text or markdown`},
		{[]string{"--bogus"}, "flag provided but not defined: -bogus"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(c.args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", c.args, code, stderr.String(), c.want)
		}
	}
}
