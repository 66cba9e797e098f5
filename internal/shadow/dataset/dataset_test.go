package dataset

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/shadow/join"
	"github.com/modelrollouts/modelrollouts/internal/shadow/stats"
)

func TestParquetReadsBack(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := &join.Pair{ID: "a", Time: time.Unix(1, 0), Input: []byte(`{"x":1}`),
		Primary: join.Side{Requested: true, Answered: true, Status: 200, Output: []byte(`{"y":2}`), Latency: time.Millisecond, Origin: "pod-a"}}
	if err := w.Write(NewRow(p, stats.Verdict{})); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rows, err := ReadParquet(filepath.Join(dir, ParquetFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", rows[0])
	if rows[0].Input == nil {
		t.Fatal("input nil")
	}
}
