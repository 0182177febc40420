package daemon

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHTTPClientTimeoutOnPartialFirstRequest: a new connection whose first
// request head stops half-way gets a 408 once timeout_client has passed
// without a byte, not before and not never. The first read finds the
// partial head without waiting (no deadline armed yet); the deadline must
// be armed for the wait that follows.
func TestHTTPClientTimeoutOnPartialFirstRequest(t *testing.T) {
	c := dialSend(t, shortClientTimeout(t, nil), "GET / HTTP/1.1\r\nHo")
	sent := time.Now()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled request: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 408 {
		t.Fatalf("status %d, want 408", resp.StatusCode)
	}
	if e := time.Since(sent); e < 350*time.Millisecond || e > 4*time.Second {
		t.Errorf("408 after %v, want about 400ms", e)
	}
}

// TestHTTPClientTimeoutOnUnreadResponse: a client that asks for a large
// response and does not read it is cut off once timeout_client has passed
// with the socket buffer full, and the server connection is let go. The
// response's first writes do not wait (no deadline armed yet); the
// deadline must be armed for the write that waits.
func TestHTTPClientTimeoutOnUnreadResponse(t *testing.T) {
	const size = 64 << 20
	chunk := make([]byte, 1<<20)
	h := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "67108864")
		for range size / len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}
	c := dialSend(t, shortClientTimeout(t, h), "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(2 * time.Second) // not reading: fulcrum's writes wait, then time out
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := io.Copy(io.Discard, c)
	if n >= size {
		t.Fatalf("the whole response (%d bytes) was delivered to a client that stalled for 5 times timeout_client", n)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("connection still open after %d bytes: %v", n, err)
	}
}

// shortClientTimeout starts a server answering with h and a daemon in front
// of it whose timeout_client is 400ms, and returns the daemon's address.
func shortClientTimeout(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := startHTTP(t, "s", h)
	yaml := strings.Replace(httpYAML("", serversYAML("app", "roundrobin", srv)), "timeout_client: 5s", "timeout_client: 400ms", 1)
	d, _ := start(t, yaml)
	return frontAddr(t, d, "web")
}
