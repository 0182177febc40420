package daemon

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// httpServer is a real net/http backend that answers with its name and
// counts the connections it accepted and the requests it served.
type httpServer struct {
	*httptest.Server
	name     string
	conns    atomic.Int64
	requests atomic.Int64
}

func startHTTP(t *testing.T, name string, h http.HandlerFunc) *httpServer {
	t.Helper()
	s := &httpServer{name: name}
	if h == nil {
		h = func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Server", name)
			fmt.Fprintf(w, "%s\n", name)
		}
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		h(w, r)
	}))
	s.Server.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *httpServer) addr() string { return s.Listener.Addr().String() }

// httpYAML is a one-frontend http configuration.
func httpYAML(rules string, backends string) string {
	return `
global:
  access_log: off
defaults:
  mode: http
  timeout_connect: 1s
  timeout_client: 5s
  timeout_server: 5s
  retries: 2
frontend:
  - name: web
    bind:
      - addr_port: 127.0.0.1:0
    use_backend: app
` + rules + `
backend:
` + backends
}

func serversYAML(name, balance string, servers ...*httpServer) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  - name: %s\n    balance: %s\n    servers:\n", name, balance)
	for _, s := range servers {
		fmt.Fprintf(&b, "      - {name: %s, addr_port: %s}\n", s.name, s.addr())
	}
	return b.String()
}

