// Package measure is the measurement core shared by the smoke checker
// (internal/smoke) and the rollout gate (cmd/rollout): it sends probes
// through the ingress, records what each answer showed, aggregates per
// answering version, reads counters from every pod of a version, and
// holds the exact binomial statistics both judge with.
//
// # Sending
//
//	c, err := measure.NewClient(outputs.IngressURL, measure.ClientOptions{
//		Timeout: 30 * time.Second, // per attempt
//		Retries: 2,                // only attempts that got no HTTP answer
//		MaxConns: 8,
//	})
//	a := c.Do(ctx, measure.Get(host, "/"))          // one request
//	n := c.Send(ctx, measure.Batch{                  // many, bounded
//		N: 500, Concurrency: 8, Label: "v2", Progress: measure.NewProgress(os.Stderr, tty),
//		Request: func(i int) measure.Request { return measure.Get(v2Host, "/") },
//	}, func(i int, a measure.Answer) bool {
//		tally.AddOwn("v2", a)
//		return !decided(tally) // false stops early (sequential tests)
//	})
//
// Request picks the route by Host header, as users and the mesh do; Path
// may carry a query; RequestID sets X-Request-Id. An Answer has the HTTP
// Status (0: no answer, Err says why), the answering Version from
// X-Model-Version ("" when the server does not name itself), Latency,
// Body and Attempts. Answer.OK is a 200; Answer.Failed is what error
// budgets count: no answer or a 5xx. HTTP answers are never retried: a 503
// is evidence. Send calls observe one answer at a time, so observe needs
// no lock, and returns how many answers it observed. ClientOptions.Transport
// swaps the connection (e.g. a tunnel into the cluster).
//
// WaitReady and WaitAll poll hosts with Backoff until an answer shows them
// serving (smoke: GET / answered 200; the gate: any answer but a 5xx),
// reporting the cold start seen.
//
// # Aggregating
//
// A Tally holds one VersionTally per answering version: Requests, OK,
// Failures, ByStatus, Retried and the 200 answers' Latencies (seconds, for
// quantiles via VersionTally.Latency or Quantile, and for rank tests).
// Tally.Add attributes an answer of a shared route (the user host) by the
// version it names, or to Tally.Unattributed. Tally.AddOwn is for a
// version's own host: an answer naming another version is Misrouted and is
// not evidence (a gate must never promote a version it did not measure);
// one naming none counts, and is marked Unnamed so reports can say the
// version was not confirmed.
//
// # Judging (exact binomial)
//
//   - Shares: AcceptInterval(n, p, alpha) is the exact two-sided acceptance
//     region of "share == p"; TestShares applies it per version;
//     SampleSizeShare sizes it for a margin and power; ShareTests counts
//     the tests a split needs (two complementary shares are one test, 0%
//     and 100% none); BonferroniAlpha splits a run's alpha over its tests.
//   - Leaks (a 0% version answering, a mirror that should be off): any such
//     answer fails; LeakSampleSize(leak, power) is the N that catches a
//     leak of that rate, DetectableLeak(n, power) its inverse, for printing
//     what a run could catch.
//   - Error budgets, per version: ErrorLimit(n, tolerated, alpha) is the most
//     failures a version failing at exactly the tolerated rate stays under
//     with probability 1-alpha (one-sided exact test; never rounds a 1%
//     budget to 0 on a small N); JudgeBudget applies it to a VersionTally;
//     ErrorSampleSize and ErrorPower size it for a failure rate to catch;
//     DetectableErrorRate says what n requests can catch.
//   - ChiSquareGOF is a one-number summary over a split.
//
// # Counting over every pod
//
// A counter read through a load balancer is one pod's. Pods reads every pod
// of a version: KubePods lists them through the Kubernetes API and reads
// each /metrics through the API server's pod proxy; IngressPods scrapes
// the version's own host until Replicas distinct pods (the hostname label
// of model-echo's info metric) have answered. Read sums a Series over pods
// (with an in-flight gauge); Reading.Delta is the growth since an earlier
// Reading (a pod whose counter went down restarted: an error); WaitCount
// polls until the count reaches a wanted value with nothing in flight and
// holds still, or a deadline passes. Metrics parses the text format with
// Prometheus' own parser.
package measure
