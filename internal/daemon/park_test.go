package daemon

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/tlsconf/tlstest"
)

// idleClient is a client connection that sends raw requests and reads the
// responses.
type idleClient struct {
	c  net.Conn
	br *bufio.Reader
}

func dialIdle(t *testing.T, addr, preamble string) *idleClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if preamble != "" {
		io.WriteString(c, preamble)
	}
	return &idleClient{c: c, br: bufio.NewReader(c)}
}

// get sends GET path and returns the response's status, X-Forwarded-For
// as the server saw it (the echo servers below put it in the body) and body.
func (ic *idleClient) get(t *testing.T, path string) (int, string) {
	t.Helper()
	ic.c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(ic.c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(ic.br, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// waitGoroutines waits until the process runs at most n goroutines.
func waitGoroutines(t *testing.T, n int, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d goroutines, want at most %d", what, runtime.NumGoroutine(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// goroutineBase is the goroutine count to come back to, and how many
// connections srv had accepted then.
type goroutineBase struct {
	n     int
	conns int64
	srv   *httpServer
}

// baseline is taken once the warm-up connection is parked and the worker
// that served it waits for the next connection: a connection accepted
// while that worker is still busy gets a new worker, which then stays as
// an idle worker (up to maxIdleWorkers) and would be counted as held by
// the connection.
func baseline(t *testing.T, d *Daemon, srv *httpServer) goroutineBase {
	t.Helper()
	waitFor(t, "the warm-up connection parked and its worker idle", func() bool {
		return d.http.Parked() >= 1 && d.idleWorkers.Load() >= 1
	})
	return goroutineBase{runtime.NumGoroutine(), srv.conns.Load(), srv}
}

// wait waits until the process runs at most b's goroutines plus extra,
// plus one for each connection srv accepted since: a request that comes
// before fulcrum has put its server connection back in the pool gets a new
// one, served by a goroutine of the test server's.
func (b goroutineBase) wait(t *testing.T, extra int, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		want := b.n + extra + int(b.srv.conns.Load()-b.conns)
		got := runtime.NumGoroutine()
		if got <= want {
			return
		}
		if time.Now().After(deadline) {
			var stacks strings.Builder
			pprof.Lookup("goroutine").WriteTo(&stacks, 1)
			t.Fatalf("%s: %d goroutines, want at most %d\n%s", what, got, want, stacks.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHTTPIdleConnectionsHoldNoGoroutine: keep-alive client connections
// idle between requests are parked without a goroutine each, and each is
// served again when its next request comes.
func TestHTTPIdleConnectionsHoldNoGoroutine(t *testing.T) {
	srv := startHTTP(t, "s", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", r.URL.Path, r.Header.Get("X-Forwarded-For"))
	})
	d, _ := start(t, httpYAML("", serversYAML("app", "roundrobin", srv)))
	addr := frontAddr(t, d, "web")
	dialIdle(t, addr, "").get(t, "/warm-up") // the server connection and its goroutines
	base := baseline(t, d, srv)
	const n = 300
	clients := make([]*idleClient, n)
	for i := range clients {
		clients[i] = dialIdle(t, addr, "")
		if code, body := clients[i].get(t, fmt.Sprintf("/first/%d", i)); code != 200 || body != fmt.Sprintf("/first/%d 127.0.0.1", i) {
			t.Fatalf("first request %d: %d %q", i, code, body)
		}
	}
	// With a goroutine each, there would be n more.
	base.wait(t, n/10, "after one request per connection")
	for round := range 3 {
		for i, c := range clients {
			path := fmt.Sprintf("/again/%d/%d", round, i)
			if code, body := c.get(t, path); code != 200 || body != path+" 127.0.0.1" {
				t.Fatalf("request %s: %d %q", path, code, body)
			}
		}
		base.wait(t, n/10, fmt.Sprintf("after round %d", round))
	}
}

// TestHTTPParkedConnectionsEndedByClients: parked connections that their
// clients close (half with a FIN, half with a reset) are closed straight
// from their descriptors: none becomes a Go connection on the way, and
// none stays open.
func TestHTTPParkedConnectionsEndedByClients(t *testing.T) {
	srv := startHTTP(t, "s", nil)
	d, _ := start(t, httpYAML("", serversYAML("app", "roundrobin", srv)))
	addr := frontAddr(t, d, "web")
	const n = 100
	clients := make([]*idleClient, n)
	for i := range clients {
		clients[i] = dialIdle(t, addr, "")
		if code, _ := clients[i].get(t, "/"); code != 200 {
			t.Fatalf("request %d: %d", i, code)
		}
	}
	waitFor(t, "every connection parked", func() bool { return d.http.Parked() == n })
	before := d.http.Attached()
	for i, c := range clients {
		if i%2 == 0 {
			c.c.(*net.TCPConn).SetLinger(0) // a reset
		}
		c.c.Close()
	}
	waitFor(t, "every connection closed", func() bool {
		d.conns.mu.Lock()
		defer d.conns.mu.Unlock()
		return d.conns.n == 0
	})
	if got := d.http.Attached() - before; got != 0 {
		t.Errorf("%d connections became Go connections to be closed", got)
	}
}

// TestHTTPParkedConnectionTimesOut: a parked connection is closed once it
// was idle for timeout_client, not before.
func TestHTTPParkedConnectionTimesOut(t *testing.T) {
	srv := startHTTP(t, "s", nil)
	yaml := strings.Replace(httpYAML("", serversYAML("app", "roundrobin", srv)), "timeout_client: 5s", "timeout_client: 400ms", 1)
	d, _ := start(t, yaml)
	c := dialIdle(t, frontAddr(t, d, "web"), "")
	for range 2 {
		if code, _ := c.get(t, "/"); code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	idleSince := time.Now()
	c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, err := c.br.ReadByte(); err == nil {
		t.Fatalf("read %q from an idle connection", b)
	}
	if e := time.Since(idleSince); e < 350*time.Millisecond || e > 4*time.Second {
		t.Errorf("idle connection closed after %v, want about 400ms", e)
	}
}

// TestHTTPParkedBehindProxyProtocol: a connection that came with a PROXY
// protocol header keeps the client address it gave after being parked.
func TestHTTPParkedBehindProxyProtocol(t *testing.T) {
	srv := startHTTP(t, "s", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", r.URL.Path, r.Header.Get("X-Forwarded-For"))
	})
	yaml := strings.Replace(httpYAML("", serversYAML("app", "roundrobin", srv)),
		"    use_backend: app\n", "    use_backend: app\n    accept_proxy: [127.0.0.0/8]\n", 1)
	d, _ := start(t, yaml)
	addr := frontAddr(t, d, "web")
	dialIdle(t, addr, "PROXY TCP4 192.0.2.7 127.0.0.1 5555 80\r\n").get(t, "/warm-up")
	base := baseline(t, d, srv)
	c := dialIdle(t, addr, "PROXY TCP4 192.0.2.7 127.0.0.1 5555 80\r\n")
	for i := range 3 {
		if code, body := c.get(t, "/p"); code != 200 || body != "/p 192.0.2.7" {
			t.Fatalf("request %d: %d %q", i, code, body)
		}
		base.wait(t, 0, "idle behind PROXY protocol")
	}
}

// TestHTTPParkedPlainOnTLSFrontend: plain HTTP served on a TLS frontend
// (plain_http) is parked like any other; TLS connections keep working.
func TestHTTPParkedPlainOnTLSFrontend(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "park test CA")
	cert, key := ca.Issue(t, tlstest.Options{CN: "127.0.0.1", IPs: []net.IP{net.ParseIP("127.0.0.1")}}).Write(t, dir, "cert")
	srv := startHTTP(t, "s", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, r.URL.Path) })
	yaml := strings.Replace(httpYAML("", serversYAML("app", "roundrobin", srv)),
		"    use_backend: app\n", fmt.Sprintf("    use_backend: app\n    ssl: {cert: %s, key: %s}\n", cert, key), 1)
	d, _ := start(t, yaml)
	addr := frontAddr(t, d, "web")
	dialIdle(t, addr, "").get(t, "/warm-up")
	base := baseline(t, d, srv)
	c := dialIdle(t, addr, "")
	for i := range 3 {
		if code, body := c.get(t, "/plain"); code != 200 || body != "/plain" {
			t.Fatalf("plain request %d: %d %q", i, code, body)
		}
		base.wait(t, 0, "idle plain HTTP on a TLS frontend")
	}
	cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}, ForceAttemptHTTP2: false}}
	for range 3 {
		resp, err := cl.Get("https://" + addr + "/tls")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "/tls" {
			t.Fatalf("HTTPS: %q", body)
		}
	}
}

