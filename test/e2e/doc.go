// Package e2e is tier 3 of the tests: the full lab on a real kind cluster,
// driven through the Automation API with the project's own program and its
// real stack files (Pulumi.dev.yaml, Pulumi.shadow.yaml), then proven from
// outside with the smoke checker (internal/smoke).
//
// The tests are behind the e2e build tag and need Docker, the internet and
// about half an hour; where Docker or the internet is missing they skip
// with the reason. See README.md.
//
//	make test-e2e
//	go test -count=1 -tags e2e -timeout 60m -v -run TestKind ./test/e2e/
package e2e
