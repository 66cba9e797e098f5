//go:build slow

// End to end: builds model-echo, runs real processes and the report on
// their logs; tens of seconds, so the slow tier runs it (make test-slow).

package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// Bad flags get exit 2 and a message naming each flag and what it wants,
// all at once, before anything is read.
func TestBadFlagsAreNamedAndExit2(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{nil, []string{"name a stack (--stack), an outputs file (--outputs), or saved logs with their versions"}},
		{[]string{"--logs", "x", "--primary", "v1"}, []string{"--logs DIR --primary V --shadow V"}},
		{[]string{"--stack", "s", "--min-agreement", "95", "--mirror-percent", "120", "--tolerance", "-1", "--confidence", "1.5", "--join-window", "0s"},
			[]string{"--min-agreement 95: want a share between 0 and 1", "--mirror-percent 120: want 0 to 100", "--tolerance -1: want 0 or more",
				"--confidence 1.5: want a level between 0.5 and 1", "--join-window 0s: want a positive duration"}},
		{[]string{"--stack", "s", "--since", "1h", "--from", "2026-01-01T00:00:00Z"}, []string{"--since and --from both set"}},
		{[]string{"--stack", "s", "--from", "2026-01-02T00:00:00Z", "--to", "2026-01-01T00:00:00Z"}, []string{"--to 2026-01-01T00:00:00Z is before --from"}},
		{[]string{"--stack", "s", "--from", "yesterday"}, []string{`"yesterday" is not an RFC 3339 time`}},
		{[]string{"--stack", "s", "--min-agreement", "most"}, []string{`"most" is not a number`}},
		{[]string{"--logs", "/nonexistent", "--primary", "v1", "--shadow", "v1"}, []string{`primary and shadow are both "v1"`}},
		{[]string{"--logs", "/nonexistent", "--primary", "v1", "--shadow", "v2"}, []string{"list logs in /nonexistent"}},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append(c.args, "--out", t.TempDir()), &stdout, &stderr, false)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2", c.args, code)
		}
		for _, w := range c.want {
			if !strings.Contains(stderr.String(), w) {
				t.Errorf("%v: stderr %q lacks %q", c.args, stderr.String(), w)
			}
		}
	}
}
