package daemon

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/tlsconf/tlstest"
)

// TestHTTPWebSocketOneWay: a tunnel whose client only receives stays open
// while the server sends, past both timeouts (HAProxy's timeout client and
// timeout server count writes to a side as activity too); once nothing
// moves either way, the timeouts close it. Over plain TCP and over TLS,
// whose reads go on after a timeout.
func TestHTTPWebSocketOneWay(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "tls"}[useTLS], func(t *testing.T) {
			testWebSocketOneWay(t, useTLS)
		})
	}
}

func testWebSocketOneWay(t *testing.T, useTLS bool) {
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
	var ca *tlstest.CA
	if useTLS {
		ca = tlstest.NewCA(t, "websocket test CA")
		cert, key := ca.Issue(t, tlstest.Options{CN: "127.0.0.1", IPs: []net.IP{net.ParseIP("127.0.0.1")}}).Write(t, t.TempDir(), "cert")
		yaml = strings.Replace(yaml, "    use_backend: app\n", fmt.Sprintf("    use_backend: app\n    ssl: {cert: %s, key: %s}\n", cert, key), 1)
	}
	d, _ := start(t, yaml)
	c, err := net.Dial("tcp", frontAddr(t, d, "web"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if useTLS {
		c = tls.Client(c, &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1", NextProtos: []string{"http/1.1"}})
	}
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
