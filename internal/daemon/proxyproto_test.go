package daemon

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/proxyproto"
	"github.com/fulcrum-lb/fulcrum/internal/testnet"
	"github.com/fulcrum-lb/fulcrum/internal/tlsconf/tlstest"
)

// TestAcceptProxyHTTP: a trusted peer's PROXY header gives the client
// address that X-Forwarded-For, rules and logs see.
func TestAcceptProxyHTTP(t *testing.T) {
	echo := startHTTP(t, "echo", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.Header.Get("X-Forwarded-For"))
	})
	rules := `    accept_proxy: [127.0.0.0/8]
    http_condition:
      - when: "inCIDR(src, '203.0.113.0/24') && path == '/blocked'"
        deny: {status: 403}
`
	d, _ := start(t, httpYAML(rules, serversYAML("app", "roundrobin", echo)))
	addr := frontAddr(t, d, "web")
	send := func(version int, path string) string {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		src, dst := netip.MustParseAddrPort("203.0.113.9:51000"), netip.MustParseAddrPort("192.0.2.1:80")
		var hdr []byte
		if version == 1 {
			hdr = proxyproto.AppendV1(nil, src, dst)
		} else {
			hdr = proxyproto.AppendV2(nil, src, dst)
		}
		c.Write(append(hdr, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"...))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, body)
	}
	for _, v := range []int{1, 2} {
		if got := send(v, "/"); got != "200 203.0.113.9" {
			t.Errorf("v%d: %q, want the header's client in X-Forwarded-For", v, got)
		}
		if got := send(v, "/blocked"); !strings.HasPrefix(got, "403") {
			t.Errorf("v%d: rule on src: %q", v, got)
		}
	}
	// A malformed header from a trusted source closes the connection.
	if got := rawExchange(t, addr, "PROXY TCP4 nonsense\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"); got != "" {
		t.Errorf("bad header answered %q", got)
	}
}

// tlsEcho is a TLS server that greets with its name, then echoes.
func tlsEcho(t *testing.T, name string, cert tls.Certificate) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	testnet.ServeOn(t, ln, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "%s\n", name)
		io.Copy(c, c)
	})
	return ln.Addr().String()
}

// TestTLSPassthroughBySNI: a tcp frontend without ssl routes on the
// ClientHello's server name; each server completes the handshake itself.
func TestTLSPassthroughBySNI(t *testing.T) {
	ca := tlstest.NewCA(t, "passthrough CA")
	a := tlsEcho(t, "a", ca.Issue(t, tlstest.Options{CN: "a.test", DNS: []string{"a.test"}}).TLS(t))
	b := tlsEcho(t, "b", ca.Issue(t, tlstest.Options{CN: "b.test", DNS: []string{"*.b.test"}}).TLS(t))
	yaml := `
defaults: {mode: tcp, timeout_connect: 1s}
frontend:
  - name: front
    bind: [{addr_port: "127.0.0.1:0"}]
    sni_routes:
      - {sni: a.test, use_backend: a}
      - {sni: "*.b.test", use_backend: b}
backend:
  - name: a
    servers: [{addr_port: "` + a + `"}]
  - name: b
    servers: [{addr_port: "` + b + `"}]
`
	d, _ := start(t, yaml)
	addr := frontAddr(t, d, "front")
	for name, want := range map[string]string{"a.test": "a", "www.b.test": "b"} {
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.Pool(), ServerName: name})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		if strings.TrimSpace(line) != want {
			t.Errorf("%s went to %q, want %s", name, line, want)
		}
		c.Close()
	}
	// No route for this name and no use_backend: closed.
	if c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.Pool(), ServerName: "c.test"}); err == nil {
		c.Close()
		t.Error("a name without a route was served")
	}
}

// TestTLSToServers: a tcp frontend reaching a TLS server, verified against
// a CA file.
func TestTLSToServers(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "backend CA")
	srv := tlsEcho(t, "secure", ca.Issue(t, tlstest.Options{CN: "backend.test", DNS: []string{"backend.test"}}).TLS(t))
	caFile := ca.WriteCA(t, dir, "ca")
	yaml := `
defaults: {mode: tcp, timeout_connect: 1s}
frontend:
  - name: front
    bind: [{addr_port: "127.0.0.1:0"}]
    use_backend: secure
backend:
  - name: secure
    ssl: {verify: ` + caFile + `, sni: backend.test}
    servers: [{addr_port: "` + srv + `"}]
`
	d, _ := start(t, yaml)
	name, c := greeting(t, frontAddr(t, d, "front"))
	if name != "secure" {
		t.Fatalf("greeting %q", name)
	}
	defer c.Close()
	io.WriteString(c, "ping\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 5)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping\n" {
		t.Errorf("echo over TLS to the server: %q, %v", buf, err)
	}
	// A server whose certificate the CA did not sign is refused.
	other := tlstest.NewCA(t, "other")
	bad := tlsEcho(t, "impostor", other.Issue(t, tlstest.Options{CN: "backend.test", DNS: []string{"backend.test"}}).TLS(t))
	d2, logs := start(t, strings.Replace(yaml, srv, bad, 1))
	if got := who(t, frontAddr(t, d2, "front")); got != "" {
		t.Errorf("an unverified server was reached: %q", got)
	}
	if !strings.Contains(logs.String(), "TLS to server failed") {
		t.Errorf("not logged:\n%s", logs)
	}
}

