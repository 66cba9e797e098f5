package pipeline

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/shadow/collect"
	"github.com/modelrollouts/modelrollouts/internal/shadow/dataset"
	"github.com/modelrollouts/modelrollouts/internal/shadow/report"
	"github.com/modelrollouts/modelrollouts/internal/shadow/stats"
	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// synthLogs writes the logs of a shadow lab as model-echo writes them:
// users hits 1000 requests a second, spread over primaryPods pods of v1,
// half mirrored to one pod of v2 that answers 0.5 higher and 4 ms later;
// every pod's log also has its request log lines. It returns the number
// of payload events written.
func synthLogs(t testing.TB, dir string, users, primaryPods int, junk bool) int {
	t.Helper()
	open := func(name string) (*os.File, *bufio.Writer) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return f, bufio.NewWriterSize(f, 1<<20)
	}
	type out struct {
		f *os.File
		w *bufio.Writer
	}
	var prim []out
	for i := 0; i < primaryPods; i++ {
		f, w := open(fmt.Sprintf("model-v1-%d_model.log", i))
		prim = append(prim, out{f, w})
	}
	sf, sw := open("model-v2-0_model.log")
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	n := 0
	emit := func(w *bufio.Writer, version string, id string, at time.Time, mirrored bool, bias float64, x int, latency time.Duration) {
		in := fmt.Sprintf(`{"inputs":[{"name":"x","shape":[4],"datatype":"FP32","data":[%d,1,2,3]}]}`, x)
		outp := fmt.Sprintf(`{"model_name":"echo","model_version":%q,"id":%q,"outputs":[{"name":"output-0","shape":[4],"datatype":"FP64","data":[%s,%s,%s,%s]}]}`,
			version, id, f(float64(x)+bias), f(1+bias), f(2+bias), f(3+bias))
		for _, ev := range []modelapi.PayloadEvent{
			{SpecVersion: "1.0", ID: id, Source: version, Type: modelapi.EventTypeRequest, Time: at, DataContentType: "application/json",
				ModelName: "echo", Component: "predictor", ModelVersion: version, Mirrored: mirrored, Data: json.RawMessage(in)},
			{SpecVersion: "1.0", ID: id, Source: version, Type: modelapi.EventTypeResponse, Time: at.Add(latency), DataContentType: "application/json",
				ModelName: "echo", Component: "predictor", ModelVersion: version, Mirrored: mirrored, Status: 200,
				LatencyMicros: latency.Microseconds(), Data: json.RawMessage(outp)},
		} {
			b, _ := json.Marshal(ev)
			w.Write(b)
			w.WriteByte('\n')
			n++
		}
		fmt.Fprintf(w, `{"time":%q,"level":"INFO","msg":"request","model":"echo","version":%q,"request_id":%q,"status":200}`+"\n",
			at.Format(time.RFC3339Nano), version, id)
	}
	for i := 0; i < users; i++ {
		id := "req-" + strconv.Itoa(i)
		at := t0.Add(time.Duration(i) * time.Millisecond)
		p := prim[i%primaryPods].w
		emit(p, "v1", id, at, false, 0, i, time.Duration(100+rng.IntN(400))*time.Microsecond)
		if rng.IntN(2) == 0 {
			emit(sw, "v2", id, at.Add(time.Millisecond), true, 0.5, i, time.Duration(4000+rng.IntN(1000))*time.Microsecond)
		}
		if junk && i%1000 == 999 {
			p.WriteString(`{"specversion":"1.0","id":"cut-off","sou` + "\n") // truncated
			p.WriteString("goroutine 1 [running]:\n")                        // not JSON
		}
	}
	for _, o := range append(prim, out{sf, sw}) {
		if err := o.w.Flush(); err != nil {
			t.Fatal(err)
		}
		o.f.Close()
	}
	return n
}