func client() *http.Client {
	return &http.Client{
		Timeout:       10 * time.Second,
		Transport:     &http.Transport{MaxIdleConnsPerHost: 4},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func get(t *testing.T, c *http.Client, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

func TestHTTPRoundRobinKeepAlive(t *testing.T) {
	a, b, c := startHTTP(t, "a", nil), startHTTP(t, "b", nil), startHTTP(t, "c", nil)
	d, _ := start(t, httpYAML("", serversYAML("app", "roundrobin", a, b, c)))
	url := "http://" + frontAddr(t, d, "web") + "/"
	cl := client()
	var got []string
	for range 9 {
		resp, body := get(t, cl, url)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		got = append(got, strings.TrimSpace(body))
	}
	// Balanced per request, even on one client connection.
	if s := strings.Join(got, ""); s != "abcabcabc" {
		t.Errorf("order = %s, want abcabcabc", s)
	}
	// Server connections are kept alive and reused.
	for range 30 {
		get(t, cl, url)
	}
	for _, s := range []*httpServer{a, b, c} {
		if n := s.conns.Load(); n > 2 {
			t.Errorf("%s accepted %d connections for 13 requests; want them reused", s.name, n)
		}
	}
}

func TestHTTPNoxyRules(t *testing.T) {
	web, api := startHTTP(t, "web1", nil), startHTTP(t, "api1", nil)
	rules := `    http_condition:
      - when: "scheme == 'http' && path == '/secure'"
        redirect: "sprintf('https://%s%s', host, uri)"
      - when: "host == 'api.noxy.rev'"
        use_backend: api
`
	d, _ := start(t, httpYAML(rules, serversYAML("app", "roundrobin", web)+serversYAML("api", "roundrobin", api)))
	front := "http://" + frontAddr(t, d, "web")
	cl := client()
	resp, _ := get(t, cl, front+"/secure?x=1", "Host", "api.noxy.rev")
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "https://api.noxy.rev/secure?x=1" {
		t.Errorf("redirect: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, body := get(t, cl, front+"/", "Host", "api.noxy.rev"); body != "api1\n" {
		t.Errorf("api host went to %q", body)
	}
	if _, body := get(t, cl, front+"/", "Host", "www.noxy.rev"); body != "web1\n" {
		t.Errorf("other host went to %q", body)
	}
}

func TestHTTPForwardingHeaders(t *testing.T) {
	echo := startHTTP(t, "echo", func(w http.ResponseWriter, r *http.Request) {
		for _, k := range []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Request-Id", "Foo", "Keep-Alive", "X-Keep"} {
			fmt.Fprintf(w, "%s=%s\n", k, r.Header.Get(k))
		}
		w.Header().Set("Keep-Alive", "timeout=5")
	})
	d, _ := start(t, httpYAML("", serversYAML("app", "roundrobin", echo)))
	addr := frontAddr(t, d, "web")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /h HTTP/1.1\r\nHost: shop.example\r\nX-Forwarded-For: 10.1.1.1\r\nConnection: Foo\r\nFoo: bar\r\nKeep-Alive: timeout=1\r\nX-Keep: yes\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	got := string(body)
	for _, want := range []string{
		"X-Forwarded-For=10.1.1.1, 127.0.0.1\n",
		"X-Forwarded-Proto=http\n",
		"X-Forwarded-Host=shop.example\n",
		"Foo=\n", "Keep-Alive=\n", "X-Keep=yes\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("backend saw no %q:\n%s", want, got)
		}
	}
	if !strings.Contains(got, "X-Request-Id=") || strings.Contains(got, "X-Request-Id=\n") {
		t.Errorf("no request ID generated:\n%s", got)
	}
	if resp.Header.Get("Keep-Alive") != "" {
		t.Error("hop-by-hop Keep-Alive passed back to the client")
	}
}

func TestHTTPErrors(t *testing.T) {
	closer := startHTTP(t, "closer", func(w http.ResponseWriter, r *http.Request) {
		c, _, _ := w.(http.Hijacker).Hijack()
		c.Close()
	})
	slow := startHTTP(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
	})
	t.Run("503 no server", func(t *testing.T) {
		yaml := httpYAML("", "  - name: app\n    health: {type: tcp, timeout: 1s, interval: 20ms, rise: 1, fall: 1}\n    servers:\n      - {name: dead, addr_port: "+closedPort(t)+"}\n")
		d, _ := start(t, yaml)
		srv := d.Snapshot().Backends["app"].Pool.Servers()[0]
		waitFor(t, "server down", func() bool { return !srv.State.Up() })
		resp, body := get(t, client(), "http://"+frontAddr(t, d, "web")+"/", "Accept", "application/json")
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.HasPrefix(body, `{"status":503`) {
			t.Errorf("got %d Retry-After %q body %q", resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
		resp, body = get(t, client(), "http://"+frontAddr(t, d, "web")+"/")
		if !strings.Contains(body, "<h1>503 Service Unavailable</h1>") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("HTML error page: %q", body)
		}
	})
	t.Run("502 closed", func(t *testing.T) {
		d, _ := start(t, httpYAML("", serversYAML("app", "roundrobin", closer)))
		req, _ := http.NewRequest("POST", "http://"+frontAddr(t, d, "web")+"/", strings.NewReader("payload"))
		resp, err := client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 502 {
			t.Errorf("status %d, want 502", resp.StatusCode)
		}
	})
	t.Run("502 refused", func(t *testing.T) {
		yaml := httpYAML("", "  - name: app\n    passive: {fall: 0}\n    servers:\n      - {name: dead, addr_port: "+closedPort(t)+"}\n")
		d, _ := start(t, yaml)
		if resp, _ := get(t, client(), "http://"+frontAddr(t, d, "web")+"/"); resp.StatusCode != 502 {
			t.Errorf("status %d, want 502", resp.StatusCode)
		}
	})
	t.Run("504 timeout", func(t *testing.T) {
		yaml := strings.Replace(httpYAML("", serversYAML("app", "roundrobin", slow)), "timeout_server: 5s", "timeout_server: 200ms", 1)
		d, _ := start(t, yaml)
		start := time.Now()
		resp, _ := get(t, client(), "http://"+frontAddr(t, d, "web")+"/")
		if resp.StatusCode != 504 {
			t.Errorf("status %d, want 504", resp.StatusCode)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("504 after %v; timeout_server is 200ms", took)
		}
	})
}

func TestHTTPRetryGETOnClosedConnection(t *testing.T) {
	closer := startHTTP(t, "closer", func(w http.ResponseWriter, r *http.Request) {
		c, _, _ := w.(http.Hijacker).Hijack()
		c.Close()
	})
	good := startHTTP(t, "good", nil)
	d, _ := start(t, httpYAML("", serversYAML("app", "roundrobin", closer, good)))
	cl := client()
	for i := range 6 {
		resp, body := get(t, cl, "http://"+frontAddr(t, d, "web")+"/")
		if resp.StatusCode != 200 || body != "good\n" {
			t.Fatalf("request %d: %d %q; a GET must be retried on another server", i, resp.StatusCode, body)
		}
	}
	if closer.requests.Load() == 0 {
		t.Error("the closing server was never tried")
	}
}

// rawExchange sends raw bytes and returns the first response's status line.
func rawExchange(t *testing.T, addr, raw string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, raw)
	line, _ := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line)
}

