#!/usr/bin/env bash
# make test-journeys: the journey tier, start to finish.
#  1. build or reuse the tools (outside: needs the Go module proxy);
#  2. build the journeys' test binaries and everything the README's commands `go run`
#     (outside, same reason: inside, GOPROXY is off);
#  3. run them in a private network namespace with only loopback, where
#     each journey starts a kwok cluster, the stand-ins and the ingress on
#     127.0.0.1, deploys a stack and runs the README's commands as typed.
# Anything the run leaves behind dies with the namespace's PID 1.
set -euo pipefail
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$HACK_DIR/.."

t0=$(date +%s)
elapsed() { echo "[journeys] $1: $(( $(date +%s) - $2 ))s" >&2; }

s=$(date +%s); "$HACK_DIR/make-rules/tools.sh"; elapsed "tools (build or reuse)" "$s"
s=$(date +%s)
# The commands the README runs with `go run`: built once here, in the very
# directory the journeys copy the checkout to (Go's build cache keys a
# package by its directory), so inside the netns `go run` only links.
checkout="${TMPDIR:-/tmp}/modelrollouts-journey-checkout"
rm -rf "$checkout" && mkdir -p "$checkout"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  if [[ -e "$f" || -L "$f" ]]; then printf '%s\0' "$f"; fi
done | tar --null -T - -cf - | tar -xf - -C "$checkout"
(cd "$checkout" && go build -o /dev/null ./cmd/smoke ./cmd/rollout ./cmd/shadow-report ./cmd/render ./model-echo ./model-agent \
  ./test/journey/lab/command/pulumi-resource-command) &
commands=$!
# Meanwhile the tier's test binaries, linked once here (not again inside):
# the links leave a core free for the compiles above.
bindir="${TMPDIR:-/tmp}/modelrollouts-journey-tests"
"$HACK_DIR/integration/build-test-binaries.sh" "$bindir" journey ./test/journey/...
wait "$commands"
export MODELROLLOUTS_JOURNEY_CHECKOUT="$checkout"
elapsed "compile" "$s"
s=$(date +%s)
# JOURNEYS_RUN=REGEXP runs only the journeys it matches (go test -run),
# e.g. JOURNEYS_RUN=TestJourneyTheByo make test-journeys.
run=()
if [[ -n "${JOURNEYS_RUN:-}" ]]; then run=(-test.run "$JOURNEYS_RUN"); fi
# required: a missing tool or a shared netns fails the tier instead of
# skipping it, so CI cannot pass without running it.
"$HACK_DIR/integration/in-netns.sh" env MODELROLLOUTS_JOURNEYS=required \
  "$HACK_DIR/integration/netns-test-binaries.sh" "$bindir" -test.count=1 -test.v -test.timeout 45m "${run[@]}"
elapsed "run in the private netns" "$s"
elapsed "whole tier" "$t0"
