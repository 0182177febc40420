package daemon

import (
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// unacked is tcpi_unacked of c's TCP_INFO: segments sent and not yet
// acknowledged by the peer.
func unacked(t *testing.T, c *net.TCPConn) uint32 {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var info [232]byte // struct tcp_info; tcpi_unacked is the u32 at offset 24
	size := uint32(len(info))
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall6(syscall.SYS_GETSOCKOPT, fd, syscall.IPPROTO_TCP, syscall.TCP_INFO,
			uintptr(unsafe.Pointer(&info[0])), uintptr(unsafe.Pointer(&size)), 0)
	}); err != nil {
		t.Fatal(err)
	}
	if errno != 0 {
		t.Fatal("getsockopt TCP_INFO:", errno)
	}
	return *(*uint32)(unsafe.Pointer(&info[24]))
}

// TestHTTPListenerPlainTCPDelayedFirstAck: an http listener is a plain TCP
// socket (not Go's default MPTCP) and does not acknowledge a connection's
// first request on its own at once: the acknowledgement waits to ride on
// the answer, one packet fewer per connection. Here the server takes 300
// ms to answer, so the client's request stays unacknowledged for the
// delayed-ACK time (40 ms or more); an immediate acknowledgement would be
// made on loopback before the client's write returns.
func TestHTTPListenerPlainTCPDelayedFirstAck(t *testing.T) {
	srv := startHTTP(t, "s", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		io.WriteString(w, "late")
	})
	d, _ := start(t, httpYAML("", serversYAML("app", "roundrobin", srv)))
	for _, l := range d.listeners {
		rc, err := l.ln.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var proto int
		var serr error
		rc.Control(func(fd uintptr) {
			proto, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_PROTOCOL)
		})
		if serr != nil || proto != syscall.IPPROTO_TCP {
			t.Fatalf("listener %s: SO_PROTOCOL %d (%v), want %d (TCP)", l.ln.Addr(), proto, serr, syscall.IPPROTO_TCP)
		}
	}
	addr := frontAddr(t, d, "web")
	// The delayed acknowledgement can be cut short by a slow moment of the
	// test itself; it has to be seen once in a few tries.
	var seen []uint32
	for try := 0; try < 3; try++ {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		n := unacked(t, c.(*net.TCPConn))
		seen = append(seen, n)
		body, err := io.ReadAll(io.LimitReader(c, 1<<16))
		c.Close()
		if err != nil || !strings.HasSuffix(string(body), "late") {
			t.Fatalf("answer %q, %v", body, err)
		}
		if n == 1 {
			return
		}
	}
	t.Fatalf("the request was acknowledged at once every time (unacked segments after the write: %v)", seen)
}
