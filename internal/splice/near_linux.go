package splice

import (
	"net"
	"syscall"
	"time"
	"unsafe"
)

// NearRTT is the handshake round trip under which a peer counts as near:
// on the same host (loopback, a veth pair). Across a real network card a
// round trip takes longer than this even between neighbours.
const NearRTT = 50 * time.Microsecond

// NearRcvbuf is the receive buffer a socket to a near peer gets (the kernel
// doubles it to account for its own overhead, after capping it at
// net.core.rmem_max). Its window, about 470 KiB, covers 75 Gbit/s at a
// 50 µs round trip.
//
// Left to receive autotuning, such a socket's buffer grows to the tcp_rmem
// maximum (6–33 MB seen): splice drains it a pipe at a time, which
// autotuning reads as a round trip of 0.7–1 ms instead of 5–40 µs. The
// megabytes then queued have left the CPU caches by the time they are
// copied out.
const NearRcvbuf = 256 << 10

// BoundReceive gives c's socket a fixed receive buffer of NearRcvbuf when
// its peer is near (its handshake round trip was under NearRTT); a farther
// peer keeps receive autotuning, which a longer path needs. Best effort: an
// error leaves the kernel's default.
func BoundReceive(c *net.TCPConn) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) { BoundReceiveFD(int(fd), NearRTT) })
}

// BoundReceiveFD is BoundReceive on a descriptor, for peers nearer than
// near.
func BoundReceiveFD(fd int, near time.Duration) {
	if rtt, ok := HandshakeRTT(fd); ok && rtt < near {
		syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, NearRcvbuf)
	}
}

// HandshakeRTT is the socket's smoothed round-trip time, which before any
// data has moved is the one its handshake measured.
func HandshakeRTT(fd int) (time.Duration, bool) {
	var ti syscall.TCPInfo
	n := uint32(unsafe.Sizeof(ti))
	_, _, errno := syscall.Syscall6(syscall.SYS_GETSOCKOPT, uintptr(fd), syscall.IPPROTO_TCP, syscall.TCP_INFO,
		uintptr(unsafe.Pointer(&ti)), uintptr(unsafe.Pointer(&n)), 0)
	if errno != 0 || ti.Rtt == 0 {
		return 0, false
	}
	return time.Duration(ti.Rtt) * time.Microsecond, true
}
