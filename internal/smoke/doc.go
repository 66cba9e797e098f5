// Package smoke proves from outside that a deployed rollout lab does what
// its stack says: it reads the stack outputs, waits for the ingress to
// answer (reporting the cold start it saw), then checks the strategy.
//
// Canary: every version answers on its own tag host; N user requests are
// split across versions as configured. Each version's count is tested
// with an exact two-sided binomial test at a Bonferroni-corrected level
// (versions at 0% or 100% must see exactly none or all), and N comes from
// a power calculation so a share off by the margin is caught.
//
// Shadow: every user answer comes from the primary; the shadow's request
// counter grows by the mirrored share of N (same binomial test); mirrored
// copies carry the primary's request ids, and joining both versions'
// /debug/requests by id gives the agreement and latency comparison.
//
// Files by job: outputs.go (reading the stack), wait.go (readiness with
// backoff), send.go (bounded concurrent requests and progress), stats.go
// (tests and sample sizes), canary.go, shadow.go, report.go, run.go.
package smoke
