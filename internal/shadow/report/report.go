// Package report writes what the shadow report says: summary.json (the
// numbers), report.md (the same in words), report.html (words and plots)
// and the plots as PNG: the latency ECDF of both versions, agreement over
// time and the histogram of output differences, plus report.png, the three
// side by side.
package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/shadow/collect"
	"github.com/modelrollouts/modelrollouts/internal/shadow/events"
	"github.com/modelrollouts/modelrollouts/internal/shadow/join"
	"github.com/modelrollouts/modelrollouts/internal/shadow/stats"
)

// File names in the output directory.
const (
	SummaryFile   = "summary.json"
	MarkdownFile  = "report.md"
	HTMLFile      = "report.html"
	PictureFile   = "report.png"
	LatencyPlot   = "latency_ecdf.png"
	AgreementPlot = "agreement_over_time.png"
	DiffPlot      = "abs_diff_hist.png"
)

// Document is summary.json: the statistics and what they were made from.
type Document struct {
	Tool      string    `json:"tool"`
	Generated time.Time `json:"generated"`
	// Source says where the logs came from (a stack, a directory).
	Source string `json:"source"`
	stats.Summary
	Inputs Inputs `json:"inputs"`
	Files  Files  `json:"files"`
}

// Inputs account for every log line and every event.
type Inputs struct {
	Logs []LogInput `json:"logs"`
	// Lines totals the logs' counts: events, other JSON lines and the
	// lines skipped (malformed, invalid, too long).
	Lines events.Counts `json:"lines"`
	// Join counts the events not paired, by reason.
	Join join.Counts `json:"join"`
	// OutsideWindow are user requests outside the time window asked for.
	OutsideWindow int64      `json:"outsideWindow"`
	WindowFrom    *time.Time `json:"windowFrom,omitempty"`
	WindowTo      *time.Time `json:"windowTo,omitempty"`
	// Pods whose logs were read (cluster runs).
	Pods []collect.Pod `json:"pods,omitempty"`
}

// LogInput is one log's counts, and the error that ended it, if any.
type LogInput struct {
	Name   string        `json:"name"`
	Counts events.Counts `json:"counts"`
	Error  string        `json:"error,omitempty"`
}

// Files names the dataset files next to the summary.
type Files struct {
	Pairs   string `json:"pairs"`
	Parquet string `json:"parquet"`
}

// Write writes summary.json, the plots, report.md and report.html to dir.
func Write(dir string, doc *Document, series *stats.Series) error {
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", SummaryFile, err)
	}
	if err := os.WriteFile(filepath.Join(dir, SummaryFile), append(b, '\n'), 0o644); err != nil {
		return err
	}
	pngs, err := writePlots(dir, doc, series)
	if err != nil {
		return fmt.Errorf("plots: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, MarkdownFile), []byte(Markdown(doc)), 0o644); err != nil {
		return err
	}
	html, err := HTML(doc, pngs)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, HTMLFile), html, 0o644)
}

// ReadSummary reads a summary.json back.
func ReadSummary(path string) (*Document, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var d Document
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return &d, nil
}
