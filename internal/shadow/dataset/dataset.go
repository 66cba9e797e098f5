// Package dataset writes the paired answers a data scientist loads: one
// row per user request, as JSON lines (pairs.jsonl, bodies as JSON) and
// as Parquet (pairs.parquet, bodies as JSON-typed strings), row by row
// so nothing but one row group is held.
package dataset

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/modelrollouts/modelrollouts/internal/shadow/join"
	"github.com/modelrollouts/modelrollouts/internal/shadow/stats"
)

// File names in the output directory.
const (
	JSONLFile   = "pairs.jsonl"
	ParquetFile = "pairs.parquet"
)

// Row is one user request in pairs.parquet. Columns of a side that did
// not log the request, and the verdict of pairs without both answers,
// are null.
type Row struct {
	ID   string    `parquet:"id" json:"id"`
	Time time.Time `parquet:"time,timestamp(microsecond)" json:"time"`
	// Match is paired, primary_only or shadow_only.
	Match string `parquet:"match,dict" json:"match"`
	// Mirrored: the shadow logged a copy of the request.
	Mirrored bool    `parquet:"mirrored" json:"mirrored"`
	Input    *string `parquet:"input,optional" json:"-"`

	PrimaryOutput    *string  `parquet:"primary_output,optional" json:"-"`
	PrimaryStatus    *int32   `parquet:"primary_status,optional" json:"primary_status"`
	PrimaryLatencyMs *float64 `parquet:"primary_latency_ms,optional" json:"primary_latency_ms"`
	PrimaryPod       *string  `parquet:"primary_pod,optional,dict" json:"primary_pod"`

	ShadowOutput    *string  `parquet:"shadow_output,optional" json:"-"`
	ShadowStatus    *int32   `parquet:"shadow_status,optional" json:"shadow_status"`
	ShadowLatencyMs *float64 `parquet:"shadow_latency_ms,optional" json:"shadow_latency_ms"`
	ShadowPod       *string  `parquet:"shadow_pod,optional,dict" json:"shadow_pod"`

	// Agree and AbsDiff: the verdict under the report's tolerance; AbsDiff
	// is the largest absolute difference over all output elements.
	Agree   *bool    `parquet:"agree,optional" json:"agree"`
	AbsDiff *float64 `parquet:"abs_diff,optional" json:"abs_diff"`
}

// jsonRow is Row as a JSON line: bodies embedded as JSON, not strings.
type jsonRow struct {
	Row
	Input         json.RawMessage `json:"input"`
	PrimaryOutput json.RawMessage `json:"primary_output"`
	ShadowOutput  json.RawMessage `json:"shadow_output"`
}

// NewRow builds the row of a pair and its verdict.
func NewRow(p *join.Pair, v stats.Verdict) Row {
	r := Row{ID: p.ID, Time: p.Time.UTC(), Match: string(p.Match())}
	r.Mirrored = p.Shadow.Requested || p.Shadow.Answered
	r.Input = body(p.Input)
	side := func(s join.Side, out **string, status **int32, lat **float64, pod **string) {
		if s.Origin != "" {
			*pod = &s.Origin
		}
		if !s.Answered {
			return
		}
		st, l := int32(s.Status), float64(s.Latency)/float64(time.Millisecond)
		*out, *status, *lat = body(s.Output), &st, &l
	}
	side(p.Primary, &r.PrimaryOutput, &r.PrimaryStatus, &r.PrimaryLatencyMs, &r.PrimaryPod)
	side(p.Shadow, &r.ShadowOutput, &r.ShadowStatus, &r.ShadowLatencyMs, &r.ShadowPod)
	if v.Compared {
		agree := v.Agree
		r.Agree = &agree
		if v.Comparable {
			d := v.MaxAbsDiff
			r.AbsDiff = &d
		}
	}
	return r
}

// body keeps a JSON body as text; anything else (a base64 payload) is
// quoted so the column stays valid JSON.
func body(b []byte) *string {
	if b == nil {
		return nil
	}
	var s string
	if json.Valid(b) {
		s = string(b)
	} else {
		q, _ := json.Marshal(string(b))
		s = string(q)
	}
	return &s
}

// Writer writes both files.
type Writer struct {
	jf   *os.File
	jw   *bufio.Writer
	enc  *json.Encoder
	pf   *os.File
	pw   *parquet.GenericWriter[Row]
	buf  []Row
	rows int64
}

// rowGroup bounds the rows buffered before a Parquet write (and so the
// memory the writer holds).
const rowGroup = 8192

// Create starts pairs.jsonl and pairs.parquet in dir.
func Create(dir string) (*Writer, error) {
	jf, err := os.Create(filepath.Join(dir, JSONLFile))
	if err != nil {
		return nil, err
	}
	pf, err := os.Create(filepath.Join(dir, ParquetFile))
	if err != nil {
		jf.Close()
		return nil, err
	}
	jw := bufio.NewWriterSize(jf, 1<<20)
	enc := json.NewEncoder(jw)
	enc.SetEscapeHTML(false)
	return &Writer{
		jf: jf, jw: jw, enc: enc, pf: pf,
		pw: parquet.NewGenericWriter[Row](pf,
			parquet.Compression(&parquet.Zstd),
			parquet.MaxRowsPerRowGroup(128*1024),
			parquet.CreatedBy("modelrollouts shadow-report", "", ""),
		),
		buf: make([]Row, 0, rowGroup),
	}, nil
}

// Write appends a row to both files.
func (w *Writer) Write(r Row) error {
	jr := jsonRow{Row: r, Input: raw(r.Input), PrimaryOutput: raw(r.PrimaryOutput), ShadowOutput: raw(r.ShadowOutput)}
	if err := w.enc.Encode(&jr); err != nil {
		return fmt.Errorf("write %s: %w", JSONLFile, err)
	}
	w.buf = append(w.buf, r)
	w.rows++
	if len(w.buf) == cap(w.buf) {
		return w.flushRows()
	}
	return nil
}

func raw(s *string) json.RawMessage {
	if s == nil {
		return json.RawMessage("null")
	}
	return json.RawMessage(*s)
}

func (w *Writer) flushRows() error {
	if _, err := w.pw.Write(w.buf); err != nil {
		return fmt.Errorf("write %s: %w", ParquetFile, err)
	}
	clear(w.buf)
	w.buf = w.buf[:0]
	return nil
}

// Rows is how many rows were written.
func (w *Writer) Rows() int64 { return w.rows }

// Close finishes both files.
func (w *Writer) Close() error {
	var errs []error
	if err := w.flushRows(); err != nil {
		errs = append(errs, err)
	}
	if err := w.pw.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close %s: %w", ParquetFile, err))
	}
	if err := w.pf.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := w.jw.Flush(); err != nil {
		errs = append(errs, fmt.Errorf("write %s: %w", JSONLFile, err))
	}
	if err := w.jf.Close(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// ReadParquet reads pairs.parquet back (tests, and anyone checking a file).
func ReadParquet(path string) ([]Row, error) {
	rows, err := parquet.ReadFile[Row](path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return rows, nil
}
