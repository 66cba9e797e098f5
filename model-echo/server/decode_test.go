package server

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeInferRequestValid(t *testing.T) {
	t.Parallel()
	req, err := DecodeInferRequest([]byte(`{"id":"a","parameters":{"p":1},"inputs":[
		{"name":"x","shape":[2,2],"datatype":"FP32","data":[[0.1,2],[3,4]]},
		{"name":"y","shape":[3],"datatype":"INT64","data":[-9007199254740993,0,1]},
		{"name":"z","shape":[],"datatype":"BOOL","data":[true]},
		{"name":"e","shape":[0,5],"datatype":"UINT8","data":[]}],
		"outputs":[{"name":"output-1"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if req.ID != "a" || len(req.Inputs) != 4 || len(req.Outputs) != 1 {
		t.Fatalf("decoded %+v", req)
	}
	want := [][]float64{{0.1, 2, 3, 4}, {-9007199254740992, 0, 1}, {1}, {}}
	for i := range req.Inputs {
		if !reflect.DeepEqual(req.values[i], want[i]) {
			t.Errorf("inputs[%d] values = %v, want %v", i, req.values[i], want[i])
		}
	}
}

func TestDecodeInferRequestErrors(t *testing.T) {
	t.Parallel()
	in := func(s string) string { return `{"inputs":[` + s + `]}` }
	cases := []struct{ body, field, msg string }{
		{``, "", "empty body"},
		{`{"inputs":[`, "", "malformed JSON"},
		{`{"inputs":[]} {}`, "", "unexpected data"},
		{`{inputs:1}`, "", "malformed JSON at byte"},
		{`[1,2]`, "(request)", "expected"},
		{`{"inputs":[]}`, "inputs", "at least one"},
		{`{}`, "inputs", "at least one"},
		{`null`, "inputs", "at least one"},
		{`{"inputs":[],"bogus":1}`, "bogus", "unknown field"},
		{`{"id":5,"inputs":[]}`, "id", "expected string"},
		{in(`{"shape":[1],"datatype":"FP32","data":[1]}`), "inputs[0].name", "required"},
		{in(`{"name":"a","shape":[1],"datatype":"FP32","data":[1]},{"name":"a","shape":[1],"datatype":"FP32","data":[1]}`), "inputs[1].name", "duplicate"},
		{in(`{"name":"a","shape":[1],"data":[1]}`), "inputs[0].datatype", "required"},
		{in(`{"name":"a","shape":[1],"datatype":"BYTES","data":["x"]}`), "inputs[0].datatype", `unsupported datatype "BYTES"`},
		{in(`{"name":"a","shape":[1],"datatype":"fp32","data":[1]}`), "inputs[0].datatype", "unsupported"},
		{in(`{"name":"a","datatype":"FP32","data":[1]}`), "inputs[0].shape", "required"},
		{in(`{"name":"a","shape":[2,-1],"datatype":"FP32","data":[1]}`), "inputs[0].shape[1]", "negative"},
		{in(`{"name":"a","shape":[1.5],"datatype":"FP32","data":[1]}`), "inputs.shape", "expected int64"},
		{in(`{"name":"a","shape":[100000,100000],"datatype":"FP32","data":[1]}`), "inputs[0].shape", "more than"},
		{in(`{"name":"a","shape":[2,3],"datatype":"FP32","data":[1,2,3,4]}`), "inputs[0].shape", "[2 3] holds 6 elements but data has 4"},
		{in(`{"name":"a","shape":[1],"datatype":"FP32","data":[1,2]}`), "inputs[0].data", "more elements"},
		{in(`{"name":"a","shape":[1],"datatype":"FP32"}`), "inputs[0].data", "required"},
		{in(`{"name":"a","shape":[1],"datatype":"FP32","data":1}`), "inputs[0].data", "must be a JSON array"},
		{in(`{"name":"a","shape":[2],"datatype":"FP32","data":[1,"2"]}`), "inputs[0].data[1]", "expected a number for FP32, got a string"},
		{in(`{"name":"a","shape":[2],"datatype":"FP64","data":[1,null]}`), "inputs[0].data[1]", "got null"},
		{in(`{"name":"a","shape":[1],"datatype":"BOOL","data":[1]}`), "inputs[0].data[0]", "expected true or false"},
		{in(`{"name":"a","shape":[1],"datatype":"INT32","data":[2147483648]}`), "inputs[0].data[0]", "not a valid INT32"},
		{in(`{"name":"a","shape":[1],"datatype":"INT64","data":[1.5]}`), "inputs[0].data[0]", "not a valid INT64"},
		{in(`{"name":"a","shape":[1],"datatype":"UINT8","data":[-1]}`), "inputs[0].data[0]", "not a valid UINT8"},
		{in(`{"name":"a","shape":[1],"datatype":"FP32","data":[1e39]}`), "inputs[0].data[0]", "out of range for FP32"},
		{in(`{"name":"a","shape":[1],"datatype":"FP64","data":[1e400]}`), "inputs[0].data[0]", "out of range for FP64"},
		{in(`{"name":"a","shape":[1],"datatype":"FP64","data":[{"v":1}]}`), "inputs[0].data[0]", "got an object"},
	}
	for _, c := range cases {
		_, err := DecodeInferRequest([]byte(c.body))
		var re *RequestError
		if !errors.As(err, &re) {
			t.Errorf("%s: got %v, want a *RequestError", c.body, err)
			continue
		}
		if re.Field != c.field || !strings.Contains(re.Msg, c.msg) {
			t.Errorf("%s:\n got field %q msg %q\nwant field %q msg containing %q", c.body, re.Field, re.Msg, c.field, c.msg)
		}
		if c.field != "" && !strings.HasPrefix(err.Error(), c.field+": ") {
			t.Errorf("%s: error text %q does not start with the field", c.body, err)
		}
	}
}

// FuzzDecodeInferRequest checks that the decoder never panics and that
// whatever it accepts satisfies the invariants the handler relies on.
func FuzzDecodeInferRequest(f *testing.F) {
	for _, s := range []string{
		`{"id":"1","inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","data":[[1,2],[3,4]]}]}`,
		`{"inputs":[{"name":"x","shape":[3],"datatype":"INT64","data":[1,-2,3]}],"outputs":[{"name":"output-0"}]}`,
		`{"inputs":[{"name":"b","shape":[],"datatype":"BOOL","data":[true]}]}`,
		`{"inputs":[{"name":"e","shape":[0],"datatype":"UINT16","data":[]}]}`,
		`{"inputs":[{"name":"x","shape":[1],"datatype":"FP64","data":[1e308]}]}`,
		`{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1]}]}`,
		`{"inputs":[`,
		`[]`,
		``,
	} {
		f.Add([]byte(s))
	}
	// A huge bias makes overflow reachable; one server serves all inputs.
	s := New(Config{Target: "t", Bias: 1e308}, nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeInferRequest(body)
		if err != nil {
			var re *RequestError
			if !errors.As(err, &re) {
				t.Fatalf("error %v (%T) is not a *RequestError", err, err)
			}
			return
		}
		if len(req.Inputs) == 0 {
			t.Fatal("accepted a request without inputs")
		}
		for i, in := range req.Inputs {
			n := 1
			for _, d := range in.Shape {
				if d < 0 {
					t.Fatalf("inputs[%d]: accepted negative dimension", i)
				}
				n *= int(d)
			}
			if n != len(req.values[i]) {
				t.Fatalf("inputs[%d]: shape %v but %d values", i, in.Shape, len(req.values[i]))
			}
			if _, ok := datatypes[in.Datatype]; !ok {
				t.Fatalf("inputs[%d]: accepted datatype %q", i, in.Datatype)
			}
		}
		// Whatever is accepted must also be answerable: the echo model
		// output encodes as JSON or is a RequestError, never a panic.
		resp, err := s.infer(req, "id")
		if err != nil {
			var re *RequestError
			if !errors.As(err, &re) {
				t.Fatalf("infer error %v is not a *RequestError", err)
			}
			return
		}
		if _, err := json.Marshal(resp); err != nil {
			t.Fatalf("response does not encode: %v", err)
		}
	})
}
