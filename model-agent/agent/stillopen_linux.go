package agent

import (
	"net"
	"syscall"
)

// stillOpen reports whether the model has neither closed conn nor sent
// anything on it unasked, with one non-blocking peek at the socket.
func stillOpen(conn net.Conn) bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	open := false
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// Nothing to read yet: open and quiet. Never wait.
		open = n <= 0 && err == syscall.EAGAIN
		return true
	})
	return err == nil && open
}
