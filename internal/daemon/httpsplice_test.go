package daemon

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/splice"
	"github.com/fulcrum-lb/fulcrum/internal/testnet"
)

// body returns n bytes that depend on n alone.
func body(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(uint64(n), 7))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// getOn sends a GET for path on c and returns the response and its body.
func getOn(t *testing.T, c net.Conn, br *bufio.Reader, path string) (*http.Response, []byte) {
	t.Helper()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("GET %s: body: %v after %d bytes", path, err, len(b))
	}
	return resp, b
}

// TestHTTPLongBodiesSpliced: response bodies of 64 KiB and more, of known
// length or until the server closes, go from a plain TCP server to a plain
// TCP client with splice(2), whole and in order; shorter ones are copied;
// the keep-alive connections on both sides carry on after them.
func TestHTTPLongBodiesSpliced(t *testing.T) {
	srv := startHTTP(t, "s", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		w.Header().Set("Content-Length", strconv.Itoa(n))
		w.Write(body(n))
	})
	// A server that answers once, with a body that ends when it closes.
	closer := testnet.Serve(t, func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
		c.Write(body(2 << 20))
	})
	rules := `    http_condition:
      - when: "path == '/close'"
        use_backend: closer
`
	d, _ := start(t, httpYAML(rules, serversYAML("app", "roundrobin", srv)+
		"  - name: closer\n    servers: [{name: c, addr_port: \""+closer+"\"}]\n"))
	addr := frontAddr(t, d, "web")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	before := d.http.Spliced()
	for _, n := range []int{3 << 20, 100, 256 << 10, 1 << 20} {
		resp, b := getOn(t, c, br, "/"+strconv.Itoa(n))
		if resp.StatusCode != 200 || !bytes.Equal(b, body(n)) {
			t.Fatalf("GET /%d: status %d, %d bytes, equal %v", n, resp.StatusCode, len(b), bytes.Equal(b, body(n)))
		}
	}
	if got := d.http.Spliced() - before; got != 3 {
		t.Errorf("%d bodies spliced, want 3 (all but the 100-byte one)", got)
	}
	if got := srv.requests.Load(); got != 4 {
		t.Errorf("server saw %d requests", got)
	}

	resp, b := getOn(t, c, br, "/close")
	if resp.StatusCode != 200 || !bytes.Equal(b, body(2<<20)) {
		t.Fatalf("GET /close: status %d, %d bytes", resp.StatusCode, len(b))
	}
	if got := d.http.Spliced() - before; got != 4 {
		t.Errorf("%d bodies spliced after the one until close, want 4", got)
	}
}

// TestHTTPSplicedBodyTimeouts: a spliced body keeps the copy's timeouts,
// which bound each wait, not the whole body. A client that reads slowly but
// steadily, and a server that sends slowly but steadily, get the whole body
// across though it takes many times timeout_client or timeout_server; a
// server that stops sending mid-body is given up after timeout_server, and
// the client's connection is closed.
func TestHTTPSplicedBodyTimeouts(t *testing.T) {
	const size = 3 << 20
	stall := make(chan struct{})
	srv := startHTTP(t, "s", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		b := body(size)
		switch r.URL.Path {
		case "/stall":
			w.Write(b[:300<<10])
			w.(http.Flusher).Flush()
			select {
			case <-stall:
			case <-time.After(10 * time.Second):
			}
		case "/trickle": // 128 KiB every 40 ms: about a second
			for len(b) > 0 {
				k := min(len(b), 128<<10)
				if _, err := w.Write(b[:k]); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				b = b[k:]
				time.Sleep(40 * time.Millisecond)
			}
		default:
			w.Write(b)
		}
	})
	t.Cleanup(func() { close(stall) }) // before the server's own cleanup waits for its handlers
	yaml := strings.NewReplacer("timeout_client: 5s", "timeout_client: 300ms", "timeout_server: 5s", "timeout_server: 300ms").
		Replace(httpYAML("", serversYAML("app", "roundrobin", srv)))
	d, _ := start(t, yaml)
	addr := frontAddr(t, d, "web")
	before := d.http.Spliced()

	// The slow reader takes 64 KiB every 40 ms: 2 s for the body, 640 ms
	// for 1 MiB (one splice). Each request on a connection of its own: the
	// connection is idle for longer than timeout_client once fulcrum has
	// written the whole body, and is closed then.
	for _, path := range []string{"/slow-reader", "/trickle"} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.(*net.TCPConn).SetReadBuffer(32 << 10)
		br := bufio.NewReaderSize(c, 4<<10)
		c.SetDeadline(time.Now().Add(20 * time.Second))
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		var got bytes.Buffer
		start := time.Now()
		for {
			_, err := io.CopyN(&got, resp.Body, 64<<10)
			if err != nil {
				break
			}
			if path == "/slow-reader" {
				time.Sleep(40 * time.Millisecond)
			}
		}
		if !bytes.Equal(got.Bytes(), body(size)) {
			t.Fatalf("GET %s: got %d of %d bytes in %v", path, got.Len(), size, time.Since(start))
		}
	}

	c2 := dialSend(t, addr, "GET /stall HTTP/1.1\r\nHost: x\r\n\r\n")
	c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := io.Copy(io.Discard, c2)
	if n >= size {
		t.Fatalf("got the whole response from a server that stalled")
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("client connection still open 5 s after the server stalled (%d bytes): %v", n, err)
	}
	if got := d.http.Spliced() - before; got != 3 {
		t.Errorf("%d bodies spliced, want 3", got)
	}
}

// TestHTTPUpstreamReceiveBounded: fulcrum's connections to a server on this
// host get the fixed near-peer receive buffer (splice.BoundReceive), which
// ss shows as rb. Four connections are opened at once; a loopback
// handshake slower than 50 µs on a busy machine leaves one autotuned, so
// one bounded is enough.
func TestHTTPUpstreamReceiveBounded(t *testing.T) {
	release := make(chan struct{})
	srv := startHTTP(t, "s", func(w http.ResponseWriter, r *http.Request) {
		<-release
		io.WriteString(w, "ok\n")
	})
	d, _ := start(t, httpYAML("", serversYAML("app", "roundrobin", srv)))
	addr := frontAddr(t, d, "web")
	done := make(chan error, 4)
	for range 4 {
		go func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				done <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			_, err = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			if err == nil {
				_, err = http.ReadResponse(bufio.NewReader(c), nil)
			}
			done <- err
		}()
	}
	waitFor(t, "four requests at the server", func() bool { return srv.requests.Load() == 4 })
	want := splice.NearRcvbuf
	if raw, err := os.ReadFile("/proc/sys/net/core/rmem_max"); err == nil {
		if m, err := strconv.Atoi(strings.TrimSpace(string(raw))); err == nil && m < want {
			want = m
		}
	}
	out, err := exec.Command("ss", "-Htnm", "dst", srv.Listener.Addr().String()).Output()
	close(release)
	if err != nil {
		t.Fatal("ss (iproute2) shows socket buffers:", err)
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if bounded := strings.Count(string(out), ",rb"+strconv.Itoa(2*want)+","); bounded == 0 {
		t.Errorf("no connection to the server has rb%d:\n%s", 2*want, out)
	}
}
