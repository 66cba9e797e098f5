package payloadsink

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"

	"github.com/modelrollouts/modelrollouts/model-echo/jsonlines"
	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// encoder writes events as CloudEvents JSON lines, with the members in
// modelapi.PayloadEvent's order, without reflection.
type encoder struct {
	model, version string
	// fixed is `,"inferenceservicename":...,"component":...,"modelversion":...`.
	fixed []byte
	buf   bytes.Buffer
}

func newEncoder(model, version string) encoder {
	f := jsonlines.AppendString([]byte(`,"`+modelapi.ExtInferenceService+`":`), model)
	f = jsonlines.AppendString(append(f, `,"`+modelapi.ExtComponent+`":`...), modelapi.EventComponent)
	f = jsonlines.AppendString(append(f, `,"`+modelapi.ExtModelVersion+`":`...), version)
	return encoder{model: model, version: version, fixed: f}
}

type dataKind int

const (
	dataNone dataKind = iota
	dataJSON
	dataBinary
)

// kindOf says how an event carries a body: JSON as it is, anything else
// or a cut body (no longer JSON) as base64.
func kindOf(body []byte, knownJSON, cut bool) dataKind {
	switch {
	case len(body) == 0:
		return dataNone
	case cut:
		return dataBinary
	case knownJSON || json.Valid(body):
		return dataJSON
	}
	return dataBinary
}

// encode appends the request's and the response's line and returns both
// events for the sender.
func (e *encoder) encode(p *Exchange) (req, resp postEvent) {
	req = postEvent{
		id: p.RequestID, source: e.version, model: e.model, mirrored: p.Mirrored,
		typ: modelapi.EventTypeRequest, at: p.Start, truncated: p.InputCut,
		body: p.Input, kind: kindOf(p.Input, p.InputJSON, p.InputCut),
	}
	resp = postEvent{
		id: p.RequestID, source: e.version, model: e.model, mirrored: p.Mirrored,
		typ: modelapi.EventTypeResponse, at: p.Start.Add(p.Latency), truncated: p.OutputCut,
		status: p.Status, latency: p.Latency,
		body: p.Output, kind: kindOf(p.Output, p.OutputJSON, p.OutputCut),
	}
	e.line(&req)
	e.line(&resp)
	return req, resp
}

// line appends one event: the request (its time is the arrival) or the
// response (its time is the answer's, with status and latency).
func (e *encoder) line(ev *postEvent) {
	b := e.buf.AvailableBuffer()
	b = append(b, `{"specversion":"`+modelapi.CloudEventsSpecVersion+`","id":`...)
	b = jsonlines.AppendString(b, ev.id)
	b = jsonlines.AppendString(append(b, `,"source":`...), e.version)
	b = append(b, `,"type":"`...)
	b = append(b, ev.typ...)
	b = append(b, `","time":"`...)
	b = ev.at.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	switch ev.kind {
	case dataJSON:
		b = append(b, `,"datacontenttype":"application/json"`...)
	case dataBinary:
		b = append(b, `,"datacontenttype":"application/octet-stream"`...)
	}
	b = append(b, e.fixed...)
	b = strconv.AppendBool(append(b, `,"`+modelapi.ExtMirrored+`":`...), ev.mirrored)
	if ev.typ == modelapi.EventTypeResponse {
		b = strconv.AppendInt(append(b, `,"`+modelapi.ExtStatus+`":`...), int64(ev.status), 10)
		b = strconv.AppendInt(append(b, `,"`+modelapi.ExtLatencyMicros+`":`...), ev.latency.Microseconds(), 10)
	}
	switch ev.kind {
	case dataJSON:
		b = append(b, `,"data":`...)
		// A server ends its answer with a newline; the event is one line.
		body := bytes.TrimRight(ev.body, "\r\n")
		if bytes.IndexAny(body, "\r\n") < 0 {
			b = append(b, body...)
			break
		}
		e.buf.Write(b)
		// Compact takes out the newlines of a pretty-printed body.
		json.Compact(&e.buf, body) // cannot fail: the body is valid JSON
		b = e.buf.AvailableBuffer()
	case dataBinary:
		b = append(b, `,"data_base64":"`...)
		b = base64.StdEncoding.AppendEncode(b, ev.body)
		b = append(b, '"')
	}
	if ev.truncated {
		b = append(b, `,"`+modelapi.ExtTruncated+`":true`...)
	}
	b = append(b, "}\n"...)
	e.buf.Write(b)
}
