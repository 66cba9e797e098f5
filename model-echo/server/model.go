package server

import (
	"fmt"
	"math"
	"strconv"

	"github.com/modelrollouts/modelrollouts/model-echo/modelapi"
)

// The echo "model": output i is input i plus the configured bias. It is
// deterministic for a given input and bias, and a different bias per
// version makes canary and shadow disagreements measurable.

// Platform is reported in model metadata.
const Platform = "model-echo-go"

func (s *Server) metadata() modelapi.ModelMetadata {
	return modelapi.ModelMetadata{
		Name:     s.cfg.ModelName,
		Versions: []string{s.cfg.Version},
		Platform: Platform,
		// Any numeric datatype and shape is accepted; FP32 is the
		// advertised one, matching typical model servers.
		Inputs:  []modelapi.TensorMetadata{{Name: "input-0", Datatype: "FP32", Shape: []int64{-1}}},
		Outputs: []modelapi.TensorMetadata{{Name: modelapi.OutputName(0), Datatype: "FP64", Shape: []int64{-1}}},
	}
}

// infer runs the model on a decoded request. id answers when the request
// body carries none (the X-Request-Id), so responses can always be joined.
func (s *Server) infer(req *DecodedRequest, id string) (*modelapi.InferResponse, error) {
	if req.ID != "" {
		id = req.ID
	}
	resp := &modelapi.InferResponse{
		ModelName:    s.cfg.ModelName,
		ModelVersion: s.cfg.Version,
		ID:           id,
		Outputs:      make([]modelapi.InferOutput, 0, len(req.Inputs)),
	}
	want := make(map[string]bool, len(req.Outputs))
	for j, o := range req.Outputs {
		idx, ok := outputIndex(o.Name)
		if !ok || idx >= len(req.Inputs) {
			return nil, reqErr(fmt.Sprintf("outputs[%d].name", j), "unknown output %q (outputs are output-0..output-%d)", o.Name, len(req.Inputs)-1)
		}
		want[o.Name] = true
	}
	for i, in := range req.Inputs {
		name := modelapi.OutputName(i)
		if len(want) > 0 && !want[name] {
			continue
		}
		data := make([]float64, len(req.values[i]))
		for k, v := range req.values[i] {
			data[k] = v + s.cfg.Bias
			// JSON cannot carry ±Inf; say so instead of failing to encode.
			if math.IsInf(data[k], 0) {
				return nil, reqErr(fmt.Sprintf("inputs[%d].data[%d]", i, k), "%g plus bias %g overflows FP64", v, s.cfg.Bias)
			}
		}
		resp.Outputs = append(resp.Outputs, modelapi.InferOutput{
			Name:     name,
			Shape:    append([]int64{}, in.Shape...),
			Datatype: "FP64",
			Data:     data,
		})
	}
	return resp, nil
}

func outputIndex(name string) (int, bool) {
	const prefix = "output-"
	if len(name) <= len(prefix) || name[:len(prefix)] != prefix {
		return 0, false
	}
	i, err := strconv.Atoi(name[len(prefix):])
	if err != nil || i < 0 || modelapi.OutputName(i) != name {
		return 0, false
	}
	return i, true
}
