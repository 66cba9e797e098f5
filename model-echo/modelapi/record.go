package modelapi

import "time"

// RequestRecord is one served request, as logged and as returned by
// GET /debug/requests. A smoke test joins primary and shadow records by
// RequestID and compares OutputDigest.
type RequestRecord struct {
	Seq       uint64    `json:"seq"` // per-server, increasing; ?since= filters on it
	Time      time.Time `json:"time"`
	RequestID string    `json:"request_id"`
	Model     string    `json:"model"`
	Version   string    `json:"version"`
	Method    string    `json:"method"`
	Route     string    `json:"route"` // the route label, e.g. RouteInfer
	Path      string    `json:"path"`
	Host      string    `json:"host"`
	// Mirrored is true for Istio shadow copies (Host ends in "-shadow").
	Mirrored bool `json:"mirrored"`
	Status   int  `json:"status"`
	// InputDigest is the hex sha256 of the request body.
	InputDigest string `json:"input_sha256"`
	// OutputDigest is the hex sha256 of the answer: for infer only of the
	// JSON "outputs" array (so equal bias gives equal digests across
	// versions and request ids), otherwise of the response body.
	OutputDigest string  `json:"output_sha256"`
	Output       string  `json:"output,omitempty"` // the text answer of GET /
	Error        string  `json:"error,omitempty"`
	LatencyMS    float64 `json:"latency_ms"`
}
