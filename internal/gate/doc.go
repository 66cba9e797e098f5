// Package gate decides whether a candidate model version may take more
// traffic: promote, roll back, or (out of budget) inconclusive. It judges
// the candidate against the baseline on four criteria:
//
//   - success-rate SLO: at least MinSuccessRate of answers non-5xx;
//   - p99 SLO: at most 1% of answers slower than MaxP99 (a count of slow
//     answers, not a p99 estimated from the sample);
//   - latency: not slower than the baseline by more than MaxLatencyIncrease,
//     by the Mann-Whitney test and its Hodges-Lehmann shift on log latency,
//     as Kayenta's judge does (a rollback needs the shift both significant
//     and above the tolerance);
//   - errors: the candidate's failure rate not significantly above the
//     baseline's (rollback however small the difference), and shown within
//     MaxErrorIncrease of it (promote), never while a test taken once at
//     the sample's size finds it above at the gate's alpha.
//
// An SLO the baseline breaks too is not the candidate's fault: the
// verdict is then inconclusive and names the SLO both versions break.
//
// The gate is sequential: evidence is looked at after every batch and the
// run stops as soon as it decides. Every test is anytime-valid, so looking
// often costs no false alarms: the SLOs are Wald SPRTs (a likelihood ratio
// is a martingale, so Ville's inequality bounds the chance it ever crosses),
// the error comparison bets on paired requests (a betting confidence
// sequence for the difference of failure rates), and the latency
// comparison uses an asymptotic confidence sequence (Robbins' normal
// mixture, the mSPRT's boundary, applied to the Mann-Whitney statistic). Alpha, the chance of rolling back a candidate as
// good as the baseline, is split over the four criteria (Bonferroni); every
// criterion alone keeps the chance of promoting a candidate that breaks it
// below 1-Power.
package gate
