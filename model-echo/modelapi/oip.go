package modelapi

// JSON types of the Open Inference Protocol v2 REST subset model-echo
// speaks: the server answers with them, clients build requests and decode
// answers with the same definitions.

// InferRequest is the body of POST /v2/models/{name}/infer.
type InferRequest struct {
	ID         string            `json:"id,omitempty"`
	Parameters map[string]any    `json:"parameters,omitempty"`
	Inputs     []InferInput      `json:"inputs"`
	Outputs    []RequestedOutput `json:"outputs,omitempty"`
}

// InferInput is one input tensor. Data is row-major; it may be flat or
// nested (as KServe accepts) and must hold exactly product(Shape) elements.
type InferInput struct {
	Name       string         `json:"name"`
	Shape      []int64        `json:"shape"`
	Datatype   string         `json:"datatype"`
	Parameters map[string]any `json:"parameters,omitempty"`
	Data       any            `json:"data"`
}

// RequestedOutput selects an output by name; none means all outputs.
type RequestedOutput struct {
	Name       string         `json:"name"`
	Parameters map[string]any `json:"parameters,omitempty"`
}

// InferResponse is the answer to an infer call.
type InferResponse struct {
	ModelName    string         `json:"model_name"`
	ModelVersion string         `json:"model_version"`
	ID           string         `json:"id,omitempty"`
	Parameters   map[string]any `json:"parameters,omitempty"`
	Outputs      []InferOutput  `json:"outputs"`
}

// InferOutput is one output tensor. model-echo computes in float64, so
// outputs are always FP64 and Data is flat.
type InferOutput struct {
	Name     string    `json:"name"`
	Shape    []int64   `json:"shape"`
	Datatype string    `json:"datatype"`
	Data     []float64 `json:"data"`
}

// ModelMetadata is the answer to GET /v2/models/{name}.
type ModelMetadata struct {
	Name     string           `json:"name"`
	Versions []string         `json:"versions"`
	Platform string           `json:"platform"`
	Inputs   []TensorMetadata `json:"inputs"`
	Outputs  []TensorMetadata `json:"outputs"`
}

// TensorMetadata describes a tensor; -1 in Shape means any size.
type TensorMetadata struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

// ServerMetadata is the answer to GET /v2.
type ServerMetadata struct {
	Name       string   `json:"name"`
	Version    string   `json:"version"`
	Extensions []string `json:"extensions"`
}

// ErrorResponse is the body of every error answer.
type ErrorResponse struct {
	Error string `json:"error"`
}
