#!/usr/bin/env bash
# make test-integration: the integration tier, start to finish.
#  1. build or reuse the tools (outside: needs the Go module proxy);
#  2. build the tier's test binaries (outside, same reason);
#  3. run them in a private network namespace with only loopback, where
#     they start a kwok cluster on 127.0.0.1 and drive the real program.
# Anything the run leaves behind dies with the namespace's PID 1.
set -euo pipefail
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$HACK_DIR/.."

t0=$(date +%s)
elapsed() { echo "[integration] $1: $(( $(date +%s) - $2 ))s" >&2; }

s=$(date +%s); "$HACK_DIR/make-rules/tools.sh"; elapsed "tools (build or reuse)" "$s"
# The tier's test binaries, linked once here (not again inside).
bindir="${TMPDIR:-/tmp}/modelrollouts-integration-tests"
s=$(date +%s); "$HACK_DIR/integration/build-test-binaries.sh" "$bindir" integration ./test/integration/...; elapsed "compile" "$s"
s=$(date +%s)
# required: a missing tool or a shared netns fails the tier instead of
# skipping it, so CI cannot pass without running it.
"$HACK_DIR/integration/in-netns.sh" env MODELROLLOUTS_INTEGRATION=required \
  "$HACK_DIR/integration/netns-test-binaries.sh" "$bindir" -test.count=1 -test.v -test.timeout 30m
elapsed "run in the private netns" "$s"
elapsed "whole tier" "$t0"
