# shellcheck shell=bash
# Shared helpers for hack/*.sh; source it, don't run it.

# load_tools_env : source $TOOLS_DIR/env.sh written by hack/tools.sh.
load_tools_env() {
  local dir="${MODELROLLOUTS_TOOLS_DIR:-$HOME/.cache/modelrollouts/tools}"
  if [[ ! -r "$dir/env.sh" ]]; then
    echo "ERROR: $dir/env.sh not found; run hack/tools.sh first (outside the netns)" >&2
    return 1
  fi
  # A non-empty variable already in the environment wins over env.sh (same
  # rule as harness.LoadTools), so one tool can be swapped for a test.
  local k saved=()
  for k in $(sed -n 's/^export \([A-Z_]*\)=.*/\1/p' "$dir/env.sh"); do
    [[ -n "${!k:-}" ]] && saved+=("$k=${!k}")
  done
  # shellcheck disable=SC1091
  source "$dir/env.sh"
  for k in "${saved[@]}"; do export "${k%%=*}=${k#*=}"; done
}

# netns_interfaces : names of the interfaces in THIS network namespace.
# /proc/self/net/dev follows the caller's netns; /sys/class/net does not
# (it shows the netns of whoever mounted /sys), so never trust it here.
netns_interfaces() {
  awk -F: 'NR>2{gsub(/ /,"",$1); print $1}' /proc/self/net/dev
}

# require_loopback_only_netns : exit non-zero unless the only interface is
# lo and it is up. Everything that starts kube-apiserver calls this first,
# so a webhook/aggregated-API call to a 10.x Service can never leave.
require_loopback_only_netns() {
  local ifs; ifs="$(netns_interfaces | tr '\n' ' ')"
  if [[ "$ifs" != "lo " ]]; then
    echo "ERROR: refusing to run: this network namespace has interfaces [${ifs% }], want only [lo]." >&2
    echo "       Run inside a private netns: hack/in-netns.sh <command>" >&2
    return 1
  fi
  # IFF_UP is bit 0 of the flags; read via ip(8) because sysfs is not per-netns.
  if ! ip -o link show lo 2>/dev/null | grep -q '[<,]UP[,>]'; then
    echo "ERROR: refusing to run: loopback is down in this netns (ip link set lo up)." >&2
    return 1
  fi
}
