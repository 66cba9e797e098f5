package dataset

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/modelrollouts/modelrollouts/internal/shadow/join"
	"github.com/modelrollouts/modelrollouts/internal/shadow/stats"
)

// pairsOfEveryKind are one pair of each shape a report meets: agreeing,
// disagreeing, a shared failure, not mirrored, a copy without its
// primary, a copy whose response was lost, and a non-JSON body.
func pairsOfEveryKind() []*join.Pair {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)
	ans := func(v string, status int, out string, lat time.Duration, pod string) join.Side {
		return join.Side{Requested: true, Answered: true, Time: t0, Status: status, Output: []byte(out), OutputJSON: true, Latency: lat, Origin: pod}
	}
	one := `{"outputs":[{"name":"o","data":[1,2]}]}`
	off := `{"outputs":[{"name":"o","data":[1,2.5]}]}`
	in := []byte(`{"inputs":[{"name":"x","data":[1,2]}]}`)
	return []*join.Pair{
		{ID: "agree", Time: t0, Input: in, InputJSON: true, Primary: ans("v1", 200, one, 1500*time.Microsecond, "p1"), Shadow: ans("v2", 200, one, 6*time.Millisecond, "s1")},
		{ID: "differ", Time: t0.Add(time.Second), Input: in, InputJSON: true, Primary: ans("v1", 200, one, time.Millisecond, "p2"), Shadow: ans("v2", 200, off, time.Millisecond, "s1")},
		{ID: "both-fail", Time: t0.Add(2 * time.Second), Input: in, InputJSON: true, Primary: ans("v1", 500, `{"error":"injected"}`, time.Millisecond, "p1"), Shadow: ans("v2", 500, `{"error":"injected"}`, time.Millisecond, "s1")},
		{ID: "not-mirrored", Time: t0.Add(3 * time.Second), Input: in, InputJSON: true, Primary: ans("v1", 200, one, time.Millisecond, "p1")},
		{ID: "copy-only", Time: t0.Add(4 * time.Second), Input: in, InputJSON: true, Shadow: ans("v2", 200, one, time.Millisecond, "s1")},
		{ID: "copy-lost-response", Time: t0.Add(5 * time.Second), Input: in, InputJSON: true, Primary: ans("v1", 200, one, time.Millisecond, "p1"),
			Shadow: join.Side{Requested: true, Time: t0, Origin: "s1 (previous)"}},
		{ID: "reused", Time: t0.Add(5500 * time.Millisecond), IDReused: true, Input: in, InputJSON: true, Primary: ans("v1", 200, one, time.Millisecond, "p1"), Shadow: ans("v2", 200, off, time.Millisecond, "s1")},
		{ID: "ns-time", Time: t0.Add(5600*time.Millisecond + 789), Input: in, InputJSON: true, Primary: ans("v1", 200, one, time.Millisecond, "p1")},
		{ID: "not-json \"quoted\"", Time: t0.Add(6 * time.Second), Input: []byte("a,b\n1,2"), Primary: join.Side{Requested: true, Answered: true, Status: 400,
			Output: []byte("bad input\n"), Latency: time.Millisecond, Origin: "p1"}},
	}
}

var timeInMicros = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)

