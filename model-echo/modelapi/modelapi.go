// Package modelapi is the model server's contract: the environment it reads,
// the port and paths it serves, the headers it sets and the metrics it
// exports. The server (model-echo/server) implements it; the components that
// deploy it, the stack config that checks it and the clients that measure it
// (smoke, the rollout gate, the shadow report) import only this package, so
// no client depends on the server's implementation.
package modelapi

// Environment variables the server reads.
const (
	EnvTarget          = "TARGET"
	EnvModelName       = "MODEL_NAME"
	EnvModelVersion    = "MODEL_VERSION"
	EnvModelBias       = "MODEL_BIAS"
	EnvLatencyMS       = "LATENCY_MS"
	EnvErrorRate       = "ERROR_RATE"
	EnvHost            = "HOST"
	EnvPort            = "PORT"
	EnvDebugRingSize   = "DEBUG_RING_SIZE"
	EnvShutdownDelayMS = "SHUTDOWN_DELAY_MS"
)

// Port is the port the server listens on unless PORT says otherwise, and
// the container port every deployment declares.
const Port = 8080

// Paths the server answers.
const (
	PathRoot           = "/"
	PathServerMetadata = "/v2"
	PathLive           = "/v2/health/live"
	PathReady          = "/v2/health/ready"
	PathMetrics        = "/metrics"
	PathDebugRequests  = "/debug/requests"
)

// InferPath is the Open Inference Protocol infer path of a model.
func InferPath(model string) string { return "/v2/models/" + model + "/infer" }

// Headers on every answer.
const (
	// HeaderModelVersion names the version that answered.
	HeaderModelVersion = "X-Model-Version"
	// HeaderRequestID is echoed (or created); Istio propagates it to
	// mirrored copies, so primary and shadow answers join on it.
	HeaderRequestID = "X-Request-Id"
)

// MirroredHostSuffix is what Envoy appends to the Host of a mirrored copy.
const MirroredHostSuffix = "-shadow"

// Metric names.
const (
	MetricRequests = "model_echo_requests_total"
	MetricDuration = "model_echo_request_duration_seconds"
	MetricInfo     = "model_echo_info"
	// MetricLogDropped counts request log lines lost because logging fell
	// behind; it should stay 0.
	MetricLogDropped = "model_echo_log_dropped_total"
)
