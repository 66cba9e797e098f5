// Package events reads model-echo's payload events (modelapi.PayloadEvent,
// KServe's CloudEvents) out of container logs. A log holds other lines too
// (the request log, start-up lines) and, after a crash or a careless
// copy, truncated or interleaved ones: every line is counted by what it
// was, and anything that is not a whole event is skipped, never fatal.
//
// Lines may be raw (what `kubectl logs` prints) or in the CRI format of
// the node's log files (`<time> stdout F <line>`, with P marking a line the
// runtime split), which is what kubelet and kwok read.
package events

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/modelrollouts/modelrollouts/internal/shadow/jsonscan"
	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// Event is one payload event, reduced to what the join needs.
type Event struct {
	ID       string
	Version  string // the event's source: the version that served it
	Response bool   // a response event; otherwise a request event
	Time     time.Time
	Mirrored bool
	Status   int           // response events
	Latency  time.Duration // response events
	// Body is the payload: JSON as logged, or the bytes of data_base64.
	Body []byte
	// BodyJSON: Body is the JSON of the event's data member.
	BodyJSON bool
	// Origin names the log the event came from (pod/container).
	Origin string
}

// Counts says what a log held, line by line.
type Counts struct {
	Lines  int64 `json:"lines"`
	Bytes  int64 `json:"bytes"`
	Events int64 `json:"events"`
	// Other are whole JSON lines that are not payload events: the request
	// log, start-up and shutdown lines.
	Other int64 `json:"otherJson"`
	// Malformed lines are neither JSON nor an event: truncated by a
	// crash, two writers interleaved, or plain text.
	Malformed int64 `json:"malformed"`
	// Invalid lines are JSON claiming to be payload events but missing
	// an id, a source or a time, or of an unknown type.
	Invalid int64 `json:"invalid"`
	// TooLong lines exceed MaxLine and are skipped whole.
	TooLong int64 `json:"tooLong"`
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Lines += o.Lines
	c.Bytes += o.Bytes
	c.Events += o.Events
	c.Other += o.Other
	c.Malformed += o.Malformed
	c.Invalid += o.Invalid
	c.TooLong += o.TooLong
}

// Skipped is every line that was not an event or another whole JSON line.
func (c Counts) Skipped() int64 { return c.Malformed + c.Invalid + c.TooLong }

// MaxLine bounds one log line: a 1 MiB body base64-encoded in an event
// is about 1.4 MiB.
const MaxLine = 8 << 20

// Reader reads events from one log.
type Reader struct {
	br      *bufio.Reader
	origin  string
	counts  Counts
	partial []byte // CRI: the pieces of a line the runtime split
	line    []byte // lines longer than the read buffer
}

// NewReader reads the log r; origin names it in every event.
func NewReader(r io.Reader, origin string) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 256<<10), origin: origin}
}

// Counts is what was read so far.
func (r *Reader) Counts() Counts { return r.counts }

// Next returns the next event, or io.EOF after the last one. Other errors
// are the underlying reader's; lines that are not events never are.
func (r *Reader) Next() (*Event, error) {
	for {
		line, tooLong, err := r.nextLine()
		switch {
		case tooLong:
			r.counts.Lines++
			r.counts.TooLong++
		case line != nil:
			r.counts.Lines++
			if ev := r.handle(line); ev != nil {
				return ev, nil // an error is returned again by the next read
			}
		}
		if err != nil {
			if len(r.partial) > 0 { // the log ended inside a split line
				r.counts.Malformed++
				r.partial = r.partial[:0]
			}
			return nil, err
		}
	}
}

// nextLine returns the next line without its line ending (nil when there
// is none), whether it was too long to keep, and io.EOF after the last.
func (r *Reader) nextLine() (line []byte, tooLong bool, err error) {
	raw, err := r.br.ReadSlice('\n')
	r.counts.Bytes += int64(len(raw))
	if errors.Is(err, bufio.ErrBufferFull) {
		r.line = append(r.line[:0], raw...)
		for errors.Is(err, bufio.ErrBufferFull) {
			raw, err = r.br.ReadSlice('\n')
			r.counts.Bytes += int64(len(raw))
			if !tooLong && len(r.line)+len(raw) > MaxLine {
				tooLong, r.line = true, r.line[:0]
			}
			if !tooLong {
				r.line = append(r.line, raw...)
			}
		}
		if tooLong {
			return nil, true, err
		}
		raw = r.line
	}
	if len(raw) == 0 {
		return nil, false, err
	}
	return bytes.TrimRight(raw, "\r\n"), false, err
}

// handle unwraps a CRI line (gathering split ones) and parses the line.
func (r *Reader) handle(line []byte) *Event {
	content, partial, ok := criLine(line)
	if !ok {
		return r.parse(line)
	}
	if partial || len(r.partial) > 0 {
		if len(r.partial)+len(content) > MaxLine {
			r.counts.TooLong++
			r.partial = r.partial[:0]
			return nil
		}
		r.partial = append(r.partial, content...)
		if partial {
			return nil
		}
		content = r.partial
		r.partial = r.partial[:0] // content stays intact until the next append
	}
	return r.parse(content)
}

