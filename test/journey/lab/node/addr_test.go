package node

import "testing"

// Nodes side by side take pod IPs from disjoint blocks, and a block that
// runs out says so instead of handing out its neighbour's addresses.
func TestAddressBlocksAreDisjointAndBounded(t *testing.T) {
	first := func(block int) (*addresses, string) {
		a := &addresses{next: block * blockSize, limit: (block + 1) * blockSize}
		ip, err := a.take()
		if err != nil {
			t.Fatal(err)
		}
		return a, ip
	}
	if _, ip := first(0); ip != "127.0.1.1" {
		t.Errorf("block 0 starts at %s, want 127.0.1.1", ip)
	}
	if _, ip := first(1); ip != "127.0.32.1" {
		t.Errorf("block 1 starts at %s, want 127.0.32.1", ip)
	}
	a, _ := first(AddressBlocks - 1)
	seen := map[string]bool{}
	for {
		ip, err := a.take()
		if err != nil {
			break
		}
		if seen[ip] {
			t.Fatalf("%s handed out twice", ip)
		}
		seen[ip] = true
	}
	if got, want := len(seen)+1, 31*254; got != want {
		t.Errorf("the last block gave %d addresses, want %d", got, want)
	}
	b, _ := first(AddressBlocks - 2)
	for {
		ip, err := b.take()
		if err != nil {
			break
		}
		if seen[ip] {
			t.Fatalf("%s is in two blocks", ip)
		}
	}
}
