// Package modelapi is the model server's contract: the environment it reads,
// the port and paths it serves, the headers it sets and the metrics it
// exports. The server (model-echo/server) implements it; the components that
// deploy it, the stack config that checks it and the clients that measure it
// (smoke, the rollout gate, the shadow report) import only this package, so
// no client depends on the server's implementation.
package modelapi

import (
	"strconv"
	"strings"
)

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
	// EnvRequestIDSeed seeds the ids the server makes for requests that
	// carry no X-Request-Id, and with them which requests ERROR_RATE
	// fails: tests set it so a run fails the same requests every time.
	// Unset or 0: random ids, as in production.
	EnvRequestIDSeed = "REQUEST_ID_SEED"
)

// Limits of the values the server accepts from its environment: a
// deployment outside them fails to start, so the stack config refuses them.
const (
	// MaxLatencyMS bounds LATENCY_MS.
	MaxLatencyMS = 600000
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

// Query parameters of GET /debug/requests.
const (
	// QuerySince keeps records after a sequence number or an RFC 3339 time.
	QuerySince = "since"
	// QueryLimit keeps only the newest records.
	QueryLimit = "limit"
	// QueryRequestID keeps the records of one request id.
	QueryRequestID = "id"
)

// Route labels, as they appear in the requests metric's route label and in
// RequestRecord.Route: the pattern served, without the method.
const (
	RouteRoot      = "/"
	RouteInfer     = "/v2/models/{name}/infer"
	RouteUnmatched = "unmatched"
)

// OutputName is the name of the output the server computes from input i.
func OutputName(i int) string { return "output-" + strconv.Itoa(i) }

// Headers on every answer.
const (
	// HeaderModelVersion names the version that answered.
	HeaderModelVersion = "X-Model-Version"
	// HeaderRequestID is echoed (or created); Istio propagates it to
	// mirrored copies, so primary and shadow answers join on it.
	HeaderRequestID = "X-Request-Id"
)

// HeaderRouteVersion, sent on a request, names the version it must reach
// where a shadow stack turns header routing on: the mesh routes it to that
// version directly and does not mirror it. It is the answer's
// HeaderModelVersion, so a caller can send back what it was told.
const HeaderRouteVersion = HeaderModelVersion

// MirroredHostSuffix is what Envoy appends to the Host of a mirrored copy.
const MirroredHostSuffix = "-shadow"

// IsMirroredHost reports an Istio shadow copy by its Host: Envoy appends
// MirroredHostSuffix to the host, before the port when there is one.
func IsMirroredHost(host string) bool {
	if strings.HasSuffix(host, MirroredHostSuffix) {
		return true
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		return strings.HasSuffix(host[:i], MirroredHostSuffix)
	}
	return false
}

// Metric names.
const (
	MetricRequests = "model_echo_requests_total"
	MetricDuration = "model_echo_request_duration_seconds"
	MetricInfo     = "model_echo_info"
	// MetricLogDropped counts request log lines lost because logging fell
	// behind; it should stay 0.
	MetricLogDropped = "model_echo_log_dropped_total"
	// MetricMirrored counts the mirrored copies (Istio shadow traffic,
	// Host ending in MirroredHostSuffix) among MetricRequests, with the
	// same labels, so a mirror's share is not mixed with direct requests.
	MetricMirrored = "model_echo_mirrored_requests_total"
	// MetricInFlight is the number of requests being served, by version,
	// route and LabelMirrored: a counter of completed requests is final
	// only once it is 0 (a slow version may still be answering copies).
	MetricInFlight = "model_echo_requests_in_flight"
)

// Metric labels.
const (
	LabelVersion = "version"
	LabelRoute   = "route"
	LabelCode    = "code"
	// LabelMirrored on MetricInFlight is "true" for mirrored copies and
	// "false" for direct requests.
	LabelMirrored = "mirrored"
	// LabelHostname on MetricInfo is the process's hostname (the pod
	// name on Kubernetes), so a client scraping /metrics through a load
	// balancer can tell the pods of one version apart.
	LabelHostname = "hostname"
)
