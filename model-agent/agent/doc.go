// Package agent is model-agent: a reverse proxy that runs in a model's pod,
// in front of any model server, and keeps the model contract
// (model-echo/modelapi) the rollout tools rely on, so a canary proof, the
// gate, the shadow proof and the shadow dataset hold for a model that knows
// nothing of them.
//
// Every request is streamed to the model (MODEL_UPSTREAM) and its answer
// streamed back, neither buffered whole; the agent adds X-Model-Version and
// X-Request-Id (keeping the caller's id), counts the request in model-echo's
// metrics (same names and labels), keeps it in the /debug/requests ring, and
// with PAYLOAD_LOG=true writes model-echo's request and response
// CloudEvents, bodies cut at modelapi.PayloadMaxBodyBytes. Logging never
// waits: its queues are bounded and what does not fit is dropped and
// counted. GET /v2/health/ready is answered by asking the model's own
// readiness path (MODEL_READINESS_PATH).
//
// When the model cannot be reached the caller gets 502 with a JSON error;
// when it is slow the agent waits as long as the caller does (no timeout
// of its own on an answer); a caller that leaves is recorded as
// modelapi.StatusClientGone.
//
// The payload log, the request metrics, the debug ring and the contract's
// rules are model-echo's own packages (model-echo/payloadsink,
// servemetrics, recordring, modelapi), so the agent and model-echo cannot
// drift apart; this package holds only the proxy.
//
// Tests start it in-process:
//
//	a, err := agent.New(agent.Config{Upstream: "127.0.0.1:8081", Version: "v2"}, logger)
//	err = a.ListenAndServe(ctx, "127.0.0.1:0")
package agent
