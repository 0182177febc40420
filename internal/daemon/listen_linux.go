package daemon

import (
	"net"
	"os"
	"syscall"
	"time"
)

// The listener options of protocols where the client speaks first: http
// mode (its TLS begins with the ClientHello, a PROXY protocol header comes
// first too), never tcp mode, where a server may greet first. Accepted
// connections inherit both.

// deferAccept returns a listener control that makes the kernel hand over
// a connection only once its first bytes have arrived (TCP_DEFER_ACCEPT),
// for up to wait (at least a second): the first read then finds them,
// instead of finding nothing and waiting.
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

// delayFirstAck turns TCP_QUICKACK off on a listening socket, so that a
// connection's first request is not acknowledged on its own at once: the
// acknowledgement rides on the answer, one packet fewer per connection
// (HAProxy's tcp-smart-accept, on by default in its http mode). An answer
// that takes longer than the delayed-ACK timer (40 ms or more) gets the
// bare acknowledgement then. It must come after listen(2), which clears
// the socket's acknowledgement state.
func delayFirstAck(ln net.Listener) error {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return nil
	}
	rc, err := tl.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 0)
	}); err != nil {
		return err
	}
	return os.NewSyscallError("setsockopt TCP_QUICKACK", serr)
}
