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
	"strconv"
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
	ID string `parquet:"id"`
	// Time is in µs, UTC (the request's arrival, truncated): the same in
	// both files.
	Time time.Time `parquet:"time,timestamp(microsecond)"`
	// Match is paired, primary_only or shadow_only.
	Match string `parquet:"match,dict"`
	// IDReused: another request carried the same id (join.Pair.IDReused);
	// the row is never compared, so Agree and AbsDiff are null.
	IDReused bool `parquet:"id_reused"`
	// Mirrored: the shadow logged a copy of the request.
	Mirrored bool    `parquet:"mirrored"`
	Input    *string `parquet:"input,optional"`

	PrimaryOutput    *string  `parquet:"primary_output,optional"`
	PrimaryStatus    *int32   `parquet:"primary_status,optional"`
	PrimaryLatencyMs *float64 `parquet:"primary_latency_ms,optional"`
	PrimaryPod       *string  `parquet:"primary_pod,optional,dict"`

	ShadowOutput    *string  `parquet:"shadow_output,optional"`
	ShadowStatus    *int32   `parquet:"shadow_status,optional"`
	ShadowLatencyMs *float64 `parquet:"shadow_latency_ms,optional"`
	ShadowPod       *string  `parquet:"shadow_pod,optional,dict"`

	// Agree and AbsDiff: the verdict under the report's tolerance; AbsDiff
	// is the largest absolute difference over all output elements.
	Agree   *bool    `parquet:"agree,optional"`
	AbsDiff *float64 `parquet:"abs_diff,optional"`
}

// NewRow builds the row of a pair and its verdict.
func NewRow(p *join.Pair, v stats.Verdict) Row {
	r := Row{ID: p.ID, Time: p.Time.UTC().Truncate(time.Microsecond), Match: string(p.Match()), IDReused: p.IDReused}
	r.Mirrored = p.Shadow.Requested || p.Shadow.Answered
	r.Input = body(p.Input, p.InputJSON)
	side := func(s join.Side, out **string, status **int32, lat **float64, pod **string) {
		if s.Origin != "" {
			*pod = &s.Origin
		}
		if !s.Answered {
			return
		}
		st, l := int32(s.Status), float64(s.Latency)/float64(time.Millisecond)
		*out, *status, *lat = body(s.Output, s.OutputJSON), &st, &l
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
func body(b []byte, isJSON bool) *string {
	if b == nil {
		return nil
	}
	var s string
	if isJSON {
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
	line []byte
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
	return &Writer{
		jf: jf, jw: bufio.NewWriterSize(jf, 1<<20), pf: pf,
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
	w.line = appendJSON(w.line[:0], &r)
	if _, err := w.jw.Write(w.line); err != nil {
		return fmt.Errorf("write %s: %w", JSONLFile, err)
	}
	w.buf = append(w.buf, r)
	w.rows++
	if len(w.buf) == cap(w.buf) {
		return w.flushRows()
	}
	return nil
}

// timeLayout is RFC 3339 in µs, as the Parquet column holds it: always
// six digits, never nanoseconds.
const timeLayout = "2006-01-02T15:04:05.000000Z07:00"

// appendJSON appends r as one line of pairs.jsonl: the columns of Row by
// their parquet names, bodies embedded as JSON rather than as strings.
// Written by hand: encoding/json's reflection was a third of the report's
// time on a million events.
func appendJSON(b []byte, r *Row) []byte {
	str := func(b []byte, key, v string) []byte {
		b = append(b, key...)
		q, _ := json.Marshal(v) // escapes as encoding/json does
		return append(b, q...)
	}
	raw := func(b []byte, key string, v *string) []byte {
		b = append(b, key...)
		if v == nil {
			return append(b, "null"...)
		}
		return append(b, *v...)
	}
	optStr := func(b []byte, key string, v *string) []byte {
		if v == nil {
			return append(append(b, key...), "null"...)
		}
		return str(b, key, *v)
	}
	optInt := func(b []byte, key string, v *int32) []byte {
		b = append(b, key...)
		if v == nil {
			return append(b, "null"...)
		}
		return strconv.AppendInt(b, int64(*v), 10)
	}
	optFloat := func(b []byte, key string, v *float64) []byte {
		b = append(b, key...)
		if v == nil {
			return append(b, "null"...)
		}
		return strconv.AppendFloat(b, *v, 'g', -1, 64)
	}
	b = str(b, `{"id":`, r.ID)
	b = append(b, `,"time":"`...)
	b = r.Time.AppendFormat(b, timeLayout)
	b = append(b, '"')
	b = str(b, `,"match":`, r.Match)
	b = strconv.AppendBool(append(b, `,"id_reused":`...), r.IDReused)
	b = strconv.AppendBool(append(b, `,"mirrored":`...), r.Mirrored)
	b = raw(b, `,"input":`, r.Input)
	b = raw(b, `,"primary_output":`, r.PrimaryOutput)
	b = optInt(b, `,"primary_status":`, r.PrimaryStatus)
	b = optFloat(b, `,"primary_latency_ms":`, r.PrimaryLatencyMs)
	b = optStr(b, `,"primary_pod":`, r.PrimaryPod)
	b = raw(b, `,"shadow_output":`, r.ShadowOutput)
	b = optInt(b, `,"shadow_status":`, r.ShadowStatus)
	b = optFloat(b, `,"shadow_latency_ms":`, r.ShadowLatencyMs)
	b = optStr(b, `,"shadow_pod":`, r.ShadowPod)
	b = append(b, `,"agree":`...)
	if r.Agree == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendBool(b, *r.Agree)
	}
	b = optFloat(b, `,"abs_diff":`, r.AbsDiff)
	return append(b, "}\n"...)
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
