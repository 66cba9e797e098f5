// Package server implements model-echo, a tiny HTTP service that stands in
// for an ML model during canary (Knative) and shadow (Istio mirroring)
// rollouts.
//
// It answers GET / with a fixed text (TARGET) and speaks the REST subset of
// the KServe Open Inference Protocol v2 (health, model metadata, infer). The
// "model" adds a per-version bias to every input element, so two versions
// disagree measurably while each stays deterministic.
//
// Every response carries the serving version in the X-Model-Version header
// and echoes (or creates) X-Request-Id. Each request is logged once as a JSON
// line, counted in Prometheus metrics, and kept in a bounded in-memory ring
// served at GET /debug/requests, so a smoke test can join a primary's and a
// shadow's answers by request id from outside the cluster.
//
// The package is importable so test suites can run real servers in-process:
//
//	srv := server.New(server.Config{Target: "hello", Version: "v2", Bias: 1}, logger)
//	ts := httptest.NewServer(srv)
//
// or, with graceful shutdown driven by a context:
//
//	err := srv.ListenAndServe(ctx, "127.0.0.1:0")
package server
