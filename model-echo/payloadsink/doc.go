// Package payloadsink is the payload log of model-echo and model-agent,
// one implementation for both: per inference request a request and a
// response event in the shape of KServe's inference logger (CloudEvents
// 1.0, modelapi.PayloadEvent's members in its order), written as JSON
// lines to the log (stdout) and, with LOGGER_URL, POSTed there in
// CloudEvents' binary HTTP mode.
//
// Logging never slows or fails a request: Offer copies nothing and never
// blocks; one goroutine encodes and writes in batches; the queue before
// encoding and the sink's queue are bounded in items and bytes, and what
// does not fit is dropped and counted (modelapi.MetricPayloadDropped, by
// queue). A refused POST is counted (modelapi.MetricPayloadPostFailures),
// never retried: stdout has every event.
package payloadsink
