//go:build journey

package journey

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// failures keeps each journey's failure messages so the lab can say them
// again at the very end of the journey's output: a journey logs thousands
// of lines (every command's output), and CI shows only the last of them.
var failures sync.Map // *testing.T -> *[]string

func errorf(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	remember(t, msg)
	t.Error(msg)
}

func fatalf(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	remember(t, msg)
	t.Fatal(msg)
}

func remember(t *testing.T, msg string) {
	list, _ := failures.LoadOrStore(t, &[]string{})
	*list.(*[]string) = append(*list.(*[]string), firstLines(msg, 3))
}

// failedOn is what t failed on, a few lines per failure.
func failedOn(t *testing.T) string {
	list, ok := failures.Load(t)
	if !ok {
		return "(a failure outside the journey's own checks: see above)"
	}
	return "- " + strings.Join(*list.(*[]string), "\n- ")
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines[n] = "..."
	}
	return strings.Join(lines, "\n  ")
}

// lastLines is the end of the file at path, n lines at most.
func lastLines(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"..."}, lines[len(lines)-n:]...)
	}
	return "  " + strings.Join(lines, "\n  ")
}

// A journey that fails through t.Fatal or t.Error directly would end its
// output with "see above", and CI shows only the end: every check in the
// journey-tagged files goes through fatalf and errorf.
func TestJourneysFailThroughFatalfAndErrorf(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("the package's files: %v %v", files, err)
	}
	direct := regexp.MustCompile(`\bt\.(Fatal|Fatalf|Error|Errorf)\(`)
	for _, f := range files {
		if f == "failures_test.go" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("//go:build journey")) {
			continue // a unit test of the package's helpers, not a journey
		}
		for i, line := range strings.Split(string(b), "\n") {
			if direct.MatchString(line) {
				t.Errorf("%s:%d calls %s directly; use fatalf or errorf", f, i+1, direct.FindString(line))
			}
		}
	}
}

// stampedLog writes each line with the time it began at (several stand-ins
// and kwok's script write to one lab log, whole lines or not).
type stampedLog struct {
	mu      sync.Mutex
	w       io.Writer
	midLine bool
}

func (s *stampedLog) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []byte
	for _, line := range bytes.SplitAfter(p, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if !s.midLine {
			out = time.Now().AppendFormat(out, "15:04:05.000 ")
		}
		out = append(out, line...)
		s.midLine = line[len(line)-1] != '\n'
	}
	if _, err := s.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
