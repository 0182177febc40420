package tcp

import (
	"net"
	"syscall"
	"testing"
)

// TestLimitUnsent: the sockets pipe writes to hold at most unsentLimit
// bytes not yet sent; a connection that is not TCP is left alone.
func TestLimitUnsent(t *testing.T) {
	a, _ := tcpPair(t)
	limitUnsent(a)
	rc, err := a.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got int
	var gerr error
	rc.Control(func(fd uintptr) {
		got, gerr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpNotsentLowat)
	})
	if gerr != nil || got != unsentLimit {
		t.Errorf("TCP_NOTSENT_LOWAT = %d, %v; want %d", got, gerr, unsentLimit)
	}
	p, q := net.Pipe()
	defer p.Close()
	defer q.Close()
	limitUnsent(p) // not a socket: nothing to do, no panic
}