// tlsHTTPServer is an HTTPS backend (HTTP/1.1 and HTTP/2 by ALPN) whose
// certificate a test CA signs.
func tlsHTTPServer(t *testing.T, ca *tlstest.CA, h http.HandlerFunc) *httpServer {
	t.Helper()
	s := &httpServer{name: "tls"}
	s.Server = httptest.NewUnstartedServer(h)
	s.Server.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, tlstest.Options{CN: "app.test", DNS: []string{"app.test"}}).TLS(t)}}
	s.Server.EnableHTTP2 = true
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func TestHTTPToTLSServers(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "backend CA")
	caFile := ca.WriteCA(t, dir, "ca")
	srv := tlsHTTPServer(t, ca, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "Grpc-Status")
		fmt.Fprintf(w, "%s tls=%v", r.Proto, r.TLS != nil)
		w.Header().Set("Grpc-Status", "0")
	})
	// HTTP/2 clients reach the server in the backend's proto; HTTP/1.1
	// clients over HTTP/1.1 (in TLS, since the backend has ssl).
	for _, tc := range []struct{ proto, want, want1 string }{
		{"h1", "HTTP/1.1 tls=true", "HTTP/1.1 tls=true"},
		{"h2", "HTTP/2.0 tls=true", "HTTP/1.1 tls=true"},
	} {
		t.Run(tc.proto, func(t *testing.T) {
			backends := "  - name: app\n    proto: " + tc.proto + "\n    ssl: {verify: " + caFile + ", sni: app.test}\n    servers:\n      - {name: s, addr_port: " + srv.addr() + "}\n"
			d, _ := start(t, h2cYAML("", backends))
			front := "http://" + frontAddr(t, d, "web") + "/"
			// An HTTP/1.1 client, and an HTTP/2 (h2c) one.
			if _, body := get(t, client(), front); body != tc.want1 {
				t.Errorf("HTTP/1.1 client: %q, want %q", body, tc.want1)
			}
			resp, err := h2cClient().Get(front)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != tc.want {
				t.Errorf("HTTP/2 client: %q, want %q", body, tc.want)
			}
			if tc.proto == "h2" && resp.Trailer.Get("Grpc-Status") != "0" {
				t.Errorf("trailers %v", resp.Trailer)
			}
		})
	}
}

// proxyEcho reads a PROXY header and answers every HTTP request with the
// client address the header gave.
func proxyEcho(t *testing.T) string {
	t.Helper()
	return testnet.Serve(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		h, err := proxyproto.Read(br)
		if err != nil {
			return
		}
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			body := h.Src.Addr().String()
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		}
	})
}

func TestHTTPSendProxy(t *testing.T) {
	srv := proxyEcho(t)
	backends := "  - name: app\n    send_proxy: v2\n    servers:\n      - {name: s, addr_port: " + srv + "}\n"
	yaml := strings.Replace(h2cYAML("", backends), "    use_backend: app\n", "    use_backend: app\n    accept_proxy: [127.0.0.0/8]\n", 1)
	d, _ := start(t, yaml)
	addr := frontAddr(t, d, "web")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	hdr := proxyproto.AppendV1(nil, netip.MustParseAddrPort("198.51.100.7:40000"), netip.MustParseAddrPort("192.0.2.1:80"))
	c.Write(append(hdr, "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"...))
	br := bufio.NewReader(c)
	for i := range 2 {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if string(body) != "198.51.100.7" {
			t.Errorf("request %d: the server saw %q, want the client from the PROXY chain", i, body)
		}
	}
}

// TestHealthChecksOverTLS: a backend with ssl is checked over TLS: a server
// whose certificate does not verify is marked down by the check itself.
func TestHealthChecksOverTLS(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "backend CA")
	caFile := ca.WriteCA(t, dir, "ca")
	good := tlsHTTPServer(t, ca, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	other := tlstest.NewCA(t, "other")
	bad := tlsHTTPServer(t, other, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })
	for _, typ := range []string{"tcp", "http"} {
		t.Run(typ, func(t *testing.T) {
			backends := "  - name: app\n    ssl: {verify: " + caFile + ", sni: app.test}\n    health: {type: " + typ + ", timeout: 1s, interval: 30ms, rise: 1, fall: 1}\n" +
				"    servers:\n      - {name: good, addr_port: " + good.addr() + "}\n      - {name: bad, addr_port: " + bad.addr() + "}\n"
			d, logs := start(t, httpYAML("", backends))
			srv := d.Snapshot().Backends["app"].Pool.Servers()
			waitFor(t, "bad marked down", func() bool { return !srv[1].State.Up() })
			if !srv[0].State.Up() {
				t.Error("the good server is down")
			}
			if !strings.Contains(logs.String(), `server=bad`) || !strings.Contains(logs.String(), "certificate") {
				t.Errorf("the TLS failure is not the logged reason:\n%s", logs)
			}
		})
	}
}
