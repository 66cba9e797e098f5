// Package podaddr maps a journey pod's loopback address, where its
// processes listen, to the address the API server holds for it, and back.
//
// The kube-apiserver refuses loopback addresses in EndpointSlices and
// Endpoints, so a Service over pods whose status said 127.0.A.B would never
// get endpoints (and `pulumi up` waits for them). The API therefore sees
// each pod at its twin 198.18.A.B, in RFC 2544's benchmarking range
// (198.18.0.0/15, never routed); nothing ever dials a twin: every stand-in
// that reaches a pod translates it back with Loopback first.
package podaddr

import "net/netip"

var (
	loopbackNet = netip.MustParsePrefix("127.0.0.0/16")
	apiNet      = netip.MustParsePrefix("198.18.0.0/16")
)

// APIAddress is the address the pod's status gives for a loopback one;
// any other address is returned as it is.
func APIAddress(loopback string) string { return swap(loopback, loopbackNet, 198, 18) }

// Loopback is where a pod the API server lists at ip listens; any other
// address is returned as it is.
func Loopback(ip string) string { return swap(ip, apiNet, 127, 0) }

func swap(ip string, from netip.Prefix, a, b byte) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil || !from.Contains(addr) {
		return ip
	}
	v := addr.As4()
	return netip.AddrFrom4([4]byte{a, b, v[2], v[3]}).String()
}
