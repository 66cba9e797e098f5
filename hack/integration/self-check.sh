#!/usr/bin/env bash
# Self-check of the integration tier, with wall time per stage:
#   hack/integration/in-netns.sh hack/integration/self-check.sh
# cluster up -> Deployment Available -> Knative + Istio CRDs (server-side)
# -> pulumi version / plugin install --file / plugin ls -> cluster down.
set -euo pipefail
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=hack/lib/netns.sh
source "$HACK_DIR/lib/netns.sh"
# shellcheck source=hack/lib/tools-env.sh
source "$HACK_DIR/lib/tools-env.sh"
require_loopback_only_netns
load_tools_env

WORK="$(mktemp -d /tmp/modelrollouts-smoke.XXXXXX)"
CLUSTER="$WORK/cluster"
trap '"$HACK_DIR/integration/kwok-cluster.sh" down "$CLUSTER" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

TIMES=()
stage() {
  local name="$1"; shift
  local t0; t0=$(date +%s.%N)
  "$@"
  local dt; dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
  TIMES+=("$(printf '%-24s %6ss' "$name" "$dt")")
  echo "[smoke] $name: ${dt}s" >&2
}

cluster_up() { "$HACK_DIR/integration/kwok-cluster.sh" up "$CLUSTER" >/dev/null; export KUBECONFIG="$CLUSTER/kubeconfig"; }
deployment() {
  "$KUBECTL" create deployment hello --image=example.invalid/hello:1 --replicas=2 >/dev/null
  "$KUBECTL" wait --for=condition=Available deployment/hello --timeout=60s
}
knative_crds() {
  "$KUBECTL" apply --server-side -f "$KNATIVE_SERVING_DIR/config/core/300-resources" >/dev/null
  "$KUBECTL" wait --for=condition=Established crd -l knative.dev/crd-install=true --timeout=60s >/dev/null
  echo "[smoke] knative CRDs: $("$KUBECTL" get crd -o name | grep -c knative.dev)" >&2
}
istio_crds() {
  "$KUBECTL" apply --server-side -f "$ISTIO_CHARTS_DIR/base/files/crd-all.gen.yaml" >/dev/null
  "$KUBECTL" wait --for=condition=Established crd --all --timeout=60s >/dev/null
  echo "[smoke] istio CRDs: $("$KUBECTL" get crd -o name | grep -c istio.io)" >&2
}
pulumi_offline() {
  export PULUMI_HOME="$WORK/pulumi-home" PULUMI_BACKEND_URL="file://$WORK/backend"
  export PULUMI_CONFIG_PASSPHRASE=smoke PULUMI_SKIP_UPDATE_CHECK=true
  mkdir -p "$WORK/backend"
  echo "[smoke] pulumi $("$PULUMI" version)" >&2
  "$PULUMI" plugin install resource kubernetes "$PULUMI_PROVIDER_KUBERNETES_VERSION" \
    --file "$PULUMI_PROVIDER_KUBERNETES/pulumi-resource-kubernetes" >&2
  "$PULUMI" plugin ls >&2
  "$PULUMI" whoami >&2
}
cluster_down() { "$HACK_DIR/integration/kwok-cluster.sh" down "$CLUSTER"; }

stage cluster-up cluster_up
stage deployment-available deployment
stage knative-crds knative_crds
stage istio-crds istio_crds
stage pulumi-offline pulumi_offline
stage cluster-down cluster_down
printf '[smoke]   %s\n' "${TIMES[@]}" >&2
echo "[smoke] OK"
