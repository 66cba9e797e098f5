package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/modelrollouts/modelrollouts/internal/cli/clitest"
	"github.com/modelrollouts/modelrollouts/internal/shadow/report"
)

// `shadow-report --logs DIR --shadow v3` (a typo) exited 0 with an empty
// report ("0 compared pairs"). A version it was told to read with no
// events now exits 2, naming it, where its name came from, and the
// versions the logs do hold.
func TestAVersionWithNoEventsExits2NamingTheVersionsFound(t *testing.T) {
	logs := writeAgreementLogs(t, 100, 100)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--primary", "v1", "--shadow", "v3"}, `no events of the shadow "v3" (--shadow) in logs in ` + logs},
		{[]string{"--primary", "v0", "--shadow", "v3"}, `no events of the primary "v0" (--primary) or the shadow "v3" (--shadow)`},
	} {
		var stdout, stderr bytes.Buffer
		code := runWriting(context.Background(), append([]string{"--logs", logs, "--out", t.TempDir()}, c.args...), &stdout, &stderr, false, noReportFiles)
		if code != exitNoReport || stdout.Len() > 0 {
			t.Errorf("%q: exit %d, stdout %q; want 2 and nothing", c.args, code, stdout.String())
		}
		for _, want := range []string{c.want, "they hold events of v1 (200 events), v2 (200 events)"} {
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("%q: stderr %q lacks %q", c.args, stderr.String(), want)
			}
		}
	}
}

// --alpha is the name every tool gives the error rate; --confidence, the
// old name here, still works (as 1 - alpha) and says it is deprecated.
func TestAlphaAndTheOldConfidenceGiveTheSameReport(t *testing.T) {
	logs := writeAgreementLogs(t, 200, 190)
	report := func(args ...string) (string, string) {
		var stdout, stderr bytes.Buffer
		args = append([]string{"--logs", logs, "--primary", "v1", "--shadow", "v2", "--out", t.TempDir(), "--progress=false"}, args...)
		if code := runWriting(context.Background(), args, &stdout, &stderr, false, noReportFiles); code != 0 {
			t.Fatalf("%q: exit %d: %s", args, code, stderr.String())
		}
		return strings.ReplaceAll(stdout.String(), args[7], "OUT"), stderr.String()
	}
	byAlpha, _ := report("--alpha", "0.1")
	byConfidence, warned := report("--confidence", "0.9")
	if byAlpha != byConfidence || !strings.Contains(byAlpha, "(90.00% CI") {
		t.Errorf("--alpha 0.1:\n%q\n--confidence 0.9:\n%q", byAlpha, byConfidence)
	}
	if !strings.Contains(warned, "--confidence is deprecated") {
		t.Errorf("no deprecation warning: %q", warned)
	}
}

// --json prints the summary document (summary.json) on stdout.
func TestJSONPrintsTheSummaryDocument(t *testing.T) {
	logs := writeAgreementLogs(t, 100, 100)
	var stdout, stderr bytes.Buffer
	code := runWriting(context.Background(), []string{"--logs", logs, "--primary", "v1", "--shadow", "v2", "--out", t.TempDir(), "--json"}, &stdout, &stderr, false, noReportFiles)
	var doc report.Document
	if code != 0 || json.Unmarshal(stdout.Bytes(), &doc) != nil || doc.Requests.Seen != 100 {
		t.Fatalf("exit %d, requests %+v:\n%s%s", code, doc.Requests, stdout.String(), stderr.String())
	}
}

func TestHelpFollowsTheConvention(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-h"}, &stdout, &stderr, false); code != 0 || stderr.Len() > 0 {
		t.Fatalf("-h: exit %d, stderr %q", code, stderr.String())
	}
	if p := clitest.Problems("shadow-report", stdout.String()); len(p) > 0 {
		t.Errorf("-h breaks the convention: %q\n%s", p, stdout.String())
	}
	if strings.Contains(stdout.String(), "-confidence") {
		t.Error("the deprecated --confidence is listed")
	}
}
