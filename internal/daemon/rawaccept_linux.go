package daemon

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
)

// rawAccepter accepts connections of a listener as bare descriptors, for
// plain HTTP frontends (httpproxy.Proxy.ServeFD): a connection gets a Go
// connection, and with it a registration with Go's network poller, a
// finalizer and its addresses looked up, only when it has to wait. One
// that makes one request and is closed costs accept4, read, write and
// close: TCP_NODELAY, which Go sets on each connection it accepts, is set
// once on the listening socket, and Linux copies it to the connections
// accepted from it.
//
// A listener's RawConn cannot wait (Go's raw listener refuses Read), so
// accept only takes a connection that is already waiting in the queue,
// and reports errWouldBlock when there is none: the caller then waits in
// the listener's own Accept and serves that one connection as a Go
// connection. Under load the queue is seldom empty.
type rawAccepter struct {
	rc syscall.RawConn
	fn func(fd uintptr) // step, bound once
	// inherit says the listening socket has TCP_NODELAY, so accepted
	// sockets have it from the start; else accept sets it on each.
	inherit bool
	fd      int
	sa      syscall.Sockaddr
	err     error
}

func newRawAccepter(ln *net.TCPListener) (*rawAccepter, error) {
	rc, err := ln.SyscallConn()
	if err != nil {
		return nil, err
	}
	a := &rawAccepter{rc: rc}
	a.fn = a.step
	rc.Control(func(fd uintptr) {
		a.inherit = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1) == nil
	})
	return a, nil
}

// errWouldBlock says no connection is waiting to be accepted.
var errWouldBlock = errors.New("no connection waiting")

// accept takes the next connection waiting in the listener's queue and
// returns its descriptor (non-blocking, close-on-exec, TCP_NODELAY) and its
// client's address; errWouldBlock when none is waiting.
func (a *rawAccepter) accept() (int, netip.AddrPort, error) {
	a.fd, a.sa, a.err = -1, nil, nil
	if err := a.rc.Control(a.fn); err != nil {
		return -1, netip.AddrPort{}, err
	}
	if a.err != nil {
		return -1, netip.AddrPort{}, a.err
	}
	fd := a.fd
	if !a.inherit {
		if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1); err != nil {
			syscall.Close(fd)
			return -1, netip.AddrPort{}, os.NewSyscallError("setsockopt", err)
		}
	}
	var src netip.AddrPort
	switch sa := a.sa.(type) {
	case *syscall.SockaddrInet4:
		src = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *syscall.SockaddrInet6:
		src = netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), uint16(sa.Port))
	}
	return fd, src, nil
}

// step is accept's callback.
func (a *rawAccepter) step(lfd uintptr) {
	for {
		fd, sa, err := syscall.Accept4(int(lfd), syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
		switch err {
		case nil:
			a.fd, a.sa = fd, sa
		case syscall.EINTR, syscall.ECONNABORTED:
			continue // as Go's accept: the next one
		case syscall.EAGAIN:
			a.err = errWouldBlock
		default:
			a.err = os.NewSyscallError("accept4", err)
		}
		return
	}
}
