# shellcheck shell=bash
# The private network namespace checks of the integration tier. Source it;
# don't run it.

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
    echo "       Run inside a private netns: hack/integration/in-netns.sh <command>" >&2
    return 1
  fi
  # IFF_UP is bit 0 of the flags; read via ip(8) because sysfs is not per-netns.
  if ! ip -o link show lo 2>/dev/null | grep -q '[<,]UP[,>]'; then
    echo "ERROR: refusing to run: loopback is down in this netns (ip link set lo up)." >&2
    return 1
  fi
}
