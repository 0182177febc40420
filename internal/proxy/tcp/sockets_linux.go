package tcp

import (
	"net"
	"syscall"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/splice"
)

// tcpNotsentLowat is TCP_NOTSENT_LOWAT (linux/tcp.h); package syscall
// defines it on a few architectures only.
const tcpNotsentLowat = 0x19

// tuneSocket sets the options pipe wants on a socket it splices to and
// from. Best effort: an error leaves the kernel's default.
//
// The socket accepts writes only while it holds less than unsentLimit
// bytes not yet sent. What a splice has not written yet then waits in its
// pipe and in the source's receive queue, whose window pushes back on the
// sender, rather than in a deep send queue. Bytes already in flight are not
// limited (the congestion window still decides), and send buffer
// autotuning stays on.
//
// A socket to a near peer gets a fixed receive buffer
// (splice.BoundReceive). One iperf3 stream through fulcrum pinned to one
// core, client and server on the other, medians of two sets of 8 and 10
// alternating runs: 0.80 → 0.91 and 0.90 → 0.98 of direct; with the server
// sending (iperf3 -R), 0.85 → 0.93.
func tuneSocket(c net.Conn) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) { tuneFD(int(fd), splice.NearRTT) })
}

// tuneFD is tuneSocket on a descriptor, for peers nearer than near.
func tuneFD(fd int, near time.Duration) {
	syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, tcpNotsentLowat, unsentLimit)
	splice.BoundReceiveFD(fd, near)
}
