// Package workflows tests the GitHub workflows (.github/workflows) as GitHub
// would run them and the hack/ci scripts they call: each rule a workflow
// must keep (actions pinned by commit, explicit permissions per job, no
// untrusted expression in a shell line, no `go run` feeding an exit-code
// branch, an opt-in for every schedule, long steps kept in scripts), and
// each script's branches with fake gh, pulumi, git, kubectl, make, curl and
// gate binaries on PATH. Ordinary Go tests: `make test-unit` runs them, in
// seconds; actionlint and shellcheck run in `make lint`.
package workflows
