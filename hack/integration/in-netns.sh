#!/usr/bin/env bash
# Runs CMD in a fresh private network namespace that has only loopback (up).
# Also private PID + mount namespaces: when CMD exits, the kernel kills every
# process it left behind (kube-apiserver, etcd, ...), and /sys is remounted
# so /sys/class/net shows this netns.
#
#   hack/integration/in-netns.sh CMD [ARGS...]     exit status is CMD's
#
# Build tools BEFORE (make tools): the module proxy is unreachable inside.
set -euo pipefail
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [[ "${1:-}" == "--inner" ]]; then
  shift
  ip link set lo up
  mount -t sysfs sysfs /sys 2>/dev/null || true # best effort; checks use /proc
  # shellcheck source=hack/lib/netns.sh
  source "$HACK_DIR/lib/netns.sh"
  require_loopback_only_netns
  export MODELROLLOUTS_NETNS=1
  # Not exec: this shell is PID 1 of the namespace and reaps orphans.
  set +e
  "$@"
  rc=$?
  exit "$rc"
fi

[[ $# -gt 0 ]] || { echo "usage: hack/integration/in-netns.sh CMD [ARGS...]" >&2; exit 2; }
command -v unshare >/dev/null || { echo "ERROR: unshare not found (apt-get install util-linux)" >&2; exit 1; }
command -v ip >/dev/null || { echo "ERROR: ip not found (apt-get install iproute2)" >&2; exit 1; }

ns_flags=(--net --pid --fork --mount-proc --kill-child)
# Non-root: map ourselves to root in a user namespace to get the netns.
[[ $(id -u) -eq 0 ]] || ns_flags=(--user --map-root-user "${ns_flags[@]}")
exec unshare "${ns_flags[@]}" -- "$HACK_DIR/integration/in-netns.sh" --inner "$@"
