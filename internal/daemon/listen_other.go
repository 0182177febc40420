//go:build !linux

package daemon

import (
	"net"
	"syscall"
	"time"
)

// deferAccept is a Linux option; elsewhere listeners accept at once.
func deferAccept(time.Duration) func(network, address string, c syscall.RawConn) error {
	return nil
}

// delayFirstAck is a Linux option; elsewhere the first request is
// acknowledged as the system decides.
func delayFirstAck(net.Listener) error { return nil }
