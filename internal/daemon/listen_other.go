//go:build !linux

package daemon

import (
	"syscall"
	"time"
)

// deferAccept is a Linux option; elsewhere listeners accept at once.
func deferAccept(time.Duration) func(network, address string, c syscall.RawConn) error {
	return nil
}
