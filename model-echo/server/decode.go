package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// RequestError is a client mistake in a request body. Field names where it
// is (e.g. "inputs[0].shape"), empty when the body as a whole is wrong.
type RequestError struct {
	Field string
	Msg   string
}

func (e *RequestError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

func reqErr(field, format string, args ...any) *RequestError {
	return &RequestError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// maxElements bounds a tensor's declared size, so a huge shape cannot make
// us allocate before the data count check; 1 MiB of JSON holds far fewer.
const maxElements = 1 << 22

type dtype struct {
	kind     byte // 'f' float, 'i' signed, 'u' unsigned, 'b' bool
	bitSize  int
	rangeMsg string
}

// datatypes are the OIP tensor types model-echo accepts. BYTES and FP16
// are not supported: the echo model is numeric and float16 has no Go type.
var datatypes = map[string]dtype{
	"BOOL":   {kind: 'b'},
	"INT8":   {kind: 'i', bitSize: 8},
	"INT16":  {kind: 'i', bitSize: 16},
	"INT32":  {kind: 'i', bitSize: 32},
	"INT64":  {kind: 'i', bitSize: 64},
	"UINT8":  {kind: 'u', bitSize: 8},
	"UINT16": {kind: 'u', bitSize: 16},
	"UINT32": {kind: 'u', bitSize: 32},
	"UINT64": {kind: 'u', bitSize: 64},
	"FP32":   {kind: 'f', bitSize: 32},
	"FP64":   {kind: 'f', bitSize: 64},
}

const supportedDatatypes = "BOOL, INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64, FP32, FP64"

// DecodedRequest is an infer request that passed DecodeInferRequest.
type DecodedRequest struct {
	modelapi.InferRequest
	values [][]float64 // values[i] is Inputs[i].Data flattened, row-major
}

// DecodeInferRequest parses and checks an OIP v2 infer request body. Every
// failure is a *RequestError naming the offending field; on success each
// input's data has been flattened and checked against shape and datatype.
func DecodeInferRequest(body []byte) (*DecodedRequest, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, reqErr("", "empty body: expected a JSON infer request")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // keep integers exact until the datatype is known
	dec.DisallowUnknownFields()
	var req modelapi.InferRequest
	if err := dec.Decode(&req); err != nil {
		return nil, jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, reqErr("", "malformed JSON: unexpected data after the request object")
	}
	if len(req.Inputs) == 0 {
		return nil, reqErr("inputs", "at least one input tensor is required")
	}
	values := make([][]float64, len(req.Inputs))
	seen := make(map[string]bool, len(req.Inputs))
	for i := range req.Inputs {
		in := &req.Inputs[i]
		field := fmt.Sprintf("inputs[%d]", i)
		if in.Name == "" {
			return nil, reqErr(field+".name", "is required")
		}
		if seen[in.Name] {
			return nil, reqErr(field+".name", "duplicate input name %q", in.Name)
		}
		seen[in.Name] = true
		dt, ok := datatypes[in.Datatype]
		if !ok {
			if in.Datatype == "" {
				return nil, reqErr(field+".datatype", "is required (supported: %s)", supportedDatatypes)
			}
			return nil, reqErr(field+".datatype", "unsupported datatype %q (supported: %s)", in.Datatype, supportedDatatypes)
		}
		n, err := shapeElements(in.Shape, field+".shape")
		if err != nil {
			return nil, err
		}
		if in.Data == nil {
			return nil, reqErr(field+".data", "is required")
		}
		if _, isArray := in.Data.([]any); !isArray {
			return nil, reqErr(field+".data", "must be a JSON array")
		}
		vals := make([]float64, 0, n)
		vals, err = flatten(in.Data, dt, in.Datatype, field+".data", vals, n)
		if err != nil {
			return nil, err
		}
		if len(vals) != n {
			return nil, reqErr(field+".shape", "%v holds %d elements but data has %d", in.Shape, n, len(vals))
		}
		values[i] = vals
	}
	return &DecodedRequest{InferRequest: req, values: values}, nil
}

// shapeElements returns product(shape), rejecting negative or huge shapes.
func shapeElements(shape []int64, field string) (int, error) {
	if shape == nil {
		return 0, reqErr(field, "is required (use [] for a scalar)")
	}
	n := int64(1)
	for i, d := range shape {
		if d < 0 {
			return 0, reqErr(fmt.Sprintf("%s[%d]", field, i), "dimension %d is negative", d)
		}
		if d > 0 && n > maxElements/d {
			return 0, reqErr(field, "%v has more than %d elements", shape, maxElements)
		}
		n *= d
	}
	return int(n), nil
}

// flatten appends the elements of a (possibly nested) JSON array to out,
// converted to float64 after checking them against the datatype. It stops
// as soon as more than limit elements are seen.
func flatten(v any, dt dtype, dtName, field string, out []float64, limit int) ([]float64, error) {
	arr, ok := v.([]any)
	if !ok {
		x, err := element(v, dt, dtName)
		if err != nil {
			return out, reqErr(fmt.Sprintf("%s[%d]", field, len(out)), "%s", err)
		}
		if len(out) >= limit {
			return out, reqErr(field, "has more elements than the shape's %d", limit)
		}
		return append(out, x), nil
	}
	for _, e := range arr {
		var err error
		if out, err = flatten(e, dt, dtName, field, out, limit); err != nil {
			return out, err
		}
	}
	return out, nil
}

func element(v any, dt dtype, dtName string) (float64, error) {
	if dt.kind == 'b' {
		b, ok := v.(bool)
		if !ok {
			return 0, fmt.Errorf("expected true or false for BOOL, got %s", jsonKind(v))
		}
		if b {
			return 1, nil
		}
		return 0, nil
	}
	num, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("expected a number for %s, got %s", dtName, jsonKind(v))
	}
	s := string(num)
	switch dt.kind {
	case 'i':
		i, err := strconv.ParseInt(s, 10, dt.bitSize)
		if err != nil {
			return 0, fmt.Errorf("%s is not a valid %s", s, dtName)
		}
		return float64(i), nil
	case 'u':
		u, err := strconv.ParseUint(s, 10, dt.bitSize)
		if err != nil {
			return 0, fmt.Errorf("%s is not a valid %s", s, dtName)
		}
		return float64(u), nil
	default:
		// Range-check at the declared width, but compute from the decimal
		// text in float64 so 0.1 stays 0.1 rather than float32(0.1).
		if _, err := strconv.ParseFloat(s, dt.bitSize); err != nil {
			return 0, fmt.Errorf("%s is out of range for %s", s, dtName)
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) {
			return 0, fmt.Errorf("%s is out of range for %s", s, dtName)
		}
		return f, nil
	}
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}

// jsonError turns encoding/json errors into RequestErrors naming a field.
func jsonError(err error) *RequestError {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return reqErr("", "malformed JSON at byte %d: %s", syn.Offset, strings.TrimPrefix(syn.Error(), "json: "))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(request)"
		}
		return reqErr(field, "expected %s, got JSON %s", typ.Type, typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return reqErr("", "malformed JSON: unexpected end of input")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return reqErr(strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), "unknown field")
	}
	return reqErr("", "malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}
