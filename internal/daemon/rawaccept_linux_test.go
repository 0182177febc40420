package daemon

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/config"
	"github.com/fulcrum-lb/fulcrum/internal/runtime"
)

// queued dials addr and sends first, before the daemon accepts anything:
// the connection waits in the listener's queue, and is accepted bare
// (rawAccepter) when the accept loop starts.
func queued(t *testing.T, addr, first string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c := dialSend(t, addr, first)
	return c, bufio.NewReader(c)
}

func readOK(t *testing.T, what string, br *bufio.Reader) string {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%s: %d, %v", what, resp.StatusCode, err)
	}
	return string(body)
}

// TestHTTPBareAcceptedConnections: connections accepted as bare
// descriptors are served like any other, through each way one turns into
// a Go connection: one request and close; keep-alive, parked and woken; a
// request that arrives in two parts (the read waits); a response larger
// than the socket buffers (the write waits); and a WebSocket tunnel.
func TestHTTPBareAcceptedConnections(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 1<<18) // 4 MiB
	srv := startHTTP(t, "s", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			io.WriteString(w, big)
		case "/ws":
			c, brw, _ := w.(http.Hijacker).Hijack()
			defer c.Close()
			brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			brw.Flush()
			io.Copy(c, brw) // echo
		default:
			fmt.Fprintf(w, "%s %s", r.URL.Path, r.Header.Get("X-Forwarded-For"))
		}
	})
	d := newStopped(t, httpYAML("", serversYAML("app", "roundrobin", srv)))
	addr := d.Addrs("web")[0].String()

	closeC, closeR := queued(t, addr, "GET /once HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	kaC, kaR := queued(t, addr, "GET /ka1 HTTP/1.1\r\nHost: x\r\n\r\n")
	splitC, splitR := queued(t, addr, "GET /split HTTP/1.1\r\nHo")
	_, bigR := queued(t, addr, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
	wsC, wsR := queued(t, addr, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	d.Start()

	if got := readOK(t, "one request", closeR); got != "/once 127.0.0.1" {
		t.Errorf("one request: %q", got)
	}
	if b, err := closeR.ReadByte(); err == nil {
		t.Errorf("read %q after Connection: close", b)
	}
	closeC.Close()

	if got := readOK(t, "keep-alive 1", kaR); got != "/ka1 127.0.0.1" {
		t.Errorf("keep-alive 1: %q", got)
	}
	time.Sleep(150 * time.Millisecond) // parked by now
	io.WriteString(kaC, "GET /ka2 HTTP/1.1\r\nHost: x\r\n\r\n")
	if got := readOK(t, "keep-alive 2", kaR); got != "/ka2 127.0.0.1" {
		t.Errorf("keep-alive 2: %q", got)
	}

	time.Sleep(50 * time.Millisecond)
	io.WriteString(splitC, "st: x\r\n\r\n")
	if got := readOK(t, "split request", splitR); got != "/split 127.0.0.1" {
		t.Errorf("split request: %q", got)
	}

	time.Sleep(100 * time.Millisecond) // the socket buffers fill up
	if got := readOK(t, "big response", bigR); got != big {
		t.Errorf("big response: %d bytes, want %d", len(got), len(big))
	}

	resp, err := http.ReadResponse(wsR, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	for _, msg := range []string{"hello", "through the tunnel"} {
		io.WriteString(wsC, msg)
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(wsR, got); err != nil || string(got) != msg {
			t.Fatalf("echo %q: got %q, %v", msg, got, err)
		}
	}

	if n := d.rawAccepted.Load(); n < 5 {
		t.Errorf("%d connections accepted bare, want the 5 queued before the accept loop started", n)
	}
}

// newStopped builds a daemon on yaml without starting its accept loops.
func newStopped(t *testing.T, yaml string) *Daemon {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(cfg, runtime.NewShared(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Shutdown(time.Second) })
	return d
}

// TestH2CBareAccepted: an HTTP/2 client with prior knowledge whose
// connection was accepted bare is served over HTTP/2 (the preface makes it
// a Go connection).
func TestH2CBareAccepted(t *testing.T) {
	srv := startHTTP(t, "s", nil)
	d := newStopped(t, h2cYAML("", serversYAML("app", "roundrobin", srv)))
	addr := d.Addrs("web")[0].String()
	type result struct {
		proto, body string
		err         error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := h2cClient().Get("http://" + addr + "/")
		if err != nil {
			done <- result{err: err}
			return
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- result{resp.Proto, string(body), err}
	}()
	// The client's connection and preface wait in the queue.
	deadline := time.Now().Add(5 * time.Second)
	for queuedConns(t, addr) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the client's connection never reached the listen queue")
		}
		time.Sleep(5 * time.Millisecond)
	}
	d.Start()
	r := <-done
	if r.err != nil || r.proto != "HTTP/2.0" || r.body != "s\n" {
		t.Fatalf("got %q %q, %v; want HTTP/2.0 and the server's answer", r.proto, r.body, r.err)
	}
	if n := d.rawAccepted.Load(); n < 1 {
		t.Errorf("%d connections accepted bare, want the queued one", n)
	}
}

// TestHTTPSendProxyBareAccepted: the PROXY protocol header fulcrum sends a
// server carries the client's address for a connection accepted bare too.
func TestHTTPSendProxyBareAccepted(t *testing.T) {
	srv := proxyEcho(t)
	d := newStopped(t, httpYAML("", "  - name: app\n    send_proxy: v1\n    servers:\n      - {name: s, addr_port: "+srv+"}\n"))
	_, br := queued(t, d.Addrs("web")[0].String(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	d.Start()
	if got := readOK(t, "through send_proxy", br); got != "127.0.0.1" {
		t.Errorf("the server saw %q, want 127.0.0.1", got)
	}
	if n := d.rawAccepted.Load(); n < 1 {
		t.Errorf("%d connections accepted bare, want the queued one", n)
	}
}

// queuedConns is the number of connections waiting in the accept queue of
// the listener on addr (Recv-Q of a listening socket, from ss).
func queuedConns(t *testing.T, addr string) int {
	t.Helper()
	out, err := exec.Command("ss", "-Hltn", "src", addr).Output()
	if err != nil {
		t.Fatal("ss (iproute2) shows the listen queue:", err)
	}
	var n int
	fmt.Sscan(strings.Fields(string(out) + " LISTEN 0")[1], &n)
	return n
}

// TestRawAcceptNoDelay: a connection accepted bare has TCP_NODELAY, as
// one Go accepts does, without a setsockopt of its own: the listening
// socket has it, and accepted sockets inherit it.
func TestRawAcceptNoDelay(t *testing.T) {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, err := newRawAccepter(ln)
	if err != nil {
		t.Fatal(err)
	}
	if !a.inherit {
		t.Fatal("TCP_NODELAY could not be set on the listening socket")
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var fd int
	for deadline := time.Now().Add(5 * time.Second); ; {
		if fd, _, err = a.accept(); err != errWouldBlock || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if v, err := syscall.GetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY); err != nil || v == 0 {
		t.Errorf("TCP_NODELAY on the accepted socket = %d, %v; want it set", v, err)
	}
}
