//go:build !linux

package tcp

import "net"

// limitUnsent does nothing here: it is tuned for Linux's splice path.
func limitUnsent(net.Conn) {}
