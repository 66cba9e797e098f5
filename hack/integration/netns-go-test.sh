#!/usr/bin/env bash
# Runs the integration tier. Must run inside the private netns:
#
#   make tools                                   # outside: build/reuse tools
#   go test -count=1 -run '^$' ./test/integration/... # outside: fetch modules, compile
#   hack/integration/in-netns.sh hack/integration/netns-go-test.sh [go test args...]
#
# Default args: -count=1 -timeout 30m ./test/integration/...
set -euo pipefail
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=hack/lib/netns.sh
source "$HACK_DIR/lib/netns.sh"
# shellcheck source=hack/lib/tools-env.sh
source "$HACK_DIR/lib/tools-env.sh"
require_loopback_only_netns
load_tools_env
# The module proxy is unreachable in here: fail fast instead of timing out.
export GOPROXY=off GOFLAGS="${GOFLAGS:--mod=readonly}"
cd "$HACK_DIR/.."
if [[ $# -eq 0 ]]; then set -- -count=1 -timeout 30m ./test/integration/...; fi
exec go test "$@"
