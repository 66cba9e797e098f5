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
		open = n <= 0 && err == syscall.EAGAIN // nothing to read yet: open and quiet
		return true // never wait
	})
	return err == nil && open
}
