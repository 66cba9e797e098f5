// Package pipeline runs the shadow report from logs to files: it reads
// every log in parallel (collect, events), merges their events in time
// order and joins them into pairs (join), judges and sums up each pair
// (stats) while writing it out (dataset), then writes the summary and the
// reports (report). Pairs stream through: memory holds the join's window,
// not the dataset.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/shadow/collect"
	"github.com/modelrollouts/modelrollouts/internal/shadow/dataset"
	"github.com/modelrollouts/modelrollouts/internal/shadow/events"
	"github.com/modelrollouts/modelrollouts/internal/shadow/join"
	"github.com/modelrollouts/modelrollouts/internal/shadow/report"
	"github.com/modelrollouts/modelrollouts/internal/shadow/stats"
)

// Options of one run.
type Options struct {
	Logs []collect.Log
	// SaveLogs, when set, gets a copy of every log read (re-run the
	// report from it with --logs).
	SaveLogs string
	OutDir   string
	// Stats holds the versions, the configured share, the tolerance and
	// the gate.
	Stats stats.Options
	// Window is how long a pair waits for its missing events.
	Window time.Duration
	// From and To keep only user requests that arrived in [From, To]
	// (zero: unbounded).
	From, To time.Time
	// Source says where the logs came from, for the report.
	Source string
	Pods   []collect.Pod
	// Progress, when set, shows a progress bar there.
	Progress *Progress
	// WriteReport writes the report files (summary, Markdown, HTML,
	// plots) into OutDir; nil is report.Write. Rendering the plots is
	// most of a small report's time: tests that look only at the
	// numbers pass one that writes nothing.
	WriteReport func(dir string, doc *report.Document, series *stats.Series) error
	// EventsByVersion, when not nil, gets the number of events read of
	// each version, so a caller can say which versions the logs hold.
	EventsByVersion map[string]int64
}

// Run makes the report. Logs that cannot be read are reported in the
// summary (and returned as a joined error) but do not stop the others.
func Run(ctx context.Context, o Options) (*report.Document, error) {
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return nil, err
	}
	if o.SaveLogs != "" {
		if err := os.MkdirAll(o.SaveLogs, 0o755); err != nil {
			return nil, err
		}
	}
	w, err := dataset.Create(o.OutDir)
	if err != nil {
		return nil, err
	}
	acc := stats.NewAccumulator(o.Stats)
	var writeErr error
	var outside int64
	j := join.New(o.Stats.Primary, o.Stats.Shadow, o.Window, func(p *join.Pair) {
		// The window is on the user request's arrival, so a request at
		// its edge keeps its response and its copy.
		if (!o.From.IsZero() && p.Time.Before(o.From)) || (!o.To.IsZero() && p.Time.After(o.To)) {
			outside++
			return
		}
		v := stats.Judge(p, o.Stats.Tolerance)
		acc.Add(p, v)
		if writeErr == nil {
			writeErr = w.Write(dataset.NewRow(p, v))
		}
	})

	sources := make([]*logSource, len(o.Logs))
	named := make([]join.NamedSource, len(o.Logs))
	for i, l := range o.Logs {
		sources[i] = &logSource{ctx: ctx, log: l, save: o.SaveLogs, progress: o.Progress}
		named[i] = join.NamedSource{Name: l.Name, Source: sources[i]}
	}
	if o.Progress != nil {
		o.Progress.start(o.Logs)
	}
	add := j.Add
	if o.EventsByVersion != nil {
		add = func(ev *events.Event) { o.EventsByVersion[ev.Version]++; j.Add(ev) }
	}
	readErr := join.Merge(ctx, named, add)
	j.Close()
	if o.Progress != nil {
		o.Progress.finish()
	}
	if err := w.Close(); err != nil && writeErr == nil {
		writeErr = err
	}
	if writeErr != nil {
		return nil, writeErr
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	sum, series := acc.Summary()
	doc := &report.Document{
		Tool: "shadow-report", Generated: time.Now().UTC(), Source: o.Source,
		Summary: *sum,
		Inputs:  report.Inputs{Join: j.Counts(), OutsideWindow: outside, Pods: o.Pods},
	}
	if !o.From.IsZero() {
		doc.Inputs.WindowFrom = &o.From
	}
	if !o.To.IsZero() {
		doc.Inputs.WindowTo = &o.To
	}
	for _, s := range sources {
		li := report.LogInput{Name: s.log.Name, Counts: s.counts}
		if s.err != nil {
			li.Error = s.err.Error()
		}
		doc.Inputs.Lines.Add(s.counts)
		doc.Inputs.Logs = append(doc.Inputs.Logs, li)
	}
	doc.Files = report.Files{Pairs: dataset.JSONLFile, Parquet: dataset.ParquetFile}
	writeReport := o.WriteReport
	if writeReport == nil {
		writeReport = report.Write
	}
	if err := writeReport(o.OutDir, doc, series); err != nil {
		return nil, err
	}
	return doc, readErr
}

// logSource opens its log on first use, copies it to the save directory
// and counts its bytes for the progress bar while events are parsed.
type logSource struct {
	ctx      context.Context
	log      collect.Log
	save     string
	progress *Progress

	once   sync.Once
	rc     io.ReadCloser
	saved  *os.File
	reader *events.Reader
	counts events.Counts
	err    error
}

func (s *logSource) Next() (*events.Event, error) {
	s.once.Do(s.open)
	if s.reader == nil {
		return nil, s.err
	}
	ev, err := s.reader.Next()
	if err != nil {
		s.counts = s.reader.Counts()
		s.close()
		if !errors.Is(err, io.EOF) {
			s.err = err
		}
		if s.progress != nil {
			s.progress.logDone()
		}
	}
	return ev, err
}

func (s *logSource) open() {
	rc, err := s.log.Open(s.ctx)
	if err != nil {
		s.err = err
		if s.progress != nil {
			s.progress.logDone()
		}
		return
	}
	s.rc = rc
	var r io.Reader = rc
	if s.save != "" {
		f, err := os.Create(filepath.Join(s.save, s.log.FileName()))
		if err != nil {
			rc.Close()
			s.err = fmt.Errorf("save %s: %w", s.log.Name, err)
			return
		}
		s.saved = f
		r = io.TeeReader(r, f)
	}
	if s.progress != nil {
		r = s.progress.reader(r)
	}
	s.reader = events.NewReader(r, s.log.Name)
}

func (s *logSource) close() {
	if s.rc != nil {
		s.rc.Close()
	}
	if s.saved != nil {
		if err := s.saved.Close(); err != nil && s.err == nil {
			s.err = err
		}
	}
}
