package modelapi

import (
	"encoding/json"
	"reflect"
	"sort"
	"testing"
	"time"
)

// The wire format is the contract clients depend on: these pin the JSON
// names, so a renamed field breaks here and not in a smoke run.
func TestWireTypesKeepTheirJSONNames(t *testing.T) {
	tests := []struct {
		name  string
		value any
		keys  []string
	}{
		{"an infer request", InferRequest{ID: "a", Parameters: map[string]any{"p": 1},
			Inputs:  []InferInput{{Name: "x", Shape: []int64{1}, Datatype: "FP32", Data: []float64{1}}},
			Outputs: []RequestedOutput{{Name: OutputName(0)}}},
			[]string{"id", "inputs", "outputs", "parameters"}},
		{"an infer response", InferResponse{ModelName: "m", ModelVersion: "v1", ID: "a",
			Outputs: []InferOutput{{Name: OutputName(0), Shape: []int64{1}, Datatype: "FP64", Data: []float64{1}}}},
			[]string{"id", "model_name", "model_version", "outputs"}},
		{"server metadata", ServerMetadata{Name: "s", Version: "1", Extensions: []string{}},
			[]string{"extensions", "name", "version"}},
		{"model metadata", ModelMetadata{Name: "m", Versions: []string{"v1"}, Platform: "p"},
			[]string{"inputs", "name", "outputs", "platform", "versions"}},
		{"an error", ErrorResponse{Error: "bad"}, []string{"error"}},
		{"a request record", RequestRecord{Seq: 1, Time: time.Unix(0, 0).UTC(), RequestID: "r", Output: "o", Error: "e"},
			[]string{"error", "host", "input_sha256", "latency_ms", "method", "mirrored", "model", "output", "output_sha256",
				"path", "request_id", "route", "seq", "status", "time", "version"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := json.Marshal(tt.value)
			if err != nil {
				t.Fatal(err)
			}
			var obj map[string]any
			if err := json.Unmarshal(data, &obj); err != nil {
				t.Fatal(err)
			}
			keys := make([]string, 0, len(obj))
			for k := range obj {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			if !reflect.DeepEqual(keys, tt.keys) {
				t.Errorf("JSON keys = %q, want %q", keys, tt.keys)
			}
			// And it decodes back to the same value.
			back := reflect.New(reflect.TypeOf(tt.value))
			if err := json.Unmarshal(data, back.Interface()); err != nil {
				t.Fatal(err)
			}
			again, _ := json.Marshal(back.Elem().Interface())
			if string(again) != string(data) {
				t.Errorf("round trip changed %s into %s", data, again)
			}
		})
	}
}

func TestPathsAndNames(t *testing.T) {
	if got := InferPath("echo"); got != "/v2/models/echo/infer" {
		t.Errorf("InferPath = %q", got)
	}
	if got := OutputName(3); got != "output-3" {
		t.Errorf("OutputName(3) = %q", got)
	}
	if RouteInfer != "/v2/models/{name}/infer" {
		t.Errorf("RouteInfer = %q: the route label of InferPath's pattern", RouteInfer)
	}
}
