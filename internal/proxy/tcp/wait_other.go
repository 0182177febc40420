//go:build !linux

package tcp

import "syscall"

// waitReadable blocks until c is readable, or its read deadline passes,
// without reading anything. It trusts the runtime's poller, which is
// edge-triggered: it is only correct right after a read found c empty.
func waitReadable(c syscall.RawConn) error {
	waited := false
	return c.Read(func(uintptr) bool {
		if !waited {
			waited = true
			return false // "not done": wait for readability, then call again
		}
		return true
	})
}