func f(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func runOn(t testing.TB, logs, out string, o stats.Options) *report.Document {
	t.Helper()
	l, err := collect.FromDir(logs)
	if err != nil {
		t.Fatal(err)
	}
	o.Primary, o.Shadow = "v1", "v2"
	doc, err := Run(context.Background(), Options{Logs: l, OutDir: out, Stats: o, Source: logs})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// noReportFiles writes none of the report's files, for runs whose files
// nobody looks at: rendering the plots is most of a small report's time.
func noReportFiles(string, *report.Document, *stats.Series) error { return nil }

func TestPipelineFromSavedLogs(t *testing.T) {
	t.Parallel()
	logs := t.TempDir()
	events := synthLogs(t, logs, 5000, 3, true)
	out := t.TempDir()
	mirror := 50.0
	doc := runOn(t, logs, out, stats.Options{MirrorPercent: &mirror, Tolerance: 0.6})
	in := doc.Inputs
	if in.Lines.Events != int64(events) || in.Lines.Malformed != 10 || in.Lines.Other != int64(events/2) || len(in.Logs) != 4 {
		t.Fatalf("inputs %+v", in)
	}
	s := doc.Summary
	if s.Requests.Seen != 5000 || s.Requests.ShadowOnly != 0 || s.Requests.Paired != s.Mirror.Copies {
		t.Fatalf("requests %+v", s.Requests)
	}
	if !s.Mirror.Observed.Contains(0.5) || s.Agreement.Rate.Estimate != 1 || s.Outputs[0].Max != 0.5 {
		t.Fatalf("mirror %+v agreement %+v outputs %+v", s.Mirror, s.Agreement, s.Outputs)
	}
	if s.Latency.Difference.P50.Low < 3.5 || s.Latency.Difference.P50.High > 5 {
		t.Fatalf("latency difference %+v", s.Latency.Difference.P50)
	}
	rows, err := dataset.ReadParquet(filepath.Join(out, dataset.ParquetFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5000 || rows[0].ID != "req-0" || *rows[0].PrimaryPod != "model-v1-0_model.log" || !strings.Contains(*rows[0].Input, `"data":[0,1,2,3]`) {
		t.Fatalf("%d rows, first %+v", len(rows), rows[0])
	}
	for _, name := range []string{report.SummaryFile, report.MarkdownFile, report.HTMLFile, report.PictureFile, dataset.JSONLFile} {
		if st, err := os.Stat(filepath.Join(out, name)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(out, report.MarkdownFile))
	for _, want := range []string{"| v1 (primary) | 5000 |", "10 malformed", "consistent with the configuration", "Wilson"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}

	// A time window keeps only its requests; the rest are counted.
	from := time.Date(2026, 3, 1, 12, 0, 1, 0, time.UTC)
	l, _ := collect.FromDir(logs)
	doc, err = Run(context.Background(), Options{Logs: l, OutDir: t.TempDir(), From: from, To: from.Add(2 * time.Second),
		Stats: stats.Options{Primary: "v1", Shadow: "v2"}, WriteReport: noReportFiles})
	if err != nil {
		t.Fatal(err)
	}
	if seen := doc.Requests.Seen; seen != 2001 || doc.Inputs.OutsideWindow != 5000-2001 || doc.Requests.ShadowOnly != 0 || doc.Requests.PrimaryWithoutResponse != 0 {
		t.Fatalf("window: %d requests, %d events outside", seen, doc.Inputs.OutsideWindow)
	}
}

// BenchmarkJoinAndSummarise reads, joins, judges, summarises and writes
// out 1,000,000 payload events (333,334 user requests at 1000/s, half
// mirrored, three pods) from saved logs, as `shadow-report --logs` does.
// It reports the time per run and the process's peak resident memory
// during the run (VmHWM, reset before it).
//
//	go test ./internal/shadow/pipeline -run '^$' -bench JoinAndSummarise -benchtime 1x
//
// benchUsers make 1,000,000 events, give or take the random mirroring.
const benchUsers = 333334

func BenchmarkJoinAndSummarise(b *testing.B) {
	logs := b.TempDir()
	users := benchUsers
	events := synthLogs(b, logs, users, 2, false)
	for b.Loop() {
		resetPeakRSS(b)
		runtime.GC()
		out := b.TempDir()
		doc := runOn(b, logs, out, stats.Options{Tolerance: 0.6})
		if doc.Inputs.Lines.Events != int64(events) || doc.Requests.Seen != int64(users) {
			b.Fatalf("events %d of %d, requests %d", doc.Inputs.Lines.Events, events, doc.Requests.Seen)
		}
	}
	b.ReportMetric(float64(events), "events")
	b.ReportMetric(float64(peakRSS(b))/(1<<20), "peak-RSS-MiB")
}

// resetPeakRSS resets the kernel's peak RSS of this process (VmHWM).
func resetPeakRSS(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("cannot reset peak RSS: %v", err)
	}
}

func peakRSS(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Logf("no /proc/self/status: %v", err)
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestWriteBenchLogs writes the benchmark's logs to $SHADOW_BENCH_LOGS, to
// time the command itself on them (see README).
func TestWriteBenchLogs(t *testing.T) {
	dir := os.Getenv("SHADOW_BENCH_LOGS")
	if dir == "" {
		t.Skip("set SHADOW_BENCH_LOGS=DIR to write the benchmark's 1,000,000 events there")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d events in %s", synthLogs(t, dir, benchUsers, 2, false), dir)
}

// The progress bar counts the bytes read against the logs' total and the
// logs done; outside a terminal it prints plain lines, no escapes.
func TestProgressShowsBytesAndLogs(t *testing.T) {
	t.Parallel()
	logs := t.TempDir()
	synthLogs(t, logs, 2000, 2, false)
	l, err := collect.FromDir(logs)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, lg := range l {
		total += lg.Size
	}
	var out strings.Builder
	_, err = Run(context.Background(), Options{Logs: l, OutDir: t.TempDir(), Progress: NewProgress(&out, false),
		Stats: stats.Options{Primary: "v1", Shadow: "v2"}, WriteReport: noReportFiles})
	if err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if !strings.Contains(got, "reading logs 3/3") || !strings.Contains(got, "100%") || strings.Contains(got, "\x1b[") {
		t.Fatalf("progress output %q (logs of %d bytes)", got, total)
	}
}

// One of two primary pods' logs is missing: its requests are gone and
// their copies have no primary record. The report says the primary's logs
// are missing and keeps the mirrored share at what the other pod shows
// (50% drawn per request, seeded: the test's outcome is fixed), where it
// read about 66.7%, NOT consistent, before.
func TestMissingPrimaryPodLogIsReportedAsSuch(t *testing.T) {
	t.Parallel()
	logs := t.TempDir()
	synthLogs(t, logs, 4000, 2, false)
	if err := os.Remove(filepath.Join(logs, "model-v1-1_model.log")); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	mirror := 50.0
	doc := runOn(t, logs, out, stats.Options{MirrorPercent: &mirror, Tolerance: 0.6})
	m := doc.Mirror
	if m.Requests != 2000 || m.CopiesWithoutPrimary < 900 || m.CopiesWithoutPrimary > 1100 || doc.Requests.ShadowOnly != m.CopiesWithoutPrimary {
		t.Fatalf("mirror %+v; want the 2000 requests of the pod read, about 1000 copies without a primary record", m)
	}
	if !m.Observed.Contains(0.5) || !*m.Consistent {
		t.Errorf("share %v, consistent %v: the missing log reads as a mirror shift", m.Observed, *m.Consistent)
	}
	md, _ := os.ReadFile(filepath.Join(out, report.MarkdownFile))
	if !strings.Contains(string(md), fmt.Sprintf("Primary logs missing: %d of", m.CopiesWithoutPrimary)) {
		t.Errorf("report.md does not say the primary's logs are missing:\n%s", md)
	}
}

// writeEvents writes payload events as model-echo logs them.
func writeEvents(t *testing.T, path string, evs ...modelapi.PayloadEvent) {
	t.Helper()
	var b strings.Builder
	for _, ev := range evs {
		line, _ := json.Marshal(ev)
		b.Write(line)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// exchange is the request and response events of request n at a version.
func exchange(id string, n int, version string, at time.Time) []modelapi.PayloadEvent {
	body := json.RawMessage(fmt.Sprintf(`{"outputs":[{"name":"o","data":[%d]}]}`, n))
	return []modelapi.PayloadEvent{
		{SpecVersion: "1.0", ID: id, Source: version, Type: modelapi.EventTypeRequest, Time: at, Mirrored: version == "v2", Data: body},
		{SpecVersion: "1.0", ID: id, Source: version, Type: modelapi.EventTypeResponse, Time: at.Add(time.Millisecond),
			Mirrored: version == "v2", Status: 200, LatencyMicros: 1000, Data: body},
	}
}

// From logs to files: a client reuses a request id ten seconds later.
// Request 1 was not mirrored, request 2 was: two rows, flagged id_reused
// in both files, neither holding the copy (its two events counted as
// unattributed), counted as requests.idReused and kept out of the
// agreement and the mirrored share. Before, one row held request 1's
// answer against request 2's copy: agreement 1 of 2.
func TestReusedRequestIDsAreFlaggedRowsFromLogsToFiles(t *testing.T) {
	t.Parallel()
	logs, out := t.TempDir(), t.TempDir()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	primary := append(exchange("dup", 1, "v1", t0), exchange("ok", 3, "v1", t0.Add(time.Second))...)
	primary = append(primary, exchange("dup", 2, "v1", t0.Add(10*time.Second))...)
	shadow := append(exchange("ok", 3, "v2", t0.Add(time.Second)), exchange("dup", 2, "v2", t0.Add(10*time.Second+time.Millisecond))...)
	writeEvents(t, filepath.Join(logs, "v1.log"), primary...)
	writeEvents(t, filepath.Join(logs, "v2.log"), shadow...)
	doc := runOn(t, logs, out, stats.Options{})
	if doc.Requests.Seen != 3 || doc.Requests.IDReused != 2 || doc.Agreement.Compared != 1 || doc.Agreement.Agreeing != 1 ||
		doc.Inputs.Join.Unattributed != 2 || doc.Mirror.Requests != 1 || doc.Mirror.Copies != 1 {
		t.Fatalf("requests %+v, agreement %d of %d, join %+v, mirror %+v; want 3 rows, 2 reused, the 1 other compared, agreeing and mirrored, the copy's 2 events unattributed",
			doc.Requests, doc.Agreement.Agreeing, doc.Agreement.Compared, doc.Inputs.Join, doc.Mirror)
	}
	rows, err := dataset.ReadParquet(filepath.Join(out, dataset.ParquetFile))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(out, dataset.JSONLFile))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for i, r := range rows {
		var line struct {
			ID       string          `json:"id"`
			IDReused bool            `json:"id_reused"`
			Primary  json.RawMessage `json:"primary_output"`
			Shadow   json.RawMessage `json:"shadow_output"`
			Agree    *bool           `json:"agree"`
		}
		if err := json.Unmarshal([]byte(lines[i]), &line); err != nil {
			t.Fatal(err)
		}
		if line.ID != r.ID || line.IDReused != r.IDReused || line.IDReused != (r.ID == "dup") || (line.Agree == nil) != r.IDReused {
			t.Errorf("row %d: jsonl %s, parquet %+v", i, lines[i], r)
		}
		if r.ID == "dup" && string(line.Shadow) != "null" {
			t.Errorf("row %d holds a copy of a reused id: primary %s, shadow %s", i, line.Primary, line.Shadow)
		}
	}
}
