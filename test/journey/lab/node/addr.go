package node

import (
	"fmt"
	"net"
	"sync"
)

// addresses hands out pod IPs in 127.0.1.1-127.0.255.254: every one is on
// the loopback interface, so a pod binds its own port 8080 as in its own
// network namespace, and nothing it serves is reachable off the machine.
// Two nodes on one machine (labs run side by side) start at different
// blocks (Options.AddressBlock) so their pods never share an address.
type addresses struct {
	mu    sync.Mutex
	next  int
	limit int // the last next of the block (0: none)
}

// AddressBlocks is how many disjoint blocks of pod IPs there are.
const AddressBlocks = 8

// blockSize is the addresses of one block: 127.0.(1+32k).0 upwards.
const blockSize = 256 * 255 / AddressBlocks / 256 * 256

func (a *addresses) take() (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for {
		n := 256 + a.next // 127.0.1.0 upwards
		a.next++
		if n >= 256*256 || a.limit > 0 && a.next > a.limit {
			return "", fmt.Errorf("no pod IPs left in this node's block of 127.0.0.0/16")
		}
		hi, lo := n/256, n%256
		if lo == 0 || lo == 255 {
			continue
		}
		return net.IPv4(127, 0, byte(hi), byte(lo)).String(), nil
	}
}
