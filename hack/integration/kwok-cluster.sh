#!/usr/bin/env bash
# A kwok cluster (real etcd + kube-apiserver + controller-manager + scheduler,
# fake nodes whose pods turn Running) from the binaries make tools built.
#
#   hack/integration/kwok-cluster.sh up   [DIR]   start; prints KUBECONFIG=<path> last
#   hack/integration/kwok-cluster.sh down [DIR]   kill what up started (by PID), rm DIR
#   hack/integration/kwok-cluster.sh status [DIR]
#
# DIR defaults to ${MODELROLLOUTS_CLUSTER_DIR:-/tmp/modelrollouts-kwok}.
# Env: KWOK_NODES (default 2), KWOK_CLUSTER_NAME (default modelrollouts),
#      KWOK_ENABLE_CRDS (e.g. "Logs,ClusterLogs": kwok's own kinds served as
#      API resources, so tests create them after start; default none).
# Files in DIR after up:
#   kubeconfig     admin kubeconfig (https://127.0.0.1:<port>)
#   cluster.pids   "<component> <pid>" per line; down kills exactly these
#   cluster.env    KUBECONFIG=... KWOK_CLUSTER_DIR=... (sourceable)
#   logs/          component logs (symlink into kwokctl's workdir)
# Refuses to start unless inside a loopback-only netns (hack/integration/in-netns.sh).
set -Eeuo pipefail
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=hack/lib/netns.sh
source "$HACK_DIR/lib/netns.sh"
# shellcheck source=hack/lib/tools-env.sh
source "$HACK_DIR/lib/tools-env.sh"

cmd="${1:-}"; shift || true
DIR="${1:-${MODELROLLOUTS_CLUSTER_DIR:-/tmp/modelrollouts-kwok}}"
NAME="${KWOK_CLUSTER_NAME:-modelrollouts}"
NODES="${KWOK_NODES:-2}"
ENABLE_CRDS="${KWOK_ENABLE_CRDS:-}"
DOWN_GRACE_SECONDS="${KWOK_DOWN_GRACE_SECONDS:-10}" # SIGTERM -> SIGKILL
# kwokctl keeps everything (pki, pids, logs) under $KWOK_WORKDIR/clusters/NAME.
export KWOK_WORKDIR="$DIR/kwok"
CLDIR="$KWOK_WORKDIR/clusters/$NAME"

log() { printf '[kwok-cluster] %s\n' "$*" >&2; }
die() { printf '[kwok-cluster] ERROR: %s\n' "$*" >&2; exit 1; }

