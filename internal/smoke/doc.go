// Package smoke proves from outside that a deployed rollout lab does what
// its stack says: it reads the stack outputs, waits for the ingress to
// answer (reporting the cold start it saw), then checks the strategy. It
// measures with internal/measure, the core it shares with the rollout gate.
//
// One run is one family of tests whose combined false-alarm rate is alpha
// (Bonferroni): the share tests and an error budget per version. The plan
// (plan.go) sizes every part for the same power before any request.
//
// Canary: each version's own host gets requests that must all come from
// that version with its target (transport failures retried; every answer
// counts in the version's error budget). N user requests are split across
// versions as configured: each share is tested with an exact two-sided
// binomial test; versions at 0% must see none and those at 100% all, with
// N large enough to catch a leak of Params.Leak. Every version's failures
// (user answers naming it plus its own-host answers) are judged against
// its own budget, so a small canary cannot hide behind a big baseline.
//
// Shadow: every user answer comes from the primary; the shadow's mirrored
// copies (model-echo's mirrored-request counter, summed over every shadow
// pod, read through the Kubernetes API or through the ingress until every
// replica answered) grow by the mirrored share of N (same binomial test),
// waiting until nothing is in flight; mirrored copies carry the primary's
// request ids, and joining both versions' /debug/requests by id gives the
// agreement and latency comparison.
//
// Files by job: outputs.go (reading the stack), plan.go (tests and sample
// sizes), pods.go (reaching every pod), canary.go, shadow.go, report.go,
// run.go.
package smoke
