#!/usr/bin/env bash
# make diagnose: everything needed to see why a lab is not working, in files:
# kubectl get/describe of every namespace the lab uses, the logs of every
# container in knative-serving, istio-system and the model namespace, events,
# the stack's (non-secret) outputs, and `kind export logs` for kind clusters.
# .github/workflows/e2e.yml uploads it when a step fails; run it yourself the
# same way. It keeps going past any failing command (each file says what
# failed) and exits 1 only when no cluster answers.
#
#   hack/make-rules/diagnose.sh STACK [OUT_DIR]      OUT_DIR: diagnostics/STACK
#
# The cluster: $KUBECONFIG when MODELROLLOUTS_DIAGNOSE_AMBIENT=1, else the
# stack's kubeconfig output, else `kind get kubeconfig` for the stack file's
# kind cluster, else the ambient kubeconfig (and the stack file's context).
set -uo pipefail
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=hack/lib/pulumi-env.sh
source "$HACK_DIR/lib/pulumi-env.sh"

stack="${1:-dev}"
out="${2:-$REPO_DIR/diagnostics/$stack}"
stack_file="$REPO_DIR/Pulumi.$stack.yaml"
log() { echo "[diagnose] $*" >&2; }

command -v kubectl >/dev/null || {
  log "ERROR: kubectl is not on PATH: install it (https://kubernetes.io/docs/tasks/tools/), or put the one make tools builds on PATH"
  exit 1
}
mkdir -p "$out"
out="$(cd "$out" && pwd)"

# cluster_value KEY : KEY of the stack file's modelrollouts:cluster block;
# namespace_value : modelrollouts:namespace. Enough YAML for finding the
# cluster; the program validates the config properly.
cluster_value() {
  [[ -f "$stack_file" ]] || return 0
  awk -v key="$1:" '
    /^[[:space:]]*modelrollouts:cluster:/ { inside = 1; match($0, /^[[:space:]]*/); indent = RLENGTH; next }
    inside && $0 !~ /^[[:space:]]*(#|$)/ {
      match($0, /^[[:space:]]*/); if (RLENGTH <= indent) exit
      if ($1 == key) { print $2; exit }
    }' "$stack_file"
}
namespace_value() {
  [[ -f "$stack_file" ]] || return 0
  sed -n 's/^[[:space:]]*modelrollouts:namespace:[[:space:]]*\([^#[:space:]]*\).*/\1/p' "$stack_file" | head -n 1
}
kind_name() {
  [[ "$(cluster_value type)" != existing ]] || return 0
  local n; n="$(cluster_value name)"; echo "${n:-modelrollouts}"
}

# pulumi_output NAME : a stack output, empty when there is none.
pulumi_output() {
  command -v pulumi >/dev/null || return 0
  (cd "$REPO_DIR" && pulumi stack output --stack "$stack" "$@" 2>/dev/null) || true
}

# run FILE CMD... : CMD's output into FILE, with the command and how it ended.
run() {
  local file="$out/$1"; shift
  {
    echo "\$ $*"
    "$@" 2>&1
    echo "# exit status $?"
  } >>"$file"
}

kubeconfig=""
context_args=()
if [[ "${MODELROLLOUTS_DIAGNOSE_AMBIENT:-}" != 1 ]]; then
  kc="$(pulumi_output kubeconfig --show-secrets)"
  if [[ -n "$kc" ]]; then
    kubeconfig="$out/.kubeconfig"
    printf '%s\n' "$kc" >"$kubeconfig"; chmod 600 "$kubeconfig"
    log "cluster: the kubeconfig output of stack $stack"
  elif [[ -n "$(kind_name)" ]] && command -v kind >/dev/null; then
    name="$(kind_name)"
    if [[ -n "$name" ]] && kind get kubeconfig --name "$name" >"$out/.kubeconfig" 2>/dev/null; then
      kubeconfig="$out/.kubeconfig"; chmod 600 "$kubeconfig"
      log "cluster: kind cluster $name"
    fi
  fi
fi
if [[ -z "$kubeconfig" ]]; then
  kubeconfig="${KUBECONFIG:-$HOME/.kube/config}"
  ctx="$(cluster_value context)"
  [[ -n "$ctx" ]] && context_args=(--context "$ctx")
  log "cluster: the ambient kubeconfig ($kubeconfig${ctx:+, context $ctx})"
fi
k() { kubectl --kubeconfig "$kubeconfig" "${context_args[@]}" --request-timeout=20s "$@"; }

if ! k version >"$out/cluster-version.txt" 2>&1; then
  log "ERROR: no cluster answers for stack $stack (kubectl version failed; see $out/cluster-version.txt)"
  rm -f "$out/.kubeconfig"
  exit 1
fi

model_ns="$(pulumi_output namespace)"
model_ns="${model_ns:-$(namespace_value)}"
model_ns="${model_ns:-models}"
log "collecting into $out (namespaces knative-serving, istio-system, $model_ns)"

(cd "$REPO_DIR" && command -v pulumi >/dev/null && pulumi stack output --stack "$stack" --json) >"$out/stack-outputs.json" 2>&1
run cluster.txt k get nodes -o wide
run cluster.txt k get namespaces
run cluster.txt k get all --all-namespaces -o wide
run events.txt k get events --all-namespaces --sort-by=.lastTimestamp
run crds.txt k get crd

for ns in knative-serving istio-system "$model_ns"; do
  dir="$out/$ns"; mkdir -p "$dir"
  run "$ns/get.txt" k -n "$ns" get all,configmaps,events -o wide
  run "$ns/describe-pods.txt" k -n "$ns" describe pods
  run "$ns/describe-deployments.txt" k -n "$ns" describe deployments
  # The lab's own objects, where their CRDs exist.
  for kind in configurations.serving.knative.dev revisions.serving.knative.dev routes.serving.knative.dev \
    ingresses.networking.internal.knative.dev gateways.networking.istio.io \
    virtualservices.networking.istio.io destinationrules.networking.istio.io; do
    if k get crd "$kind" >/dev/null 2>&1; then run "$ns/$kind.yaml" k -n "$ns" get "$kind" -o yaml; fi
  done
  while read -r pod containers; do
    [[ -n "$pod" ]] || continue
    for c in $containers; do
      run "$ns/logs/$pod.$c.log" k -n "$ns" logs "$pod" -c "$c" --tail=2000
      k -n "$ns" logs "$pod" -c "$c" --previous --tail=2000 >"$dir/logs/$pod.$c.previous.log" 2>/dev/null ||
        rm -f "$dir/logs/$pod.$c.previous.log"
    done
  done < <(mkdir -p "$dir/logs"; k -n "$ns" get pods -o jsonpath='{range .items[*]}{.metadata.name}{" "}{range .spec.initContainers[*]}{.name}{" "}{end}{range .spec.containers[*]}{.name}{" "}{end}{"\n"}{end}' 2>/dev/null)
done

if [[ -n "$(kind_name)" ]] && command -v kind >/dev/null; then
  kind export logs "$out/kind" --name "$(kind_name)" >/dev/null 2>&1 || log "kind export logs failed (not a kind cluster here?)"
fi
rm -f "$out/.kubeconfig"
log "done: $out"
