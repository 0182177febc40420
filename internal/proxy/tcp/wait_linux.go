package tcp

import (
	"syscall"
	"unsafe"
)

// waitReadable blocks until c has something to read (data, EOF or an
// error), or its read deadline passes, without reading anything.
func waitReadable(c syscall.RawConn) error {
	return c.Read(readable)
}

// readable reports whether fd has something to read; false tells
// RawConn.Read to wait for readability and ask again. It polls rather than
// trusting the runtime's poller alone: that one is edge-triggered and, when
// a wait begins, forgets readiness signalled before it, so data that came
// between the last read finding the socket empty and the wait would sleep
// until more came or the timeout passed. (A peeking recv would do as well
// but clears a pending error such as a reset, which the copy must see.)
func readable(fd uintptr) bool {
	pfd := struct {
		fd              int32
		events, revents int16
	}{fd: int32(fd), events: 0x1} // POLLIN
	var now syscall.Timespec // a zero timeout: look, do not wait
	n, _, errno := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1,
		uintptr(unsafe.Pointer(&now)), 0, 0, 0)
	return errno != 0 || n > 0
}