// TestHTTPRequestBeforeResponse: a client that sends its next request
// before it has the answer to the one before (pipelining) on a busy
// connection gets every answer, in order, and without a stall after the
// first time (a busy connection's wait for its next request normally
// begins with the response; such a client must not be waited for that way).
func TestHTTPRequestBeforeResponse(t *testing.T) {
	srv := startHTTP(t, "s", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(100 * time.Millisecond)
		}
		fmt.Fprint(w, r.URL.Path)
	})
	d, _ := start(t, httpYAML("", serversYAML("app", "roundrobin", srv)))
	c := dialIdle(t, frontAddr(t, d, "web"), "")
	// Quick requests make the connection busy.
	for i := range 5 {
		if code, body := c.get(t, "/quick"); code != 200 || body != "/quick" {
			t.Fatalf("request %d: %d %q", i, code, body)
		}
	}
	// The first time, the early request may wait for as long as a busy
	// connection waits for its next one (25 to 50 ms); after that it must
	// be read at once, and its answer follow the slow one's promptly. A
	// stall in every later round means the client was not recognised.
	stalls := 0
	const rounds = 5
	for round := range rounds {
		c.c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c.c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
		time.Sleep(30 * time.Millisecond) // the next request arrives while /slow is served
		io.WriteString(c.c, "GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
		var first time.Time
		for _, want := range []string{"/slow", "/next"} {
			resp, err := http.ReadResponse(c.br, nil)
			if err != nil {
				t.Fatalf("round %d, %s: %v", round, want, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != want {
				t.Fatalf("round %d: got %q, want %q", round, body, want)
			}
			if first.IsZero() {
				first = time.Now()
			}
		}
		gap := time.Since(first)
		t.Logf("round %d: the second answer %v after the first", round, gap)
		if round > 0 && gap >= 20*time.Millisecond {
			stalls++
		}
		for range 3 { // busy again
			c.get(t, "/quick")
		}
	}
	if stalls == rounds-1 {
		t.Errorf("the early request waited in every round after the first")
	}
}