// criLine splits a CRI log line "<RFC 3339 time> <stream> <P|F> <content>".
func criLine(line []byte) (content []byte, partial, ok bool) {
	if len(line) < 20 || line[0] < '0' || line[0] > '9' || line[4] != '-' || line[10] != 'T' {
		return nil, false, false
	}
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 {
		return nil, false, false
	}
	if _, err := time.Parse(time.RFC3339Nano, string(line[:sp])); err != nil {
		return nil, false, false
	}
	rest := line[sp+1:]
	sp = bytes.IndexByte(rest, ' ')
	if sp < 0 {
		return nil, false, false
	}
	stream := string(rest[:sp])
	if stream != "stdout" && stream != "stderr" {
		return nil, false, false
	}
	rest = rest[sp+1:]
	if len(rest) < 1 || (rest[0] != 'P' && rest[0] != 'F') || (len(rest) > 1 && rest[1] != ' ') {
		return nil, false, false
	}
	partial = rest[0] == 'P'
	if len(rest) > 2 {
		content = rest[2:]
	}
	return content, partial, true
}

var specVersionKey = []byte(`"specversion"`)

// parse classifies one line and returns its event, if it is one.
func (r *Reader) parse(line []byte) *Event {
	line = bytes.TrimSpace(line)
	if !bytes.Contains(line, specVersionKey) {
		if len(line) > 0 && line[0] == '{' && json.Valid(line) {
			r.counts.Other++
		} else {
			r.counts.Malformed++
		}
		return nil
	}
	if ev := r.parseFast(line); ev != nil {
		r.counts.Events++
		return ev
	}
	// The slow path decides what a line the fast one refused is.
	var pe modelapi.PayloadEvent
	if err := json.Unmarshal(line, &pe); err != nil {
		// Interleaved writes or a truncated event; also an event whose
		// members have the wrong types.
		if json.Valid(line) {
			r.counts.Invalid++
		} else {
			r.counts.Malformed++
		}
		return nil
	}
	if pe.ID == "" || pe.Source == "" || pe.Time.IsZero() || (!pe.IsRequest() && !pe.IsResponse()) {
		r.counts.Invalid++
		return nil
	}
	r.counts.Events++
	ev := &Event{
		ID:       pe.ID,
		Version:  pe.Source,
		Response: pe.IsResponse(),
		Time:     pe.Time,
		Mirrored: pe.Mirrored,
		Status:   pe.Status,
		Latency:  time.Duration(pe.LatencyMicros) * time.Microsecond,
		Body:     pe.Body(),
		BodyJSON: pe.Data != nil,
		Origin:   r.origin,
	}
	return ev
}

// parseFast reads a well-formed event without reflection (the common
// case, a million times per report); it returns nil for anything else.
func (r *Reader) parseFast(line []byte) *Event {
	ev := &Event{Origin: r.origin}
	var typ, at string
	var data, data64 []byte
	ok := true
	err := jsonscan.Members(line, func(k, v []byte) bool {
		var err error
		switch {
		case jsonscan.Key(k, "id"):
			ev.ID, err = jsonscan.String(v)
		case jsonscan.Key(k, "source"):
			ev.Version, err = jsonscan.String(v)
		case jsonscan.Key(k, "type"):
			typ, err = jsonscan.String(v)
		case jsonscan.Key(k, "time"):
			at, err = jsonscan.String(v)
		case jsonscan.Key(k, modelapi.ExtMirrored):
			ev.Mirrored, err = jsonscan.Bool(v)
		case jsonscan.Key(k, modelapi.ExtStatus):
			var n int64
			n, err = jsonscan.Int(v)
			ev.Status = int(n)
		case jsonscan.Key(k, modelapi.ExtLatencyMicros):
			var n int64
			n, err = jsonscan.Int(v)
			ev.Latency = time.Duration(n) * time.Microsecond
		case jsonscan.Key(k, "data"):
			data = v
		case jsonscan.Key(k, "data_base64"):
			data64 = v
		}
		ok = err == nil
		return ok
	})
	if err != nil || !ok || ev.ID == "" || ev.Version == "" {
		return nil
	}
	switch typ {
	case modelapi.EventTypeRequest:
	case modelapi.EventTypeResponse:
		ev.Response = true
	default:
		return nil
	}
	if ev.Time, err = time.Parse(time.RFC3339Nano, at); err != nil {
		return nil
	}
	switch {
	case data != nil:
		if !json.Valid(data) {
			return nil
		}
		if !bytes.Equal(data, []byte("null")) {
			ev.Body, ev.BodyJSON = bytes.Clone(data), true
		}
	case data64 != nil:
		s, err := jsonscan.String(data64)
		if err != nil {
			return nil
		}
		if ev.Body, err = base64.StdEncoding.DecodeString(s); err != nil {
			return nil
		}
	}
	return ev
}
