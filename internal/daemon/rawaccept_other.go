//go:build !linux

package daemon

import (
	"errors"
	"net"
	"net/netip"
)

// rawAccepter is Linux-only: elsewhere connections are accepted as Go
// connections.
type rawAccepter struct{}

func newRawAccepter(*net.TCPListener) (*rawAccepter, error) {
	return nil, errors.New("bare accept is Linux-only")
}

var errWouldBlock = errors.New("no connection waiting")

func (a *rawAccepter) accept() (int, netip.AddrPort, error) {
	return -1, netip.AddrPort{}, errWouldBlock
}
