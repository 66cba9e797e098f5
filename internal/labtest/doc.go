// Package labtest runs the rollout lab on 127.0.0.1 for the smoke
// checker's and the rollout gate's tests: model-echo servers behind a small
// proxy that routes by Host the way the lab's ingress does (the user host
// split by weight, or a primary with an asynchronous mirror for shadow;
// each version's own host to that version), with knobs that make the
// proxy misbehave so tests can prove the tools notice.
//
// Two ways to run the versions, one router (weightedPick):
//   - NewCanary, NewShadow: in-process model-echo servers (one per pod, a
//     random pod per request), fast, for the smoke checker; KubeAPI adds a
//     stand-in Kubernetes API server that lists those pods and proxies to
//     them.
//   - StartProcesses: real model-echo processes, each with its own
//     LATENCY_MS and ERROR_RATE, pods taken in turn as a Service's
//     endpoints are, for the gate's real-timing tests; ColdStart,
//     FailInMesh, Misroute and StripVersionHeader break it.
package labtest
