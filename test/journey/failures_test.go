//go:build journey

package journey

import (
	"fmt"
	"strings"
	"sync"
	"testing"
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
