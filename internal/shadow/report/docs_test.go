package report

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/shadow/collect"
	"github.com/modelrollouts/modelrollouts/internal/shadow/events"
	"github.com/modelrollouts/modelrollouts/internal/shadow/join"
	"github.com/modelrollouts/modelrollouts/internal/shadow/stats"
)

// everyField is a document with every optional field set: a configured
// share, a gate, outputs, a window, pods and a log that failed.
func everyField() *Document {
	share, gate := 50.0, 0.5
	a := stats.NewAccumulator(stats.Options{Primary: "v1", Shadow: "v2", MirrorPercent: &share, MinAgreement: &gate})
	ok := []byte(`{"outputs":[{"name":"o","data":[1]}]}`)
	side := join.Side{Requested: true, Answered: true, Status: 200, Output: ok, Latency: time.Millisecond}
	for i := 0; i < 10; i++ {
		p := &join.Pair{ID: fmt.Sprint(i), Time: time.Unix(int64(i), 0), Primary: side, Shadow: side}
		a.Add(p, stats.Judge(p, 0))
	}
	s, _ := a.Summary()
	at := time.Unix(0, 0)
	return &Document{
		Tool: "shadow-report", Summary: *s,
		Inputs: Inputs{
			Logs:       []LogInput{{Name: "a", Error: "stream reset"}},
			WindowFrom: &at, WindowTo: &at,
			Pods:  []collect.Pod{{Name: "p", Version: "v1"}},
			Lines: events.Counts{Lines: 1},
		},
		Files: Files{Pairs: "pairs.jsonl", Parquet: "pairs.parquet"},
	}
}

// jsonPaths lists the fields of a JSON value as dotted paths, lists as
// `name[]`; interval members are left to the interval's own entry.
func jsonPaths(prefix string, v any, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		if _, ok := v["estimate"]; ok && len(v) == 3 {
			*out = append(*out, prefix)
			return
		}
		for k, x := range v {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			jsonPaths(p, x, out)
		}
	case []any:
		if len(v) == 0 {
			*out = append(*out, prefix+"[]")
		}
		for _, x := range v[:min(1, len(v))] {
			jsonPaths(prefix+"[]", x, out)
		}
	default:
		*out = append(*out, prefix)
	}
}

// Every field summary.json can hold is in the docs' field table, and the
// table names no field the file lacks: a path is documented by a row
// whose first column names it, or names a prefix of it and the rest in
// that row's backticks.
func TestDocsListEverySummaryField(t *testing.T) {
	b, err := json.Marshal(everyField())
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var paths []string
	jsonPaths("", doc, &paths)

	text, err := os.ReadFile("../../../docs/shadow-report.md")
	if err != nil {
		t.Fatal(err)
	}
	body := string(text)
	start := strings.Index(body, "| field | what | absent when |")
	if start < 0 {
		t.Fatal("docs/shadow-report.md has no summary.json field table")
	}
	code := regexp.MustCompile("`([^`]+)`")
	rows := map[string][]string{} // documented path -> the row's code spans
	for _, line := range strings.Split(body[start:], "\n")[2:] {
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(line, "|")
		var spans []string
		for _, m := range code.FindAllStringSubmatch(line, -1) {
			spans = append(spans, m[1])
		}
		for _, m := range code.FindAllStringSubmatch(cells[1], -1) {
			rows[m[1]] = spans
		}
	}
	documented := func(path string) bool {
		segs := strings.Split(path, ".")
		for i := len(segs); i > 0; i-- {
			spans, ok := rows[strings.Join(segs[:i], ".")]
			if !ok {
				continue
			}
			for _, rest := range segs[i:] {
				if !slices.Contains(spans, strings.TrimSuffix(rest, "[]")) {
					return false
				}
			}
			return true
		}
		return false
	}
	for _, p := range paths {
		if !documented(p) {
			t.Errorf("summary.json field %s is not in the docs' field table", p)
		}
	}
	for name := range rows {
		found := false
		for _, p := range paths {
			found = found || p == name || strings.HasPrefix(p, name+".")
		}
		if !found {
			t.Errorf("the docs' field table names %s, which summary.json does not have", name)
		}
	}
}