func TestHTTPSmugglingRefused(t *testing.T) {
	srv := startHTTP(t, "s", nil)
	d, _ := start(t, httpYAML("", serversYAML("app", "roundrobin", srv)))
	addr := frontAddr(t, d, "web")
	tests := []struct{ name, raw, want string }{
		{"CL and TE", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "HTTP/1.1 400"},
		{"TE and CL", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n", "HTTP/1.1 400"},
		{"differing CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", "HTTP/1.1 400"},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", "HTTP/1.1 400"},
		{"bare LF", "GET / HTTP/1.1\nHost: x\n\n", "HTTP/1.1 400"},
		{"unknown TE", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", "HTTP/1.1 501"},
		{"bad header name", "GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n", "HTTP/1.1 400"},
		// Last: its head reaches the server before the body is found bad,
		// and the server may count it a moment later.
		{"bad chunk size", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", "HTTP/1.1 400"},
	}
	for _, tt := range tests {
		before := srv.requests.Load()
		if got := rawExchange(t, addr, tt.raw); !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s: got %q, want %s", tt.name, got, tt.want)
		}
		// A bad chunk is found while the body streams, after the head went
		// out; every other case must never reach the server.
		if tt.name != "bad chunk size" && srv.requests.Load() != before {
			t.Errorf("%s: forwarded to the server", tt.name)
		}
	}
}

func TestHTTPStreamingAndUpload(t *testing.T) {
	var received atomic.Int64
	release := make(chan struct{})
	srv := startHTTP(t, "s", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/upload":
			n, _ := io.Copy(io.Discard, r.Body)
			received.Store(n)
			fmt.Fprintf(w, "%d", n)
		case "/events":
			// Event 0, then nothing more until the client has it: a proxy
			// that buffered the stream would never deliver it.
			f := w.(http.Flusher)
			fmt.Fprint(w, "data: 0\n\n")
			f.Flush()
			select {
			case <-release:
			case <-time.After(10 * time.Second):
			}
			fmt.Fprint(w, "data: 1\n\n")
		}
	})
	d, _ := start(t, httpYAML("", serversYAML("app", "roundrobin", srv)))
	front := "http://" + frontAddr(t, d, "web")
	t.Run("events flow as sent", func(t *testing.T) {
		c, err := net.Dial("tcp", frontAddr(t, d, "web"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		close(release)
		if line != "data: 0\n" {
			t.Fatalf("first event %q, %v: held back by the proxy?", line, err)
		}
	})
	t.Run("chunked upload", func(t *testing.T) {
		const size = 64 << 20
		pr, pw := io.Pipe()
		go func() {
			buf := make([]byte, 1<<20)
			for range size / len(buf) {
				pw.Write(buf)
			}
			pw.Close()
		}()
		req, _ := http.NewRequest("POST", front+"/upload", pr) // unknown length: chunked
		resp, err := client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != fmt.Sprint(size) || received.Load() != size {
			t.Errorf("server received %s (%d), want %d", body, received.Load(), size)
		}
	})
}

func TestHTTPWebSocketTunnel(t *testing.T) {
	srv := startHTTP(t, "ws", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "upgrade required", http.StatusUpgradeRequired)
			return
		}
		c, brw, _ := w.(http.Hijacker).Hijack()
		defer c.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		io.Copy(c, brw) // echo
	})
	d, _ := start(t, httpYAML("", serversYAML("app", "roundrobin", srv)))
	c, err := net.Dial("tcp", frontAddr(t, d, "web"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	for _, msg := range []string{"hello", "through the tunnel"} {
		io.WriteString(c, msg)
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(br, got); err != nil || string(got) != msg {
			t.Fatalf("echo %q: got %q, %v", msg, got, err)
		}
	}
}

func TestHTTPAccessLog(t *testing.T) {
	srv := startHTTP(t, "s1", nil)
	logFile := t.TempDir() + "/access.log"
	yaml := strings.Replace(httpYAML("", serversYAML("app", "roundrobin", srv)), "access_log: off", "access_log: {target: "+logFile+", format: json}", 1)
	d, _ := start(t, yaml)
	resp, _ := get(t, client(), "http://"+frontAddr(t, d, "web")+"/logged?q=1", "X-Request-ID", "abc-123")
	if resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	d.Shutdown(time.Second) // flushes the log
	data, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	if err := json.Unmarshal(data, &line); err != nil {
		t.Fatalf("not one JSON line: %v\n%s", err, data)
	}
	for k, want := range map[string]any{"frontend": "web", "backend": "app", "server": "s1", "method": "GET",
		"path": "/logged", "status": 200.0, "request_id": "abc-123", "retries": 0.0, "client": "127.0.0.1"} {
		if line[k] != want {
			t.Errorf("%s = %v, want %v", k, line[k], want)
		}
	}
	for _, k := range []string{"time", "bytes_in", "bytes_out", "queue_ms", "connect_ms", "response_ms", "total_ms", "host"} {
		if _, ok := line[k]; !ok {
			t.Errorf("no %s in %s", k, data)
		}
	}
}

// TestHTTPOutlierEjection: consecutive 5xx answers take a server out of
// rotation at once; without an active check it returns after the hold.
func TestHTTPOutlierEjection(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	bad := startHTTP(t, "bad", func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "broken", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "bad")
	})
	good := startHTTP(t, "good", nil)
	yaml := httpYAML("", "  - name: app\n    passive: {fall: 3, hold: 300ms}\n    servers:\n      - {name: bad, addr_port: "+bad.addr()+"}\n      - {name: good, addr_port: "+good.addr()+"}\n")
	d, logs := start(t, yaml)
	url := "http://" + frontAddr(t, d, "web") + "/"
	cl := client()
	statuses := map[int]int{}
	for range 6 {
		resp, _ := get(t, cl, url)
		statuses[resp.StatusCode]++
	}
	// Round robin sends 3 of the first 6 to bad: 3 × 500, then it is out.
	if statuses[500] != 3 {
		t.Errorf("statuses %v, want exactly 3 × 500 before ejection", statuses)
	}
	for range 6 {
		if resp, body := get(t, cl, url); resp.StatusCode != 200 || body != "good\n" {
			t.Fatalf("after ejection got %d %q", resp.StatusCode, body)
		}
	}
	if !strings.Contains(logs.String(), `reason="3 consecutive failed responses, last: status 500"`) {
		t.Errorf("ejection not logged:\n%s", logs)
	}
	failing.Store(false)
	srv := d.Snapshot().Backends["app"].Pool.Servers()[0]
	waitFor(t, "bad back after the hold", func() bool { return srv.State.Up() })
	seen := map[string]int{}
	for range 4 {
		_, body := get(t, cl, url)
		seen[body]++
	}
	if seen["bad\n"] != 2 {
		t.Errorf("after the hold: %v, want bad back in rotation", seen)
	}
}

