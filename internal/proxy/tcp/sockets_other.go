//go:build !linux

package tcp

import "net"

// tuneSocket does nothing here: it is tuned for Linux's splice path.
func tuneSocket(net.Conn) {}
