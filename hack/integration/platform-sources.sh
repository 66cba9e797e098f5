#!/usr/bin/env bash
# Fetches the offline platform sources (Istio charts + CRDs, Knative Serving
# CRDs/core, net-istio) from the Go module proxy and prints their directories.
#
#   hack/integration/platform-sources.sh          human-readable listing
#   hack/integration/platform-sources.sh --env    shell assignments (used by make-rules/tools.sh)
#
# Directories are read-only module cache paths; copy before editing.
set -euo pipefail

HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pinned_istio="${ISTIO_MODVER:-}" pinned_serving="${KNATIVE_SERVING_VERSION:-}"
# shellcheck source=hack/lib/versions.sh
source "$HACK_DIR/lib/versions.sh"
# The environment may override the pins.
ISTIO_MODVER="${pinned_istio:-$ISTIO_MODVER}"
KNATIVE_SERVING_VERSION="${pinned_serving:-$KNATIVE_SERVING_VERSION}"
# Empty by default: the proxy refuses knative.dev/net-istio (v0.51.0, and by
# commit a7a632841a78) today. Set it to try a version the proxy serves.
KNATIVE_NET_ISTIO_VERSION="${KNATIVE_NET_ISTIO_VERSION:-}"

export GOFLAGS="-mod=mod" GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

# moddir MOD@VER : print the module's directory, or nothing (error on stderr).
moddir() {
  local out
  if ! out=$(cd / && go mod download -json "$1" 2>&1); then
    printf '[platform] %s: %s\n' "$1" "$(printf '%s' "$out" | sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p' | head -c 300)" >&2
    return 1
  fi
  printf '%s\n' "$out" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p'
}

istio=$(moddir "istio.io/istio@$ISTIO_MODVER") || { echo "[platform] cannot fetch istio.io/istio" >&2; exit 1; }
serving=$(moddir "knative.dev/serving@$KNATIVE_SERVING_VERSION") || { echo "[platform] cannot fetch knative.dev/serving" >&2; exit 1; }
ISTIO_CHARTS_DIR="$istio/manifests/charts"
KNATIVE_SERVING_DIR="$serving"
# knative.dev/serving vendors the matching rendered net-istio release in
# third_party/istio-latest/net-istio.yaml; use that unless a module is given.
if [[ -n "$KNATIVE_NET_ISTIO_VERSION" ]] && net=$(moddir "knative.dev/net-istio@$KNATIVE_NET_ISTIO_VERSION"); then
  KNATIVE_NET_ISTIO_DIR="$net"
else
  KNATIVE_NET_ISTIO_DIR="$serving/third_party/istio-latest"
fi

for f in "$ISTIO_CHARTS_DIR/base/files/crd-all.gen.yaml" \
         "$ISTIO_CHARTS_DIR/istio-control/istio-discovery/Chart.yaml" \
         "$ISTIO_CHARTS_DIR/gateway/Chart.yaml" \
         "$KNATIVE_SERVING_DIR/config/core/300-resources"; do
  [[ -e "$f" ]] || { echo "[platform] expected file missing: $f" >&2; exit 1; }
done

if [[ "${1:-}" == "--env" ]]; then
  printf 'ISTIO_CHARTS_DIR=%q\nKNATIVE_SERVING_DIR=%q\nKNATIVE_NET_ISTIO_DIR=%q\n' \
    "$ISTIO_CHARTS_DIR" "$KNATIVE_SERVING_DIR" "$KNATIVE_NET_ISTIO_DIR"
else
  cat <<EOF
ISTIO_CHARTS_DIR=$ISTIO_CHARTS_DIR
  istio base chart:       $ISTIO_CHARTS_DIR/base   (CRDs: base/files/crd-all.gen.yaml)
  istiod chart:           $ISTIO_CHARTS_DIR/istio-control/istio-discovery
  gateway chart:          $ISTIO_CHARTS_DIR/gateway
KNATIVE_SERVING_DIR=$KNATIVE_SERVING_DIR
  CRDs:                   $KNATIVE_SERVING_DIR/config/core/300-resources
  core:                   $KNATIVE_SERVING_DIR/config/core
KNATIVE_NET_ISTIO_DIR=$KNATIVE_NET_ISTIO_DIR
EOF
fi
