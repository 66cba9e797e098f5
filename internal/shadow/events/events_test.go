package events

import (
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

const (
	reqLine  = `{"specversion":"1.0","id":"a","source":"v1","type":"org.kubeflow.serving.inference.request","time":"2026-01-02T03:04:05.000001Z","datacontenttype":"application/json","inferenceservicename":"m","component":"predictor","modelversion":"v1","mirrored":false,"data":{"inputs":[1]}}`
	respLine = `{"specversion":"1.0","id":"a","source":"v1","type":"org.kubeflow.serving.inference.response","time":"2026-01-02T03:04:05.0011Z","datacontenttype":"application/json","inferenceservicename":"m","component":"predictor","modelversion":"v1","mirrored":false,"status":200,"latencyus":1099,"data":{"outputs":[2]}}`
	logLine  = `{"time":"2026-01-02T03:04:05Z","level":"INFO","msg":"request","request_id":"a","status":200}`
)

func readAll(t *testing.T, r io.Reader) ([]*Event, Counts) {
	t.Helper()
	rd := NewReader(r, "pod-a/model")
	var evs []*Event
	for {
		ev, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return evs, rd.Counts()
		}
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
}

func TestReaderKeepsEventsAndCountsTheRest(t *testing.T) {
	b64 := `{"specversion":"1.0","id":"b","source":"v2","type":"org.kubeflow.serving.inference.request","time":"2026-01-02T03:04:06Z","mirrored":true,"data_base64":"` +
		base64.StdEncoding.EncodeToString([]byte("not json")) + `"}`
	log := strings.Join([]string{
		`{"time":"2026-01-02T03:04:00Z","level":"INFO","msg":"serving","addr":":8080"}`,
		reqLine,
		logLine,
		respLine[:len(respLine)/2], // truncated by a crash
		reqLine[:40] + respLine,    // two writers interleaved
		respLine + respLine,        // two events on one line
		"panic: runtime error",     // plain text
		"",                         // empty
		`{"specversion":"1.0","id":"","source":"v1","type":"org.kubeflow.serving.inference.request","time":"2026-01-02T03:04:05Z"}`, // no id
		`{"specversion":"1.0","id":"c","source":"v1","type":"something.else","time":"2026-01-02T03:04:05Z"}`,                        // unknown type
		`{"specversion":"1.0","id":"c","source":"v1","type":"org.kubeflow.serving.inference.request","time":"yesterday"}`,           // bad time
		respLine,
		b64,
		`{"level":"INFO","msg":"no newline at the end"`,
	}, "\n")
	evs, c := readAll(t, strings.NewReader(log))
	if len(evs) != 3 {
		t.Fatalf("%d events, want 3: %+v", len(evs), evs)
	}
	want := Counts{Lines: 14, Bytes: int64(len(log)), Events: 3, Other: 2, Malformed: 6, Invalid: 3}
	if c != want {
		t.Fatalf("counts %+v, want %+v", c, want)
	}
	req, resp, bin := evs[0], evs[1], evs[2]
	if req.ID != "a" || req.Version != "v1" || req.Response || string(req.Body) != `{"inputs":[1]}` || req.Origin != "pod-a/model" ||
		!req.Time.Equal(time.Date(2026, 1, 2, 3, 4, 5, 1000, time.UTC)) {
		t.Errorf("request event %+v", req)
	}
	if !resp.Response || resp.Status != 200 || resp.Latency != 1099*time.Microsecond || string(resp.Body) != `{"outputs":[2]}` {
		t.Errorf("response event %+v", resp)
	}
	if !bin.Mirrored || string(bin.Body) != "not json" {
		t.Errorf("base64 event %+v", bin)
	}
}

// The CRI format of node log files (what kubelet and kwok serve from):
// split lines are joined, a split line the log ends inside is malformed.
func TestReaderJoinsCRIPartialLines(t *testing.T) {
	half := len(reqLine) / 3
	log := "2026-01-02T03:04:05.000000001Z stdout P " + reqLine[:half] + "\n" +
		"2026-01-02T03:04:05.000000002Z stdout P " + reqLine[half:2*half] + "\n" +
		"2026-01-02T03:04:05.000000003Z stdout F " + reqLine[2*half:] + "\n" +
		"2026-01-02T03:04:05.000000004Z stderr F " + logLine + "\n" +
		"2026-01-02T03:04:05.000000005Z stdout F " + respLine + "\n" +
		"2026-01-02T03:04:05.000000006Z stdout P " + respLine[:50] + "\n"
	evs, c := readAll(t, strings.NewReader(log))
	if len(evs) != 2 || evs[0].Response || !evs[1].Response {
		t.Fatalf("events %+v", evs)
	}
	if c.Events != 2 || c.Other != 1 || c.Malformed != 1 || c.Lines != 6 {
		t.Fatalf("counts %+v", c)
	}
}

// A line beyond MaxLine is skipped whole and the next one still read; a
// reader that hands out a byte at a time changes nothing.
func TestReaderSkipsOverlongLines(t *testing.T) {
	long := `{"specversion":"1.0","data":"` + strings.Repeat("x", MaxLine) + `"}`
	log := reqLine + "\n" + long + "\n" + respLine + "\n"
	evs, c := readAll(t, strings.NewReader(log))
	if len(evs) != 2 || c.TooLong != 1 || c.Lines != 3 || c.Bytes != int64(len(log)) {
		t.Fatalf("%d events, counts %+v", len(evs), c)
	}
	evs, c = readAll(t, iotest.OneByteReader(strings.NewReader(reqLine+"\n"+logLine+"\n"+respLine)))
	if len(evs) != 2 || c.Other != 1 {
		t.Fatalf("one byte at a time: %d events, counts %+v", len(evs), c)
	}
}

// A read error mid-log ends the log with that error, after the events
// before it.
func TestReaderReportsReadErrors(t *testing.T) {
	boom := errors.New("stream reset")
	r := io.MultiReader(strings.NewReader(reqLine+"\n"), iotest.ErrReader(boom))
	rd := NewReader(r, "x")
	if ev, err := rd.Next(); err != nil || ev == nil {
		t.Fatalf("first event: %v %v", ev, err)
	}
	if _, err := rd.Next(); !errors.Is(err, boom) {
		t.Fatalf("got %v, want the read error", err)
	}
}

// Two pods' lines spliced mid-line, as when two writers share one file
// (or logs are copied carelessly): pod A's line is cut by pod B's whole
// line and ends on the next one, or each cuts the other. Every spliced
// piece is counted as malformed and skipped; the whole events around them
// are read; nothing panics.
func TestReaderSkipsTwoPodsLinesSplicedMidLine(t *testing.T) {
	podB := strings.ReplaceAll(strings.ReplaceAll(respLine, `"id":"a"`, `"id":"b"`), `"v1"`, `"v2"`)
	for _, c := range []struct {
		name      string
		log       string
		events    int
		malformed int64
	}{
		{"B's whole line inside A's", reqLine[:70] + podB + "\n" + reqLine[70:] + "\n" + respLine + "\n", 1, 2},
		{"each cuts the other", reqLine[:33] + podB[:90] + "\n" + reqLine[33:] + podB[90:] + "\n" + respLine + "\n", 1, 2},
		{"cut inside the data", reqLine[:len(reqLine)-5] + podB + "\n" + reqLine[len(reqLine)-5:] + "\n", 0, 2},
		{"cut inside an escape", `{"specversion":"1.0","id":"x\` + "\n" + podB + "\n", 1, 1},
		{"CRI lines of two pods", "2026-01-02T03:04:05Z stdout P " + reqLine[:50] + "\n" +
			"2026-01-02T03:04:05Z stdout F " + podB + "\n" +
			"2026-01-02T03:04:05Z stdout F " + reqLine[50:] + "\n", 0, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			evs, counts := readAll(t, strings.NewReader(c.log))
			if len(evs) != c.events || counts.Malformed != c.malformed || counts.Events != int64(c.events) || counts.Invalid != 0 {
				t.Fatalf("%d events, counts %+v; want %d events, %d malformed", len(evs), counts, c.events, c.malformed)
			}
			for _, ev := range evs {
				if ev.ID != "a" && ev.ID != "b" {
					t.Errorf("event made of pieces: %+v", ev)
				}
			}
		})
	}
}

// A huge event (a 3 MiB body, beyond the reader's buffer) is read whole,
// as a raw line and as the 16 KiB pieces kubelet splits it into; the
// next event still follows.
func TestReaderReadsHugeEvents(t *testing.T) {
	big := `[` + strings.Repeat(`1.25,`, 700_000) + `2]`
	huge := strings.Replace(respLine, `{"outputs":[2]}`, `{"outputs":[{"name":"o","data":`+big+`}]}`, 1)
	if len(huge) < 3<<20 {
		t.Fatalf("line of %d bytes, want over 3 MiB", len(huge))
	}
	check := func(t *testing.T, log string) {
		evs, c := readAll(t, strings.NewReader(log))
		if len(evs) != 2 || c.Events != 2 || c.Skipped() != 0 {
			t.Fatalf("%d events, counts %+v", len(evs), c)
		}
		if want := `{"outputs":[{"name":"o","data":` + big + `}]}`; string(evs[0].Body) != want {
			t.Fatalf("huge body of %d bytes, want %d", len(evs[0].Body), len(want))
		}
		if evs[1].ID != "a" || evs[1].Response {
			t.Fatalf("the event after the huge one: %+v", evs[1])
		}
	}
	t.Run("raw", func(t *testing.T) { check(t, huge+"\n"+reqLine+"\n") })
	t.Run("CRI pieces", func(t *testing.T) {
		var b strings.Builder
		for rest := huge; rest != ""; {
			n := min(len(rest), 16<<10)
			tag := "P"
			if n == len(rest) {
				tag = "F"
			}
			b.WriteString("2026-01-02T03:04:05.1Z stdout " + tag + " " + rest[:n] + "\n")
			rest = rest[n:]
		}
		b.WriteString("2026-01-02T03:04:05.2Z stdout F " + reqLine + "\n")
		check(t, b.String())
	})
}
