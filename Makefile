# The two commands a newcomer needs: `make up` and `make test`.
# `make help` lists every target. Recipes live in hack/make-rules/.
STACK ?= dev
GO ?= go
SHELL := bash
.DEFAULT_GOAL := help

.PHONY: help up down preview refresh stack render review smoke diagnose \
	test vet lint test-unit test-istio test-slow test-integration test-journeys test-e2e test-models tools tools-background

## help: this list (targets marked STACK take STACK=<name>, default dev).
help:
	@awk '/^## [a-z0-9-]+: / { sub(/^## /, ""); n = index($$0, ":"); \
		printf "  make %-17s %s\n", substr($$0, 1, n - 1), substr($$0, n + 2); more = 1; next } \
		more && /^## / { sub(/^## /, ""); printf "  %-22s %s\n", "", $$0; next } { more = 0 }' $(MAKEFILE_LIST)

## up: [STACK] create or update the lab (kind cluster, Istio, Knative, model);
## installs kind and the Pulumi CLI if missing after checking what needs the network.
up:
	@hack/make-rules/lab.sh up $(STACK) $(ARGS)

## down: [STACK] destroy the stack's resources (and its kind cluster).
down:
	@hack/make-rules/lab.sh down $(STACK) $(ARGS)

## preview: [STACK] what `pulumi up` would change, with the diff (ARGS=--expect-no-changes ...).
preview:
	@hack/make-rules/lab.sh preview $(STACK) $(ARGS)

## refresh: [STACK] read the live state back into the stack (pulumi refresh).
refresh:
	@hack/make-rules/lab.sh refresh $(STACK) $(ARGS)

## stack: [STACK] create the stack in the local backend only (before `pulumi config set`).
stack:
	@hack/make-rules/lab.sh stack $(STACK)

## render: [STACK] every Kubernetes object the stack would register, as YAML, no cluster.
render:
	@echo "render: compiling cmd/render (the first build compiles the Pulumi SDKs: several minutes; later ones seconds)" >&2
	@$(GO) run ./cmd/render --stack $(STACK)

## review: every stack's change against BASE (default origin/main, else main);
## FORMAT=markdown prints the PR comment. Takes no STACK: it reviews all stacks.
review:
	@hack/make-rules/review.sh $(if $(FORMAT),--format $(FORMAT)) $(BASE)

## smoke: [STACK] prove from the stack's outputs that the live split/shadowing is right
## (ARGS=--from-cluster: from a Job inside the cluster, as a caller in the mesh).
smoke:
	@. hack/lib/pulumi-env.sh && $(GO) run ./cmd/smoke --stack $(STACK) $(ARGS)

## diagnose: [STACK] kubectl get/describe and logs of the lab into diagnostics/STACK/.
diagnose:
	@hack/make-rules/diagnose.sh $(STACK)

## test: every tier this machine can run (vet, slow with the unit tests, models, Istio, lint,
## integration, journeys, kind e2e). The unit tests run once, inside test-slow. The tools
## start building first, in the background at idle CPU priority, while the tiers that do
## not need them run; lint, integration and journeys wait for that build (docs/testing.md).
test: tools-background vet test-slow test-models test-istio lint test-integration test-journeys test-e2e

## tools-background: start make tools detached at idle CPU priority and return at once
## (log: ~/.cache/modelrollouts/tools/background.log); a later make tools waits for it.
tools-background:
	@hack/make-rules/tools.sh --background

## vet: gofmt and go vet over every file (all build tags at once: no file is
## excluded by a tag, so this one pass also vets the untagged build).
vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet -tags integration,e2e,smoke,slow,journey,models ./...

## lint: shellcheck on hack/, actionlint on .github/workflows (builds actionlint via make tools).
lint: tools
	@hack/make-rules/verify/lint.sh

## test-unit: mocks, handlers, statistics; no cluster, no network; seconds.
test-unit:
	$(GO) test -count=1 ./...

## test-istio: the shadow's routing as istiod translates it (test/istio, its own Go
## module so Istio's dependencies stay out of the program's): go vet and tests;
## the first build compiles istio.io/istio and the Pulumi SDKs (see docs/testing.md), later ~2 min.
test-istio:
	cd test/istio && $(GO) vet ./... && $(GO) test -count=1 ./...

## test-slow: tests tagged slow, with the unit tests again: our tools end to end (make
## review in a clone, the offline pre-check, render, make stack, diagnose), the
## smoke checker against real servers, its Monte Carlo error rates, the rollout
## gate's full verdicts on real model-echo processes; minutes.
test-slow:
	$(GO) test -count=1 -tags slow -timeout 30m ./...

## test-models: the gate and the shadow report on two real
## scikit-learn models behind model-agent (installs Debian's python3-sklearn,
## -fastapi, -uvicorn if missing); ~30 s warm.
test-models:
	@GO=$(GO) hack/make-rules/test/models.sh

## test-integration: real Pulumi engine + provider against a real
## kube-apiserver (kwok), offline, in a private network namespace.
test-integration:
	hack/make-rules/test/integration.sh

## test-journeys: the README's commands after `make up`, as typed, against
## stacks deployed on kwok by the real engine, the data plane stood in
## (docs/journeys.md), offline, in a private network namespace.
test-journeys:
	hack/make-rules/test/journeys.sh

## test-e2e: the full kind lab; skips with the reason where Docker or the
## internet is missing.
test-e2e:
	$(GO) test -count=1 -tags e2e -timeout 60m -v -run TestKind ./test/e2e/

## tools: build or reuse the integration tier's tools and actionlint
## (~30 min cold alone, cached in ~/.cache/modelrollouts/tools).
tools:
	@hack/make-rules/tools.sh
