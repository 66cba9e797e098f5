package modelapi

import (
	"encoding/json"
	"time"
)

// Payload logging: per inference request the server emits a request and a
// response event in the shape of KServe's inference logger (CloudEvents
// 1.0), as JSON lines on stdout (the CloudEvents JSON format) and, when
// LOGGER_URL is set, POSTed there in CloudEvents' binary HTTP mode, as
// KServe's logger does. The shadow report joins the events of a primary
// and its shadow by ID.
const (
	// EnvPayloadLog turns payload events on ("true"); off by default.
	EnvPayloadLog = "PAYLOAD_LOG"
	// EnvLoggerURL is a KServe-compatible sink (http or https) that also
	// receives every event; it needs PAYLOAD_LOG=true.
	EnvLoggerURL = "LOGGER_URL"
)

// CloudEvents attributes of payload events.
const (
	CloudEventsSpecVersion = "1.0"
	// EventTypeRequest and EventTypeResponse are KServe's event types.
	EventTypeRequest  = "org.kubeflow.serving.inference.request"
	EventTypeResponse = "org.kubeflow.serving.inference.response"
	// EventComponent is KServe's "component" extension: the model server
	// is the predictor.
	EventComponent = "predictor"
)

// Extension attribute names (CloudEvents wants them lowercase
// alphanumeric). In binary HTTP mode each is the header "ce-" + name.
const (
	// ExtInferenceService carries the model name, as KServe's logger
	// carries the InferenceService name.
	ExtInferenceService = "inferenceservicename"
	ExtComponent        = "component"
	// ExtModelVersion is the version that served the request (also the
	// event's source).
	ExtModelVersion = "modelversion"
	// ExtMirrored is true on Istio's mirrored copies (Host ends in -shadow).
	ExtMirrored = "mirrored"
	// ExtStatus is the HTTP status of the answer (response events).
	ExtStatus = "status"
	// ExtLatencyMicros is the time from arrival to answer in microseconds
	// (response events; CloudEvents has no floating point type).
	ExtLatencyMicros = "latencyus"
)

// PayloadEvent is one payload event as a JSON line: the CloudEvents JSON
// format, extensions as top-level members. ID is the request id (the
// X-Request-Id, which Istio keeps on mirrored copies), Source the model
// version. Data is the body when it is JSON, otherwise DataBase64 holds it.
type PayloadEvent struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Time            time.Time       `json:"time"`
	DataContentType string          `json:"datacontenttype,omitempty"`
	ModelName       string          `json:"inferenceservicename"`
	Component       string          `json:"component,omitempty"`
	ModelVersion    string          `json:"modelversion"`
	Mirrored        bool            `json:"mirrored"`
	Status          int             `json:"status,omitempty"`
	LatencyMicros   int64           `json:"latencyus,omitempty"`
	Data            json.RawMessage `json:"data,omitempty"`
	DataBase64      []byte          `json:"data_base64,omitempty"`
	// Truncated: the body was cut at PayloadMaxBodyBytes (model-agent
	// only; model-echo refuses bodies that large).
	Truncated bool `json:"truncated,omitempty"`
}

// IsRequest and IsResponse tell the two event types apart.
func (e *PayloadEvent) IsRequest() bool  { return e.Type == EventTypeRequest }
func (e *PayloadEvent) IsResponse() bool { return e.Type == EventTypeResponse }

// Body is the event's payload, whichever member carries it.
func (e *PayloadEvent) Body() []byte {
	if e.Data != nil {
		return e.Data
	}
	return e.DataBase64
}

// Payload log metrics.
const (
	// MetricPayloadDropped counts payload events not written because the
	// queue of a sink ("stdout" or "http") was full; it should stay 0.
	MetricPayloadDropped = "model_echo_payload_events_dropped_total"
	// MetricPayloadPostFailures counts events the LOGGER_URL sink did not
	// accept (transport error or a status other than 2xx).
	MetricPayloadPostFailures = "model_echo_payload_post_failures_total"
)

// Where the deployments put the server, so tools that read its logs (the
// shadow report) find them: the container's name in every pod, and the pod
// label that carries the version.
const (
	ContainerName   = "model"
	PodVersionLabel = "version"
)
