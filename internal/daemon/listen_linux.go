package daemon

import (
	"os"
	"syscall"
	"time"
)

// deferAccept returns a listener control that makes the kernel hand over
// a connection only once its first bytes have arrived (TCP_DEFER_ACCEPT),
// for up to wait (at least a second): the first read then finds them,
// instead of finding nothing and waiting. Only for protocols where the
// client speaks first: http mode (its TLS begins with the ClientHello, a
// PROXY protocol header comes first too), never tcp mode, where a server
// may greet first.
func deferAccept(wait time.Duration) func(network, address string, c syscall.RawConn) error {
	secs := max(int(wait/time.Second), 1)
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_DEFER_ACCEPT, secs)
		}); err != nil {
			return err
		}
		return os.NewSyscallError("setsockopt TCP_DEFER_ACCEPT", serr)
	}
}
