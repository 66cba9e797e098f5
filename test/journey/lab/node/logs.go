package node

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// containerLog is one container instance's log on disk, one line per
// output line as a CRI runtime writes it: "TIME STREAM TEXT".
type containerLog struct {
	path string
	mu   sync.Mutex
	f    *os.File
	done chan struct{} // closed when the instance has exited
}

func newContainerLog(path string) (*containerLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	return &containerLog{path: path, f: f, done: make(chan struct{})}, nil
}

// copyFrom writes r's lines as stream's, until r ends. A line longer
// than the scanner's buffer is kept whole: the kubelet joins the
// runtime's partial lines before it serves them.
func (l *containerLog) copyFrom(r io.Reader, stream string) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			l.write(stream, bytes.TrimSuffix(line, []byte("\n")))
		}
		if err != nil {
			return
		}
	}
}

func (l *containerLog) write(stream string, text []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.f, "%s %s %s\n", time.Now().UTC().Format(time.RFC3339Nano), stream, text)
}

// finish marks the instance exited; followers stop at the end of the file.
func (l *containerLog) finish() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.f.Close()
	select {
	case <-l.done:
	default:
		close(l.done)
	}
}

// logQuery is the kubelet's containerLogs query (PodLogOptions as the API
// server passes them on).
type logQuery struct {
	follow     bool
	timestamps bool
	since      time.Time
	tailLines  int64 // -1: all
	limitBytes int64 // -1: no limit
}

func parseLogQuery(r *http.Request) (logQuery, error) {
	q := r.URL.Query()
	lq := logQuery{tailLines: -1, limitBytes: -1}
	lq.follow = q.Get("follow") == "true"
	lq.timestamps = q.Get("timestamps") == "true"
	if s := q.Get("sinceTime"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return lq, fmt.Errorf("sinceTime %q: %v", s, err)
		}
		lq.since = t
	}
	if s := q.Get("sinceSeconds"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return lq, fmt.Errorf("sinceSeconds %q: %v", s, err)
		}
		lq.since = time.Now().Add(-time.Duration(n) * time.Second)
	}
	for key, dst := range map[string]*int64{"tailLines": &lq.tailLines, "limitBytes": &lq.limitBytes} {
		if s := q.Get(key); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 {
				return lq, fmt.Errorf("%s %q: want a whole number >= 0", key, s)
			}
			*dst = n
		}
	}
	return lq, nil
}

// serve writes the log as the kubelet does: the text of each line (with
// its time first when asked), from sinceTime, the last tailLines, at most
// limitBytes; following new lines until the instance exits or the client
// goes away.
func (l *containerLog) serve(ctx context.Context, w io.Writer, q logQuery) error {
	raw, err := os.ReadFile(l.path)
	if err != nil {
		return err
	}
	lines := strings.SplitAfter(string(raw), "\n")
	if n := len(lines); n > 0 && !strings.HasSuffix(lines[n-1], "\n") {
		lines = lines[:n-1] // a line still being written
	}
	var out []string
	for _, line := range lines {
		if s, ok := q.render(line); ok {
			out = append(out, s)
		}
	}
	if q.tailLines >= 0 && int64(len(out)) > q.tailLines {
		out = out[int64(len(out))-q.tailLines:]
	}
	lw := &limitedWriter{w: w, left: q.limitBytes}
	for _, s := range out {
		if _, err := io.WriteString(lw, s); err != nil {
			return nil
		}
	}
	if !q.follow {
		return nil
	}
	offset := int64(len(strings.Join(lines, "")))
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(100 * time.Millisecond):
		}
		exited := false
		select {
		case <-l.done:
			exited = true
		default:
		}
		f, err := os.Open(l.path)
		if err != nil {
			return err
		}
		f.Seek(offset, io.SeekStart)
		more, _ := io.ReadAll(f)
		f.Close()
		if i := bytes.LastIndexByte(more, '\n'); i >= 0 {
			for _, line := range strings.SplitAfter(string(more[:i+1]), "\n") {
				if s, ok := q.render(line); ok {
					if _, err := io.WriteString(lw, s); err != nil {
						return nil
					}
				}
			}
			offset += int64(i + 1)
			if fl, ok := w.(http.Flusher); ok {
				fl.Flush()
			}
		}
		if exited {
			return nil
		}
	}
}

// render turns a stored line into what the kubelet serves, or false when
// it is before sinceTime (or not a line).
func (q logQuery) render(line string) (string, bool) {
	ts, rest, ok := strings.Cut(line, " ")
	if !ok {
		return "", false
	}
	_, text, ok := strings.Cut(rest, " ") // the stream
	if !ok {
		return "", false
	}
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil || (!q.since.IsZero() && at.Before(q.since)) {
		return "", false
	}
	if q.timestamps {
		return ts + " " + text, true
	}
	return text, true
}

type limitedWriter struct {
	w    io.Writer
	left int64 // -1: unlimited
}

func (lw *limitedWriter) Write(p []byte) (int, error) {
	if lw.left == 0 {
		return 0, io.EOF
	}
	if lw.left > 0 && int64(len(p)) > lw.left {
		p = p[:lw.left]
	}
	n, err := lw.w.Write(p)
	if lw.left > 0 {
		lw.left -= int64(n)
	}
	return n, err
}
