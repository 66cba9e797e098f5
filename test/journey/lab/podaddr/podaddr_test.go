package podaddr

import "testing"

func TestAPodsAPIAddressIsItsLoopbackTwinAndBack(t *testing.T) {
	for loopback, api := range map[string]string{"127.0.1.1": "198.18.1.1", "127.0.255.254": "198.18.255.254"} {
		if got := APIAddress(loopback); got != api {
			t.Errorf("APIAddress(%s) = %s, want %s", loopback, got, api)
		}
		if got := Loopback(api); got != loopback {
			t.Errorf("Loopback(%s) = %s, want %s", api, got, loopback)
		}
	}
	for _, other := range []string{"10.244.0.5", "127.1.0.1", "", "not an ip", "198.19.0.1"} {
		if APIAddress(other) != other || Loopback(other) != other {
			t.Errorf("%q is not a journey pod address and must pass unchanged", other)
		}
	}
}