// TestHTTPCanarySplit sends 10,000 requests through a 95/5 weighted
// use_backend: the split is within ±2 percentage points.
func TestHTTPCanarySplit(t *testing.T) {
	v1, v2 := startHTTP(t, "v1", nil), startHTTP(t, "v2", nil)
	rules := `    http_condition:
      - when: "path startsWith '/'"
        use_backend: [{name: app, weight: 95}, {name: canary, weight: 5}]
`
	d, _ := start(t, httpYAML(rules, serversYAML("app", "roundrobin", v1)+serversYAML("canary", "roundrobin", v2)))
	addr := frontAddr(t, d, "web")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Pipelined raw requests on one connection, to keep 10,000 quick.
	br := bufio.NewReader(c)
	const n = 10000
	go func() {
		bw := bufio.NewWriter(c)
		for range n {
			bw.WriteString("GET /x HTTP/1.1\r\nHost: shop\r\n\r\n")
		}
		bw.Flush()
	}()
	got := map[string]int{}
	for range n {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got[strings.TrimSpace(string(body))]++
	}
	share := float64(got["v2"]) / n * 100
	if share < 3 || share > 7 {
		t.Errorf("canary got %.2f%% (%v), want 5%% ± 2", share, got)
	}
}

// TestHTTPHashKeys: hash and consistent balancing on URI, header and cookie
// keep equal keys on one server and spread different ones.
func TestHTTPHashKeys(t *testing.T) {
	a, b, c := startHTTP(t, "a", nil), startHTTP(t, "b", nil), startHTTP(t, "c", nil)
	for _, tc := range []struct {
		balance string
		req     func(i int) []string // path and headers of request i
	}{
		{"{algorithm: hash, key: uri}", func(i int) []string { return []string{fmt.Sprintf("/item/%d", i)} }},
		{"{algorithm: consistent, key: 'header:X-User'}", func(i int) []string { return []string{"/", "X-User", fmt.Sprintf("user-%d", i)} }},
		{"{algorithm: consistent, key: 'cookie:session'}", func(i int) []string { return []string{"/", "Cookie", fmt.Sprintf("theme=dark; session=s%d", i)} }},
	} {
		t.Run(tc.balance, func(t *testing.T) {
			d, _ := start(t, httpYAML("", serversYAML("app", tc.balance, a, b, c)))
			front := "http://" + frontAddr(t, d, "web")
			cl := client()
			spread := map[string]bool{}
			for i := range 30 {
				r := tc.req(i)
				_, first := get(t, cl, front+r[0], r[1:]...)
				spread[first] = true
				for range 2 {
					if _, again := get(t, cl, front+r[0], r[1:]...); again != first {
						t.Fatalf("key %d went to %q then %q", i, first, again)
					}
				}
			}
			if len(spread) < 2 {
				t.Errorf("30 keys all went to %v", spread)
			}
		})
	}
}

