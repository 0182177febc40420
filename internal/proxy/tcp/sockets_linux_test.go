package tcp

import (
	"context"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/splice"
)

func control(t *testing.T, c *net.TCPConn, f func(fd int)) {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Control(func(fd uintptr) { f(int(fd)) }); err != nil {
		t.Fatal(err)
	}
}

func sockopt(t *testing.T, c *net.TCPConn, level, opt int) int {
	t.Helper()
	var got int
	var err error
	control(t, c, func(fd int) { got, err = syscall.GetsockoptInt(fd, level, opt) })
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestTuneSocket: the sockets pipe writes to hold at most unsentLimit bytes
// not yet sent; a socket to a peer on this host (loopback) gets the fixed
// near-peer receive buffer, one to a farther peer keeps autotuning; a
// connection that is not TCP is left alone.
func TestTuneSocket(t *testing.T) {
	a, b := tcpPair(t)
	autotuned := sockopt(t, b, syscall.SOL_SOCKET, syscall.SO_RCVBUF)
	var rtt time.Duration
	var ok bool
	control(t, a, func(fd int) { rtt, ok = splice.HandshakeRTT(fd) })
	if !ok || rtt <= 0 || rtt >= time.Second {
		t.Errorf("handshakeRTT = %v, %v; want a loopback round trip", rtt, ok)
	}

	// Every peer is nearer than a second (tuneSocket's own bound, 50 µs, can
	// be missed by a loopback handshake on a busy machine).
	control(t, a, func(fd int) { tuneFD(fd, time.Second) })
	if got := sockopt(t, a, syscall.IPPROTO_TCP, tcpNotsentLowat); got != unsentLimit {
		t.Errorf("TCP_NOTSENT_LOWAT = %d; want %d", got, unsentLimit)
	}
	// The kernel doubles SO_RCVBUF, after capping it at rmem_max.
	want := splice.NearRcvbuf
	if raw, err := os.ReadFile("/proc/sys/net/core/rmem_max"); err == nil {
		if m, err := strconv.Atoi(strings.TrimSpace(string(raw))); err == nil && m < want {
			want = m
		}
	}
	if got := sockopt(t, a, syscall.SOL_SOCKET, syscall.SO_RCVBUF); got != 2*want {
		t.Errorf("near peer: SO_RCVBUF = %d; want %d (untuned: %d)", got, 2*want, autotuned)
	}

	// No peer is nearer than 0: b keeps its autotuned buffer.
	control(t, b, func(fd int) { tuneFD(fd, 0) })
	if got := sockopt(t, b, syscall.SOL_SOCKET, syscall.SO_RCVBUF); got != autotuned {
		t.Errorf("far peer: SO_RCVBUF = %d; want it left at %d", got, autotuned)
	}
	if got := sockopt(t, b, syscall.IPPROTO_TCP, tcpNotsentLowat); got != unsentLimit {
		t.Errorf("far peer: TCP_NOTSENT_LOWAT = %d; want %d", got, unsentLimit)
	}

	c, _ := tcpPair(t)
	tuneSocket(c)
	if got := sockopt(t, c, syscall.IPPROTO_TCP, tcpNotsentLowat); got != unsentLimit {
		t.Errorf("tuneSocket: TCP_NOTSENT_LOWAT = %d; want %d", got, unsentLimit)
	}
	p, q := net.Pipe()
	defer p.Close()
	defer q.Close()
	tuneSocket(p) // not a socket: nothing to do, no panic
}

// TestServerConnNoKeepAlive: connections to servers get no TCP keep-alive
// probes (HAProxy's srvtcpka and nginx's proxy_socket_keepalive are off by
// default), which also spares four setsockopt calls per connection.
func TestServerConnNoKeepAlive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := dialTCP(context.Background(), ln.Addr().String(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := sockopt(t, c, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE); got != 0 {
		t.Errorf("SO_KEEPALIVE = %d on a server connection, want 0", got)
	}
}
