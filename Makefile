# The two commands a newcomer needs: `make up` and `make test`.
STACK ?= dev
GO ?= go
SHELL := bash

.PHONY: up down preview refresh render review smoke test test-unit test-integration test-e2e tools vet

## up: create the lab for STACK (default dev) on kind: installs kind and the
## Pulumi CLI if missing, uses a local file backend (no account).
up:
	hack/up.sh up $(STACK)

## down: destroy STACK's resources (and its kind cluster).
down:
	hack/up.sh down $(STACK)

## preview: what `pulumi up` would change for STACK, with the diff.
preview:
	hack/up.sh preview $(STACK)

refresh:
	hack/up.sh refresh $(STACK)

## render: every Kubernetes object STACK would register, without a cluster.
render:
	$(GO) run ./cmd/render --stack $(STACK)

## review: per stack, the objects a change adds, removes or edits against
## BASE (default origin/main, else main), without a cluster.
review:
	hack/review.sh $(BASE)

## smoke: prove from STACK's outputs that the live split/shadowing is right.
smoke:
	. hack/pulumi-env.sh && $(GO) run ./cmd/smoke --stack $(STACK)

## test: every tier this machine can run (unit, integration, kind e2e).
test: vet test-unit test-integration test-e2e

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags integration,e2e,smoke ./...

## test-unit: mocks, handlers, statistics; no cluster, no network.
test-unit:
	$(GO) test -count=1 ./...

## test-integration: real Pulumi engine + provider against a real
## kube-apiserver (kwok), offline, in a private network namespace.
test-integration:
	hack/test-integration.sh

## test-e2e: the full kind lab; skips with the reason where Docker or the
## internet is missing.
test-e2e:
	$(GO) test -count=1 -tags e2e -timeout 60m -v -run TestKind ./test/e2e/

tools:
	hack/tools.sh