// TestHTTPLargeUploadBoundedMemory streams 1 GiB through the proxy and
// checks the process's heap stays small: bodies are streamed, never
// buffered.
func TestHTTPLargeUploadBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("1 GiB transfer")
	}
	var received atomic.Int64
	srv := startHTTP(t, "sink", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		received.Store(n)
		fmt.Fprint(w, n)
	})
	d, _ := start(t, httpYAML("", serversYAML("app", "roundrobin", srv)))
	const size = 1 << 30
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()
	body := io.LimitReader(zeros{}, size)
	req, _ := http.NewRequest("POST", "http://"+frontAddr(t, d, "web")+"/upload", body)
	req.ContentLength = size
	resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
	close(stop)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(out) != fmt.Sprint(size) || received.Load() != size {
		t.Fatalf("server got %s bytes, want %d", out, size)
	}
	// Client, proxy and server all run in this process; 64 MiB is far
	// below the 1 GiB that buffering would take.
	if p := peak.Load(); p > 64<<20 {
		t.Errorf("heap in use peaked at %d MiB while streaming 1 GiB", p>>20)
	}
	t.Logf("heap peak %d MiB", peak.Load()>>20)
}

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestHTTPRetryOn(t *testing.T) {
	unavailable := startHTTP(t, "busy", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "busy", http.StatusServiceUnavailable)
	})
	slow := startHTTP(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	})
	closer := startHTTP(t, "closer", func(w http.ResponseWriter, r *http.Request) {
		c, _, _ := w.(http.Hijacker).Hijack()
		c.Close()
	})
	good := startHTTP(t, "good", nil)
	backend := func(retryOn string, first *httpServer) string {
		return "  - name: app\n    retry_on: " + retryOn + "\n    passive: {fall: 0}\n    servers:\n      - {name: first, addr_port: " + first.addr() + "}\n      - {name: good, addr_port: " + good.addr() + "}\n"
	}
	tests := []struct {
		name    string
		retryOn string
		first   *httpServer
		method  string
		want    int
	}{
		{"503 retried", "[503]", unavailable, "GET", 200},
		{"503 not retried without retry_on", "[]", unavailable, "GET", 503},
		{"503 POST not retried", "[503]", unavailable, "POST", 503},
		{"timeout retried", "[response-timeout]", slow, "GET", 200},
		{"timeout not retried", "[]", slow, "GET", 504},
		{"empty response retried", "[empty-response]", closer, "GET", 200},
		{"empty response not retried", "[]", closer, "GET", 502},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml := strings.Replace(httpYAML("", backend(tt.retryOn, tt.first)), "timeout_server: 5s", "timeout_server: 300ms", 1)
			d, _ := start(t, yaml)
			// Round robin starts with the first server.
			var body io.Reader
			if tt.method == "POST" {
				body = strings.NewReader("data")
			}
			req, _ := http.NewRequest(tt.method, "http://"+frontAddr(t, d, "web")+"/", body)
			resp, err := client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("%s: status %d, want %d", tt.name, resp.StatusCode, tt.want)
			}
		})
	}
}

