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

// TestHTTPWebSocketOneWay: a tunnel whose client only receives stays open
// while the server sends, past both timeouts (HAProxy's timeout client and
// timeout server count writes to a side as activity too); once nothing
// moves either way, the timeouts close it.
func TestHTTPWebSocketOneWay(t *testing.T) {
	const n = 12
	srv := startHTTP(t, "ws", func(w http.ResponseWriter, r *http.Request) {
		c, brw, _ := w.(http.Hijacker).Hijack()
		defer c.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		for range n {
			if _, err := c.Write([]byte("x")); err != nil {
				return
			}
			time.Sleep(60 * time.Millisecond)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.Copy(io.Discard, c) // until fulcrum closes the tunnel
	})
	yaml := strings.NewReplacer("timeout_client: 5s", "timeout_client: 300ms", "timeout_server: 5s", "timeout_server: 300ms").
		Replace(httpYAML("", serversYAML("app", "roundrobin", srv)))
	d, _ := start(t, yaml)
	c, err := net.Dial("tcp", frontAddr(t, d, "web"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	got := make([]byte, n)
	if k, err := io.ReadFull(br, got); err != nil {
		t.Fatalf("after %d of %d bytes: %v", k, n, err)
	}
	start := time.Now()
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("a byte more than the server sent")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("idle tunnel closed after %v, timeouts 300 ms", took)
	}
}
