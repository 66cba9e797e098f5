package pipeline

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/modelrollouts/modelrollouts/internal/shadow/collect"
)

// Progress is the bar shown while logs are read: bytes read against the
// total when it is known (saved logs), a spinner with the byte count when
// it is not (logs streamed from the API), and how many logs are done.
type Progress struct {
	w    io.Writer
	tty  bool
	bar  *progressbar.ProgressBar
	logs int
	done atomic.Int64
}

// NewProgress shows progress on w; on a terminal the bar redraws in
// place, elsewhere (CI logs) it prints a line now and then.
func NewProgress(w io.Writer, tty bool) *Progress { return &Progress{w: w, tty: tty} }

func (p *Progress) start(logs []collect.Log) {
	p.logs = len(logs)
	total := int64(0)
	for _, l := range logs {
		if l.Size < 0 {
			total = -1
			break
		}
		total += l.Size
	}
	throttle := 100 * time.Millisecond
	if !p.tty {
		throttle = 5 * time.Second
	}
	p.bar = progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(throttle),
		progressbar.OptionSetDescription(p.describe()),
		progressbar.OptionUseANSICodes(p.tty),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }),
	)
}

func (p *Progress) describe() string {
	return fmt.Sprintf("reading logs %d/%d", p.done.Load(), p.logs)
}

func (p *Progress) logDone() {
	p.done.Add(1)
	if p.bar != nil {
		p.bar.Describe(p.describe())
	}
}

func (p *Progress) reader(r io.Reader) io.Reader { return &counting{r: r, bar: p.bar} }

func (p *Progress) finish() {
	if p.bar != nil {
		p.bar.Describe(p.describe())
		p.bar.Finish()
	}
}

type counting struct {
	r   io.Reader
	bar *progressbar.ProgressBar
}

func (c *counting) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if n > 0 {
		c.bar.Add64(int64(n))
	}
	return n, err
}
