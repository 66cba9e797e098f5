package agent

import (
	"net"
	"syscall"
)

func init() { stillOpen = peekStillOpen }

// peekStillOpen is stillOpen with one non-blocking peek at the socket.
func peekStillOpen(conn net.Conn) bool {
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
