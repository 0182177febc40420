package daemon

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/config"
	"github.com/fulcrum-lb/fulcrum/internal/runtime"
)

func TestGracefulShutdownLetsTransferFinish(t *testing.T) {
	s := startQuietEcho(t)
	cfg, err := config.Parse("t.yaml", []byte(backendYAML("roundrobin", "", "{name: s, addr_port: "+s.addr()+"}")))
	if err != nil {
		t.Fatal(err)
	}
	d, _ := startConfig(t, cfg, nil)
	addr := frontAddr(t, d, "front")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A transfer that takes ~400ms, with shutdown starting in the middle.
	var got []byte
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		got, _ = io.ReadAll(c)
	}()
	var want strings.Builder
	shut := make(chan int, 1)
	for i := range 20 {
		if i == 5 {
			go func() { shut <- d.Shutdown(5 * time.Second) }()
			waitFor(t, "listener closed", func() bool {
				c2, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
				if err == nil {
					c2.Close()
				}
				return err != nil
			})
		}
		line := fmt.Sprintf("chunk %02d\n", i)
		want.WriteString(line)
		if _, err := c.Write([]byte(line)); err != nil {
			t.Fatalf("write %d during shutdown: %v", i, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.(*net.TCPConn).CloseWrite()
	wg.Wait()
	if string(got) != want.String() {
		t.Errorf("transfer cut by shutdown: got %d bytes, want %d", len(got), want.Len())
	}
	if forced := <-shut; forced != 0 {
		t.Errorf("Shutdown closed %d connections; the transfer ended within the grace", forced)
	}
}

func TestShutdownClosesConnectionsAfterGrace(t *testing.T) {
	s := startEcho(t, "s")
	cfg, err := config.Parse("t.yaml", []byte(backendYAML("roundrobin", "", "{name: s, addr_port: "+s.addr()+"}")))
	if err != nil {
		t.Fatal(err)
	}
	d, _ := startConfig(t, cfg, nil)
	_, c := greeting(t, frontAddr(t, d, "front"))
	defer c.Close()
	start := time.Now()
	if forced := d.Shutdown(100 * time.Millisecond); forced != 1 {
		t.Errorf("Shutdown forced %d, want 1 idle connection closed", forced)
	}
	if took := time.Since(start); took < 100*time.Millisecond || took > 3*time.Second {
		t.Errorf("Shutdown took %v with a 100ms grace", took)
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("connection still open after shutdown")
	}
}

// TestNameReResolved serves a server given by name, then changes what the
// name resolves to: new connections follow without a restart.
func TestNameReResolved(t *testing.T) {
	// The two servers listen on the same port of two loopback addresses:
	// take a port free on 127.0.0.2 first, then the same on 127.0.0.1,
	// trying again until a port is free on both.
	var ln1, ln2 net.Listener
	for range 50 {
		a, err := net.Listen("tcp", "127.0.0.2:0")
		if err != nil {
			t.Fatal(err)
		}
		_, p, _ := net.SplitHostPort(a.Addr().String())
		if b, err := net.Listen("tcp", "127.0.0.1:"+p); err == nil {
			ln1, ln2 = b, a
			break
		}
		a.Close()
	}
	if ln1 == nil {
		t.Fatal("no port free on both 127.0.0.1 and 127.0.0.2 after 50 tries")
	}
	_, port, _ := net.SplitHostPort(ln1.Addr().String())
	first := &echoServer{name: "first", ln: ln1, conns: map[net.Conn]bool{}, greet: true}
	first.serve()
	t.Cleanup(first.stop)
	second := &echoServer{name: "second", ln: ln2, conns: map[net.Conn]bool{}, greet: true}
	second.serve()
	t.Cleanup(second.stop)

	var mu sync.Mutex
	ip := "127.0.0.1"
	lookup := func(_ context.Context, host string) ([]netip.Addr, error) {
		mu.Lock()
		defer mu.Unlock()
		if host != "web.test" {
			return nil, fmt.Errorf("no such host %s", host)
		}
		return []netip.Addr{netip.MustParseAddr(ip)}, nil
	}
	cfg, err := config.Parse("t.yaml", []byte("global: {resolve_interval: 30ms}\n"+backendYAML("roundrobin", "", "{name: web, addr_port: 'web.test:"+port+"'}")))
	if err != nil {
		t.Fatal(err)
	}
	d, logs := startConfig(t, cfg, func(sh *runtime.Shared) { sh.Lookup = lookup })
	addr := frontAddr(t, d, "front")
	if got := who(t, addr); got != "first" {
		t.Fatalf("got %q, want first", got)
	}
	mu.Lock()
	ip = "127.0.0.2"
	mu.Unlock()
	waitFor(t, "address change", func() bool { return strings.Contains(logs.String(), "server address changed") })
	if got := who(t, addr); got != "second" {
		t.Errorf("after the name moved, got %q, want second", got)
	}
	want := "from=127.0.0.1:" + port + " to=127.0.0.2:" + port
	if !strings.Contains(logs.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, logs)
	}
}

// TestShutdownClosesIdleKeepAlive: an idle keep-alive client connection has
// nothing to finish: shutdown closes it at once instead of waiting for the
// grace period; a request in flight completes and says Connection: close.
func TestShutdownClosesIdleKeepAlive(t *testing.T) {
	release := make(chan struct{})
	srv := startHTTP(t, "s", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		fmt.Fprint(w, "ok")
	})
	d, _ := start(t, httpYAML("", serversYAML("app", "roundrobin", srv)))
	addr := frontAddr(t, d, "web")
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	io.WriteString(idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(idle)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("first request: %v %v", resp, err)
	}
	io.ReadAll(resp.Body)
	busy, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	io.WriteString(busy, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	waitFor(t, "slow request at the server", func() bool { return srv.requests.Load() == 2 })

	done := make(chan int)
	start := time.Now()
	go func() { done <- d.Shutdown(10 * time.Second) }()
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadByte(); err == nil {
		t.Error("the idle connection got data instead of being closed")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("idle connection closed after %v; want at once", took)
	}
	close(release)
	busy.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err = http.ReadResponse(bufio.NewReader(busy), nil)
	if err != nil || resp.StatusCode != 200 || !resp.Close {
		t.Errorf("request in flight: %v, %v (want 200 with Connection: close)", resp, err)
	}
	if forced := <-done; forced != 0 {
		t.Errorf("Shutdown forced %d connections closed", forced)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Shutdown took %v", took)
	}
}