func TestHTTPCustomErrorPage(t *testing.T) {
	page := t.TempDir() + "/503.html"
	os.WriteFile(page, []byte("<p>We'll be right back.</p>\n"), 0o644)
	yaml := httpYAML("", "  - name: app\n    health: {type: tcp, timeout: 1s, interval: 20ms, rise: 1, fall: 1}\n    servers:\n      - {name: dead, addr_port: "+closedPort(t)+"}\n")
	yaml = strings.Replace(yaml, "    use_backend: app\n", "    use_backend: app\n    error_pages: {503: "+page+"}\n", 1)
	d, _ := start(t, yaml)
	srv := d.Snapshot().Backends["app"].Pool.Servers()[0]
	waitFor(t, "server down", func() bool { return !srv.State.Up() })
	resp, body := get(t, client(), "http://"+frontAddr(t, d, "web")+"/")
	if resp.StatusCode != 503 || body != "<p>We'll be right back.</p>\n" || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("got %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

func TestHTTPRuleActionsAndHeaders(t *testing.T) {
	echo := startHTTP(t, "echo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "backend/1.0")
		w.Header().Set("X-Internal", "secret")
		fmt.Fprintf(w, "path=%s tenant=%s cookie=%s fwd=%s\n", r.URL.Path, r.Header.Get("X-Tenant"), r.Header.Get("Cookie"), r.Header.Get("Forwarded"))
	})
	rules := `    forwarded: true
    server_header: fulcrum
    http_condition:
      - when: "path startsWith '/private'"
        deny: {status: 403, body: "private\n"}
      - when: "path startsWith '/api'"
        set_header: {X-Tenant: acme}
        del_header: [Cookie]
        set_response_header: {X-Served-By: fulcrum}
        del_response_header: [X-Internal]
        path_prefix: /v2
`
	d, _ := start(t, httpYAML(rules, serversYAML("app", "roundrobin", echo)))
	front := "http://" + frontAddr(t, d, "web")
	cl := client()
	resp, body := get(t, cl, front+"/private/x")
	if resp.StatusCode != 403 || body != "private\n" {
		t.Errorf("deny: %d %q", resp.StatusCode, body)
	}
	resp, body = get(t, cl, front+"/api/users", "Cookie", "session=1", "X-Tenant", "spoofed", "Host", "shop.example")
	want := `path=/v2/api/users tenant=acme cookie= fwd=for=127.0.0.1;proto=http;host="shop.example"` + "\n"
	if body != want {
		t.Errorf("server saw %q, want %q", body, want)
	}
	if resp.Header.Get("X-Served-By") != "fulcrum" || resp.Header.Get("X-Internal") != "" || resp.Header.Get("Server") != "fulcrum" {
		t.Errorf("response headers %v", resp.Header)
	}
}

func TestHTTPExpectContinue(t *testing.T) {
	srv := startHTTP(t, "s", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Reject") != "" {
			http.Error(w, "too big", http.StatusRequestEntityTooLarge)
			return
		}
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprint(w, n)
	})
	d, _ := start(t, httpYAML("", serversYAML("app", "roundrobin", srv)))
	addr := frontAddr(t, d, "web")
	exchange := func(reject bool) (interim, final string) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		hdr := ""
		if reject {
			hdr = "X-Reject: 1\r\n"
		}
		fmt.Fprintf(c, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n%s\r\n", hdr)
		br := bufio.NewReader(c)
		line, _ := br.ReadString('\n')
		if strings.HasPrefix(line, "HTTP/1.1 100") {
			br.ReadString('\n') // blank line
			io.WriteString(c, "hello")
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			return strings.TrimSpace(line), fmt.Sprintf("%d %s", resp.StatusCode, b)
		}
		return "", strings.TrimSpace(line)
	}
	if interim, final := exchange(false); interim != "HTTP/1.1 100 Continue" || final != "200 5" {
		t.Errorf("accepted: %q then %q", interim, final)
	}
	if interim, final := exchange(true); interim != "" || !strings.HasPrefix(final, "HTTP/1.1 413") {
		t.Errorf("rejected before the body: %q then %q", interim, final)
	}
}
