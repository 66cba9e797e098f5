package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/shadow/report"
	"github.com/modelrollouts/modelrollouts/internal/shadow/stats"
	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
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

// writeAgreementLogs writes a primary's and a shadow's payload events for
// n mirrored requests of which the first k get the same answer.
func writeAgreementLogs(t *testing.T, n, k int) string {
	t.Helper()
	dir := t.TempDir()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, side := range []struct {
		version  string
		mirrored bool
	}{{"v1", false}, {"v2", true}} {
		var b bytes.Buffer
		for i := 0; i < n; i++ {
			id, at := fmt.Sprintf("req-%04d", i), t0.Add(time.Duration(i)*time.Millisecond)
			out := 1.0
			if side.mirrored && i >= k {
				out = 2
			}
			for _, ev := range []modelapi.PayloadEvent{
				{SpecVersion: "1.0", ID: id, Source: side.version, Type: modelapi.EventTypeRequest, Time: at, ModelName: "m",
					ModelVersion: side.version, Mirrored: side.mirrored, Data: json.RawMessage(`{"inputs":[]}`)},
				{SpecVersion: "1.0", ID: id, Source: side.version, Type: modelapi.EventTypeResponse, Time: at.Add(time.Millisecond), ModelName: "m",
					ModelVersion: side.version, Mirrored: side.mirrored, Status: 200, LatencyMicros: 1000,
					Data: json.RawMessage(`{"outputs":[{"name":"o","data":[` + strconv.FormatFloat(out, 'g', -1, 64) + `]}]}`)},
			} {
				line, _ := json.Marshal(ev)
				b.Write(append(line, '\n'))
			}
		}
		if err := os.WriteFile(filepath.Join(dir, side.version+".log"), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// --min-agreement judges the Wilson interval's lower bound, never the
// point estimate: 960 of 1000 pairs agree (estimate 0.96, lower bound
// 0.9460); a minimum just under the bound exits 0, just over it exits 1,
// and 0.95, under the estimate, exits 1 too.
// noReportFiles writes none of the report's files: rendering the plots
// is most of a run's time, and some tests look only at stdout and the
// exit status (the files are checked by
// TestStackFlagReadsEveryPodThroughTheStacksCluster and the pipeline's
// tests).
func noReportFiles(string, *report.Document, *stats.Series) error { return nil }

func TestMinAgreementGatesOnTheLowerBoundOnBothSides(t *testing.T) {
	logs := writeAgreementLogs(t, 1000, 960)
	low := stats.Wilson(960, 1000, 0.95).Low
	for _, c := range []struct {
		min  string
		code int
		says string
	}{
		// The verdict prints the bound in as many digits as it takes to
		// see the difference from the minimum.
		{strconv.FormatFloat(low-1e-6, 'f', 7, 64), 0, "passed (lower bound 0.945990 >= 0.945989)"},
		{strconv.FormatFloat(low+1e-6, 'f', 7, 64), 1, "FAILED (lower bound 0.945990 < 0.945991)"},
		{"0.95", 1, "Gate 0.95: FAILED (lower bound 0.9460 < 0.9500)"},
		{"0.9", 0, "Gate 0.9: passed (lower bound 0.9460 >= 0.9000)"},
	} {
		var stdout, stderr bytes.Buffer
		code := runWriting(context.Background(), []string{"--logs", logs, "--primary", "v1", "--shadow", "v2", "--tolerance", "0",
			"--min-agreement", c.min, "--out", t.TempDir(), "--progress=false"}, &stdout, &stderr, false, noReportFiles)
		if code != c.code || !strings.Contains(stdout.String(), "Agreement 96.00%") || !strings.Contains(stdout.String(), c.says) {
			t.Errorf("--min-agreement %s (lower bound %.7f): exit %d, want %d; stdout:\n%s%s", c.min, low, code, c.code, stdout.String(), stderr.String())
		}
	}
}

// The report reads only what it needs from the stack outputs: a shadow
// stack whose ingress address is still pending (a cloud LoadBalancer)
// is reported on all the same; outputs that name no shadow are refused
// with every problem named.
func TestOutputsNeedNoIngress(t *testing.T) {
	logs := writeAgreementLogs(t, 100, 100)
	dir := t.TempDir()
	write := func(name, json string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(json), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	pending := write("pending.json", `{"strategy":"shadow","namespace":"models","ingressPending":"LoadBalancer has no address yet",
		"host":"model.example.com","versions":{"v1":{"target":"a"},"v2":{"target":"b"}},"primary":"v1","shadow":"v2","mirrorPercent":100}`)
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := runWriting(context.Background(), []string{"--outputs", pending, "--logs", logs, "--out", out}, &stdout, &stderr, false, noReportFiles); code != 0 {
		t.Fatalf("exit %d with the ingress pending:\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "configured 100.00%: consistent") {
		t.Errorf("the configured share is not the outputs' mirrorPercent:\n%s", stdout.String())
	}

	canary := write("canary.json", `{"strategy":"canary","ingressUrl":"http://127.0.0.1:9","host":"h","versions":{"v1":{"target":"a"}}}`)
	stdout.Reset()
	stderr.Reset()
	code := run(context.Background(), []string{"--outputs", canary, "--logs", logs, "--out", t.TempDir()}, &stdout, &stderr, false)
	for _, want := range []string{`stack output strategy is "canary"; the shadow report needs a shadow stack`, "stack output namespace is empty"} {
		if code != 2 || !strings.Contains(stderr.String(), want) {
			t.Errorf("canary outputs: exit %d, stderr %q; want 2 and %q", code, stderr.String(), want)
		}
	}
}
