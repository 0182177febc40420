package tcp

import (
	"net"
	"syscall"
)

// tcpNotsentLowat is TCP_NOTSENT_LOWAT (linux/tcp.h); package syscall
// defines it on a few architectures only.
const tcpNotsentLowat = 0x19

// limitUnsent makes c's socket accept writes only while it holds less than
// unsentLimit bytes not yet sent. What a splice has not written yet then
// waits in its pipe and in the source's receive queue, whose window pushes
// back on the sender, rather than in a deep send queue. Bytes already in
// flight are not limited (the congestion window still decides), and
// buffer autotuning stays on. Best effort: an error leaves the default.
func limitUnsent(c net.Conn) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpNotsentLowat, unsentLimit)
	})
}
