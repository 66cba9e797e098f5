package modelapi

import "encoding/hex"

// The model agent (model-agent/) keeps this contract in front of a model
// server that knows nothing of it: it listens on Port, forwards to the
// model, and adds the headers, metrics, debug records and payload events
// model-echo makes itself. The same names hold for both, so clients cannot
// tell them apart.
const (
	// EnvModelUpstream is where the model listens, as host:port or an
	// http URL: 127.0.0.1:8081 when it shares the agent's pod.
	EnvModelUpstream = "MODEL_UPSTREAM"
	// EnvModelReadinessPath is the model's own readiness path; the agent
	// answers PathReady by asking it.
	EnvModelReadinessPath = "MODEL_READINESS_PATH"
)

// AgentContainerName is the agent's container in a pod, beside
// ContainerName (the model). Where it is present it owns the serving port
// and writes the payload log, so log readers pick it first.
const AgentContainerName = "model-agent"

// AgentCommand runs the agent from the model-echo image, which carries
// both binaries.
var AgentCommand = []string{"/model-agent"}

// DefaultModelPortBehindAgent is where a model listens by default when an
// agent in its pod owns Port.
const DefaultModelPortBehindAgent = 8081

// PayloadMaxBodyBytes bounds each body a payload event carries: a larger
// request or answer is still streamed whole to its receiver, but its event
// holds only the first PayloadMaxBodyBytes, base64-encoded (a cut body is
// no longer JSON), and says so with ExtTruncated.
const PayloadMaxBodyBytes = 256 << 10

// ExtTruncated is true on an event whose body was cut at
// PayloadMaxBodyBytes (absent otherwise).
const ExtTruncated = "truncated"

// StatusClientGone is the status recorded (never sent) for a request whose
// caller went away or timed out before the answer: nginx's 499.
const StatusClientGone = 499

// Route patterns of the Open Inference Protocol REST API that model-echo
// serves and the agent labels requests with: a request's route label is
// the pattern that matches its path (net/http ServeMux syntax, without the
// trailing {$}), or RouteUnmatched.
var Routes = []string{
	"/{$}",
	PathServerMetadata,
	PathLive,
	PathReady,
	"/v2/models/{name}",
	"/v2/models/{name}/ready",
	RouteInfer,
	"/v2/models/{name}/versions/{version}",
	"/v2/models/{name}/versions/{version}/ready",
	RouteVersionInfer,
	PathMetrics,
	PathDebugRequests,
}

// RouteVersionInfer is the infer route of one version of a model.
const RouteVersionInfer = "/v2/models/{name}/versions/{version}/infer"

// IsInferRoute reports the routes whose bodies go to the payload log.
func IsInferRoute(label string) bool { return label == RouteInfer || label == RouteVersionInfer }

// ValidRequestID accepts what Envoy and typical clients send as
// X-Request-Id (UUIDs and similar) and rejects anything that would be
// awkward in logs or headers; a server replaces a rejected id with its own.
func ValidRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// FormatRequestID spells 128 random bits as a UUIDv4, as Envoy's ids are.
func FormatRequestID(hi, lo uint64) string {
	var b [16]byte
	for i := 0; i < 8; i++ {
		b[i], b[8+i] = byte(hi>>(56-8*i)), byte(lo>>(56-8*i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}
