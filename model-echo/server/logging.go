package server

import (
	"bufio"
	"io"
	"log/slog"
	"sync"
	"time"
)

// LogWriter batches log lines: one write syscall per request line was the
// largest cost of serving GET / (see README), so lines are buffered and
// flushed every interval, when the buffer fills, and on Close. A crash can
// lose at most one interval of lines; a clean shutdown loses none.
type LogWriter struct {
	mu   sync.Mutex
	buf  *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

// NewLogWriter wraps w (os.Stdout in main). Call Close before exiting.
func NewLogWriter(w io.Writer, interval time.Duration) *LogWriter {
	l := &LogWriter{buf: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go l.flushLoop(interval)
	return l
}

// Write buffers p. slog handlers call it once per record and the request
// log once per batch of whole lines, so lines are never interleaved.
func (l *LogWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// Flush writes out what is buffered.
func (l *LogWriter) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Flush()
}

// Close stops the flusher and flushes. Writes after Close are buffered
// and flushed only by another Flush.
func (l *LogWriter) Close() error {
	select {
	case <-l.stop:
	default:
		close(l.stop)
		<-l.done
	}
	return l.Flush()
}

func (l *LogWriter) flushLoop(interval time.Duration) {
	defer close(l.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.mu.Lock()
			if l.buf.Buffered() > 0 {
				l.buf.Flush()
			}
			l.mu.Unlock()
		}
	}
}

// NewLogger is the JSON logger model-echo uses: slog's JSON handler, one
// object per line, on w. A Server given this logger encodes its request
// lines itself, in the same shape, and writes them to w in batches.
func NewLogger(w io.Writer) *slog.Logger {
	return slog.New(&lineHandler{slog.NewJSONHandler(w, nil), w})
}