write_config() {
  # kwok serves pod logs (kubectl logs) from the files its Logs objects
  # name; enabled as CRDs, they can be created for pods made after start.
  local crds="" crd
  if [[ -n "$ENABLE_CRDS" ]]; then
    crds="  enableCRDs:"
    for crd in ${ENABLE_CRDS//,/ }; do crds+=$'\n'"  - $crd"; done
  fi
  # Every component on 127.0.0.1; binaries are local paths so kwokctl never
  # downloads; webhook admission off so kube-apiserver never dials a Service.
  cat >"$DIR/kwokctl.yaml" <<EOF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  runtime: binary
  bindAddress: 127.0.0.1
  kubeVersion: ${KUBERNETES_VERSION#v}
  kubeApiserverBinary: $KUBE_APISERVER
  kubeControllerManagerBinary: $KUBE_CONTROLLER_MANAGER
  kubeSchedulerBinary: $KUBE_SCHEDULER
  kubectlBinary: $KUBECTL
  etcdBinary: $ETCD
  kwokControllerBinary: $KWOK
  cacheDir: $DIR/cache
  quietPull: true
  kubeAdmission: true
  kubeAuthorization: true
${crds}
componentsPatches:
- name: kube-apiserver
  extraArgs:
  - key: disable-admission-plugins
    value: MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy,MutatingAdmissionPolicy
  # No default route in the netns: kube-apiserver cannot pick an address.
  - key: advertise-address
    value: 127.0.0.1
  # The "kubernetes" Service would need a non-loopback endpoint; skip it
  # (clients use the kubeconfig's https://127.0.0.1:<port>).
  - key: endpoint-reconciler-type
    value: none
# kwokctl starts kwok with --manage-all-nodes=true: it would then play the
# kubelet of every node, the journey tier's own node stand-in too, and
# delete that node's pods at once (grace 0) when they are deleted, killing
# a pod the stand-in should stop within its grace period. Only the fake
# nodes this script creates are kwok's.
- name: kwok-controller
  extraArgs:
  - key: manage-all-nodes
    value: "false"
  - key: manage-nodes-with-annotation-selector
    value: kwok.x-k8s.io/node=fake
EOF
}

write_nodes() {
  local i
  for ((i = 0; i < NODES; i++)); do
    cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations:
    kwok.x-k8s.io/node: fake   # kwok-controller manages nodes with this annotation
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: kwok-node-$i
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    kubernetes.io/role: agent
    type: kwok
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "110"}
  capacity: {cpu: "32", memory: 256Gi, pods: "110"}
EOF
  done
}

# record_pids : copy kwokctl's per-component pid files into DIR/cluster.pids.
record_pids() {
  local f out="$DIR/cluster.pids.tmp"
  : >"$out"
  for f in "$CLDIR"/pids/*.pid; do
    [[ -e "$f" ]] || continue
    printf '%s %s\n' "$(basename "$f" .pid)" "$(cat "$f")" >>"$out"
  done
  mv "$out" "$DIR/cluster.pids"
}

# ours PID : true if PID is alive and was started for this cluster (its cwd
# or command line points into DIR), so a recycled PID is never killed.
ours() {
  local pid="$1"
  [[ -d /proc/$pid ]] || return 1
  local cwd; cwd="$(readlink "/proc/$pid/cwd" 2>/dev/null || true)"
  [[ "$cwd" == "$DIR" || "$cwd" == "$DIR/"* ]] && return 0
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$DIR/"
}

check_listeners() {
  # Anything listening on a non-loopback address is a config bug: report it.
  local bad
  bad=$(awk 'NR>1 && $4=="0A"{split($2,a,":"); if (a[1]!="0100007F") print $2}' /proc/net/tcp || true)
  bad+=$(awk 'NR>1 && $4=="0A"{split($2,a,":"); if (a[1]!="00000000000000000000000001000000") print $2}' /proc/net/tcp6 || true)
  if [[ -n "$bad" ]]; then
    log "WARNING: listeners not on 127.0.0.1 (hex addr:port): $(echo "$bad" | tr '\n' ' ')"
  else
    log "all listeners are on 127.0.0.1"
  fi
}

up() {
  require_loopback_only_netns || die "not in a loopback-only netns; use hack/integration/in-netns.sh"
  load_tools_env || exit 1
  local b
  for b in KUBE_APISERVER KUBE_CONTROLLER_MANAGER KUBE_SCHEDULER KUBECTL ETCD KWOK KWOKCTL; do
    [[ -x "${!b}" ]] || die "$b=${!b} is not executable; run make tools"
  done
  if [[ -e "$DIR/cluster.pids" ]]; then
    die "$DIR already has a cluster (cluster.pids); run: hack/integration/kwok-cluster.sh down $DIR"
  fi
  mkdir -p "$DIR"
  DIR="$(cd "$DIR" && pwd)"; KWOK_WORKDIR="$DIR/kwok"; CLDIR="$KWOK_WORKDIR/clusters/$NAME"
  write_config
  # kwokctl runs `kubectl` from PATH for its readiness checks; make it ours.
  local kubectl_dir
  kubectl_dir="$(dirname "$KUBECTL")"
  export PATH="$kubectl_dir:$PATH"
  trap 'on_up_error' ERR
  local t0; t0=$(date +%s.%N)
  log "creating cluster $NAME in $DIR"
  # --kubeconfig= : do not touch ~/.kube/config; we use the cluster's own.
  if ! "$KWOKCTL" create cluster --name "$NAME" --config "$DIR/kwokctl.yaml" \
      --kubeconfig= --wait 2m >"$DIR/kwokctl-create.log" 2>&1; then
    record_pids
    cat "$DIR/kwokctl-create.log" >&2
    die "kwokctl create cluster failed (logs: $CLDIR/logs); run: hack/integration/kwok-cluster.sh down $DIR"
  fi
  record_pids
  ln -sfn "$CLDIR/logs" "$DIR/logs"
  cp "$CLDIR/kubeconfig.yaml" "$DIR/kubeconfig"
  export KUBECONFIG="$DIR/kubeconfig"
  # kwokctl exits 0 even when its readiness wait timed out: check ourselves.
  "$KUBECTL" get --raw /readyz >/dev/null
  write_nodes | "$KUBECTL" apply -f - >/dev/null
  "$KUBECTL" wait --for=condition=Ready node --all --timeout=60s >/dev/null
  # Pods need the default ServiceAccount (controller-manager makes it).
  local i
  for i in $(seq 1 100); do
    "$KUBECTL" -n default get serviceaccount default >/dev/null 2>&1 && break
    sleep 0.2
  done
  printf 'KUBECONFIG=%s\nKWOK_CLUSTER_DIR=%s\nKWOK_CLUSTER_NAME=%s\n' "$DIR/kubeconfig" "$DIR" "$NAME" >"$DIR/cluster.env"
  check_listeners
  log "up in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')s: $("$KUBECTL" get nodes --no-headers | wc -l) nodes, server $("$KUBECTL" config view -o jsonpath='{.clusters[0].cluster.server}')"
  echo "KUBECONFIG=$DIR/kubeconfig"
}

# on_up_error : show why, leave DIR for inspection, say how to clean up.
on_up_error() {
  trap - ERR
  record_pids 2>/dev/null || true
  local f
  for f in "$CLDIR"/logs/kube-apiserver.log "$CLDIR"/logs/etcd.log "$DIR/kwokctl-create.log"; do
    [[ -r "$f" ]] && { echo "--- tail $f" >&2; tail -n 5 "$f" | cut -c1-400 >&2; }
  done
  log "ERROR: up failed; logs in $CLDIR/logs; clean up with: hack/integration/kwok-cluster.sh down $DIR"
}

# stop_pids PID... : SIGTERM, wait up to DOWN_GRACE_SECONDS, then SIGKILL.
stop_pids() {
  [[ $# -gt 0 ]] || return 0
  log "stopping pids $*"
  kill -TERM "$@" 2>/dev/null || true
  local i pid any
  for i in $(seq 1 $((DOWN_GRACE_SECONDS * 10))); do
    any=0
    for pid in "$@"; do ours "$pid" && any=1; done
    [[ $any -eq 0 ]] && return 0
    sleep 0.1
  done
  for pid in "$@"; do
    if ours "$pid"; then
      log "pid $pid ($(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -n1 | xargs -r basename)) still running after ${DOWN_GRACE_SECONDS}s; SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}

down() {
  [[ -d "$DIR" ]] || { log "$DIR does not exist; nothing to do"; return 0; }
  DIR="$(cd "$DIR" && pwd)"; KWOK_WORKDIR="$DIR/kwok"; CLDIR="$KWOK_WORKDIR/clusters/$NAME"
  # Union of our record and kwokctl's pid files (a failed up may have left
  # only the latter), as "name pid".
  local list name pid f
  list="$( { [[ -r "$DIR/cluster.pids" ]] && cat "$DIR/cluster.pids"
             for f in "$CLDIR"/pids/*.pid; do [[ -e "$f" ]] && echo "$(basename "$f" .pid) $(cat "$f")"; done
           } | sort -u)"
  # Clients first, etcd last: kube-apiserver shuts down in well under a
  # second while etcd is up, but hangs for its full grace without it.
  local first=() last=()
  while read -r name pid; do
    [[ -n "${pid:-}" ]] || continue
    if ! ours "$pid"; then log "$name pid $pid: not running (or not ours), skipped"; continue; fi
    if [[ "$name" == etcd ]]; then last+=("$pid"); else first+=("$pid"); fi
  done <<<"$list"
  stop_pids "${first[@]}"
  stop_pids "${last[@]}"
  rm -rf "$DIR"
  log "removed $DIR"
}

status() {
  [[ -r "$DIR/cluster.pids" ]] || { log "no cluster in $DIR"; return 1; }
  local name pid rc=0
  while read -r name pid; do
    if ours "$pid"; then echo "$name $pid running"; else echo "$name $pid dead"; rc=1; fi
  done <"$DIR/cluster.pids"
  return $rc
}

case "$cmd" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: hack/integration/kwok-cluster.sh up|down|status [DIR]" >&2; exit 2 ;;
esac