func writeRows(t *testing.T, dir string) []Row {
	t.Helper()
	w, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	var want []Row
	for _, p := range pairsOfEveryKind() {
		r := NewRow(p, stats.Judge(p, 0.1))
		want = append(want, r)
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return want
}

// pairs.parquet read back holds exactly the rows written, nulls where a
// side or a verdict is missing; pairs.jsonl holds the same values with
// bodies embedded as JSON.
func TestParquetAndJSONLinesHoldTheSameRows(t *testing.T) {
	dir := t.TempDir()
	want := writeRows(t, dir)
	got, err := ReadParquet(filepath.Join(dir, ParquetFile))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		for i := range want {
			if i < len(got) && !reflect.DeepEqual(got[i], want[i]) {
				t.Errorf("row %d: read back %+v, wrote %+v", i, got[i], want[i])
			}
		}
		t.Fatalf("%d rows read back, %d written", len(got), len(want))
	}
	byID := map[string]Row{}
	for _, r := range got {
		byID[r.ID] = r
	}
	if r := byID["differ"]; r.Agree == nil || *r.Agree || r.AbsDiff == nil || *r.AbsDiff != 0.5 || r.Match != "paired" {
		t.Errorf("disagreeing pair: %+v", r)
	}
	if r := byID["both-fail"]; r.Agree == nil || !*r.Agree || r.AbsDiff != nil || *r.ShadowStatus != 500 {
		t.Errorf("shared failure: %+v", r)
	}
	if r := byID["not-mirrored"]; r.Mirrored || r.Match != "primary_only" || r.Agree != nil || r.ShadowOutput != nil || r.ShadowStatus != nil || r.ShadowPod != nil {
		t.Errorf("not mirrored: %+v", r)
	}
	if r := byID["copy-only"]; !r.Mirrored || r.Match != "shadow_only" || r.PrimaryStatus != nil || r.Agree != nil {
		t.Errorf("unmatched copy: %+v", r)
	}
	if r := byID["copy-lost-response"]; !r.Mirrored || r.ShadowStatus != nil || *r.ShadowPod != "s1 (previous)" || r.Agree != nil {
		t.Errorf("copy without its response: %+v", r)
	}
	if r := byID[`not-json "quoted"`]; *r.Input != `"a,b\n1,2"` || *r.PrimaryOutput != `"bad input\n"` {
		t.Errorf("non-JSON bodies are JSON strings: %+v", r)
	}
	if r := byID["agree"]; !r.Time.Equal(time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)) || *r.PrimaryLatencyMs != 1.5 || r.IDReused {
		t.Errorf("time and latency: %+v", r)
	}
	if r := byID["reused"]; !r.IDReused || r.Agree != nil || r.AbsDiff != nil || r.Match != "paired" {
		t.Errorf("a reused id's pair is flagged and has no verdict: %+v", r)
	}

	f, err := os.Open(filepath.Join(dir, JSONLFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	i := 0
	for ; sc.Scan(); i++ {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("pairs.jsonl line %d: %v: %s", i, err, sc.Bytes())
		}
		r := got[i]
		if m["id"] != r.ID || m["match"] != r.Match || m["mirrored"] != r.Mirrored || m["id_reused"] != r.IDReused || (m["agree"] == nil) != (r.Agree == nil) {
			t.Errorf("line %d: %v; parquet %+v", i, m, r)
		}
		// time: RFC 3339 in µs, as documented and as the Parquet column.
		if at, err := time.Parse(time.RFC3339Nano, m["time"].(string)); err != nil || !at.Equal(r.Time) || !timeInMicros.MatchString(m["time"].(string)) {
			t.Errorf("line %d: time %q; parquet %v; want RFC 3339 with 6 decimals, the same instant", i, m["time"], r.Time)
		}
		// Bodies are JSON values in pairs.jsonl, JSON text in Parquet.
		if r.Input != nil {
			in, _ := json.Marshal(m["input"])
			var want any
			json.Unmarshal([]byte(*r.Input), &want)
			w, _ := json.Marshal(want)
			if string(in) != string(w) {
				t.Errorf("line %d: input %s, parquet %s", i, in, *r.Input)
			}
		}
		if len(m) != len(parquet.SchemaOf(new(Row)).Fields()) {
			t.Errorf("line %d has %d members, want one per column", i, len(m))
		}
	}
	if i != len(got) {
		t.Fatalf("%d lines in pairs.jsonl, %d rows in pairs.parquet", i, len(got))
	}
}

// duckDBType is the type DuckDB gives a column of pairs.parquet: checked
// with DuckDB 1.5.6's DESCRIBE on a file the report wrote.
func duckDBType(f parquet.Field) string {
	var logical format.LogicalTypeValue
	if lt := f.Type().LogicalType(); lt != nil {
		logical = lt.Value
	}
	switch lt := logical.(type) {
	case *format.StringType:
		return "VARCHAR"
	case *format.TimestampType:
		if lt.IsAdjustedToUTC {
			return "TIMESTAMP WITH TIME ZONE"
		}
	case *format.IntType:
		if lt.BitWidth == 32 && lt.IsSigned {
			return "INTEGER"
		}
	case nil:
		switch f.Type().Kind() {
		case parquet.Boolean:
			return "BOOLEAN"
		case parquet.Double:
			return "DOUBLE"
		}
	}
	return "unknown " + f.Type().String()
}

// The docs' table of pairs.parquet's columns (docs/shadow-report.md) is
// the file's schema: the same names in the same order, DuckDB's types and
// which may be null.
func TestDocsTableTheParquetColumns(t *testing.T) {
	dir := t.TempDir()
	writeRows(t, dir)
	file, err := os.Open(filepath.Join(dir, ParquetFile))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	st, _ := file.Stat()
	pf, err := parquet.OpenFile(file, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	var schema []string
	for _, f := range pf.Schema().Fields() {
		null := "no"
		if f.Optional() {
			null = "yes"
		}
		schema = append(schema, f.Name()+" | "+duckDBType(f)+" | "+null)
	}

	readme, err := os.ReadFile("../../../docs/shadow-report.md")
	if err != nil {
		t.Fatal(err)
	}
	// Rows of the table under "| column | DuckDB type | null |".
	row := regexp.MustCompile("^\\| `([a-z_]+)` \\| ([A-Z ]+) \\| (yes|no) \\|")
	var documented []string
	in := false
	for _, line := range strings.Split(string(readme), "\n") {
		line = strings.TrimSpace(line) // the table sits in a list item
		switch {
		case strings.HasPrefix(line, "| column | DuckDB type | null |"):
			in = true
		case in && strings.HasPrefix(line, "| ---"):
		case in && row.MatchString(line):
			m := row.FindStringSubmatch(line)
			documented = append(documented, m[1]+" | "+strings.TrimSpace(m[2])+" | "+m[3])
		case in:
			in = false
		}
	}
	if !reflect.DeepEqual(documented, schema) {
		t.Fatalf("docs/shadow-report.md's pairs.parquet table:\n  %s\nthe file's schema:\n  %s", strings.Join(documented, "\n  "), strings.Join(schema, "\n  "))
	}
}
