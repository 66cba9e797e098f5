#!/usr/bin/env bash
# Runs test binaries built outside (go test -c) inside the private netns,
# each from its package's directory, as `go test` would: linking them
# again in here cost the journey tier ~27 s a run.
#
#   hack/integration/build-test-binaries.sh BINDIR TAGS PKG...   # outside
#   hack/integration/in-netns.sh hack/integration/netns-test-binaries.sh BINDIR [-test.* flags...]
#
# BINDIR/manifest lists "DIR<TAB>BINARY" per package. Every binary runs,
# in order; the exit status is 1 if any failed.
set -euo pipefail
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_DIR="$(cd "$HACK_DIR/.." && pwd)"
# shellcheck source=hack/lib/netns.sh
source "$HACK_DIR/lib/netns.sh"
# shellcheck source=hack/lib/tools-env.sh
source "$HACK_DIR/lib/tools-env.sh"
require_loopback_only_netns
load_tools_env
# The module proxy is unreachable in here: fail fast instead of timing out.
export GOPROXY=off GOFLAGS="${GOFLAGS:--mod=readonly}"
bindir="$1"; shift
[[ -f "$bindir/manifest" ]] || { echo "no $bindir/manifest: run hack/integration/build-test-binaries.sh first" >&2; exit 2; }
rc=0
while IFS=$'\t' read -r dir bin; do
  s=$(date +%s)
  if (cd "$dir" && "$bin" "$@"); then
    echo "ok   ${dir#"$REPO_DIR/"} $(( $(date +%s) - s ))s"
  else
    echo "FAIL ${dir#"$REPO_DIR/"} $(( $(date +%s) - s ))s"
    rc=1
  fi
done <"$bindir/manifest"
exit "$rc"
