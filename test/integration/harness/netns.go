package harness

import (
	"fmt"
	"net"
	"os"
	"strings"
)

// RequireLoopbackOnlyNetns returns nil only when the current network
// namespace has exactly one interface, lo, and it is up: then nothing can
// reach an address off this machine (kube-apiserver calls to 10.x Service IPs
// fail with "network is unreachable"). Run tests under hack/integration/in-netns.sh.
//
// It reads the kernel's per-netns view (netlink via net.Interfaces and
// /proc/self/net/dev), never /sys/class/net, which shows the netns of
// whoever mounted /sys.
func RequireLoopbackOnlyNetns() error {
	ifs, err := net.Interfaces()
	if err != nil {
		return fmt.Errorf("refusing to run: listing network interfaces: %v", err)
	}
	var names []string
	loUp := false
	for _, i := range ifs {
		names = append(names, i.Name)
		if i.Name == "lo" && i.Flags&net.FlagLoopback != 0 && i.Flags&net.FlagUp != 0 {
			loUp = true
		}
	}
	// Cross-check with procfs in case netlink is filtered.
	if raw, err := os.ReadFile("/proc/self/net/dev"); err == nil {
		for _, line := range strings.Split(string(raw), "\n")[2:] {
			name, _, ok := strings.Cut(line, ":")
			if name = strings.TrimSpace(name); ok && name != "lo" && !contains(names, name) {
				names = append(names, name)
			}
		}
	}
	if len(names) != 1 || names[0] != "lo" {
		return fmt.Errorf("refusing to run: network namespace has interfaces %v, want only [lo]; "+
			"run under hack/integration/in-netns.sh so nothing can leave the machine", names)
	}
	if !loUp {
		return fmt.Errorf("refusing to run: loopback is down in this network namespace (ip link set lo up)")
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
