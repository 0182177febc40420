package daemon

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/config"
)

func TestKilledServerLeavesAndReturns(t *testing.T) {
	a, b := startEcho(t, "a"), startEcho(t, "b")
	// fall × interval = 3 × 40ms; rise × interval = 2 × 40ms.
	d, logs := start(t, backendYAML("roundrobin", "    health: {type: tcp, timeout: 1s, interval: 40ms, rise: 2, fall: 3}\n",
		"{name: a, addr_port: "+a.addr()+"}", "{name: b, addr_port: "+b.addr()+"}"))
	addr := frontAddr(t, d, "front")
	srvB := d.Snapshot().Backends["pool"].Pool.Servers()[1]

	b.stop()
	start := time.Now()
	waitFor(t, "b marked down", func() bool { return !srvB.State.Up() })
	if took := time.Since(start); took < 80*time.Millisecond {
		t.Errorf("marked down after %v, sooner than fall × interval allows", took)
	}
	for range 6 {
		if got := who(t, addr); got != "a" {
			t.Fatalf("got %q while b is down", got)
		}
	}
	restartEcho(t, b)
	waitFor(t, "b back up", func() bool { return srvB.State.Up() })
	seen := map[string]int{}
	for range 6 {
		seen[who(t, addr)]++
	}
	if seen["a"] != 3 || seen["b"] != 3 {
		t.Errorf("after b returned: %v, want 3 each", seen)
	}
	out := logs.String()
	if n := strings.Count(out, "server=b addr="+b.addr()+" state=DOWN"); n != 1 {
		t.Errorf("%d DOWN lines for b, want exactly 1:\n%s", n, out)
	}
	if n := strings.Count(out, "state=UP"); n != 1 {
		t.Errorf("%d UP lines, want exactly 1:\n%s", n, out)
	}
}

func TestRetryOnRefusedConnect(t *testing.T) {
	good := startEcho(t, "good")
	d, logs := start(t, backendYAML("roundrobin", "    passive: {fall: 2}\n",
		"{name: dead, addr_port: "+closedPort(t)+"}", "{name: good, addr_port: "+good.addr()+"}"))
	addr := frontAddr(t, d, "front")
	for i := range 6 {
		if got := who(t, addr); got != "good" {
			t.Fatalf("connection %d got %q; a refused connect must be retried on another server", i, got)
		}
	}
	dead := d.Snapshot().Backends["pool"].Pool.Servers()[0]
	if dead.State.Up() {
		t.Error("dead server still up after 2 consecutive refused connects")
	}
	if !strings.Contains(logs.String(), "server=dead") || !strings.Contains(logs.String(), "check=passive") {
		t.Errorf("passive down not logged:\n%s", logs)
	}
}

func TestNoServerClosesAtOnce(t *testing.T) {
	d, logs := start(t, backendYAML("roundrobin", "    health: {type: tcp, timeout: 1s, interval: 20ms, rise: 1, fall: 1}\n",
		"{name: dead, addr_port: "+closedPort(t)+"}"))
	srv := d.Snapshot().Backends["pool"].Pool.Servers()[0]
	waitFor(t, "dead marked down", func() bool { return !srv.State.Up() })
	c, err := net.Dial("tcp", frontAddr(t, d, "front"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(time.Second))
	start := time.Now()
	n, err := c.Read(make([]byte, 1))
	if n != 0 || err == nil {
		t.Fatalf("read %d, %v; want the connection closed", n, err)
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("closed after %v; want at once", took)
	}
	fe := d.Snapshot().Frontend("front")
	waitFor(t, "NoServer counted", func() bool { return fe.Counters.NoServer.Load() == 1 })
	if !strings.Contains(logs.String(), `reason="no server available"`) {
		t.Errorf("not logged:\n%s", logs)
	}
}

func TestHalfClosePropagates(t *testing.T) {
	s := startEcho(t, "s")
	d, _ := start(t, backendYAML("roundrobin", "", "{name: s, addr_port: "+s.addr()+"}"))
	c, err := net.Dial("tcp", frontAddr(t, d, "front"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("hello"))
	// The echo server only closes after it sees our FIN through the proxy.
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	all, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading to EOF: %v (half-close not propagated?)", err)
	}
	if string(all) != "s\nhello" {
		t.Errorf("got %q, want %q", all, "s\nhello")
	}
}

func TestLargeTransferIntact(t *testing.T) {
	s := startQuietEcho(t)
	d, _ := start(t, backendYAML("roundrobin", "", "{name: s, addr_port: "+s.addr()+"}"))
	c, err := net.Dial("tcp", frontAddr(t, d, "front"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const size = 32 << 20
	data := make([]byte, size)
	rand.Read(data)
	go func() {
		c.Write(data)
		c.(*net.TCPConn).CloseWrite()
	}()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	h := sha256.New()
	n, err := io.Copy(h, c)
	if err != nil || n != size {
		t.Fatalf("echoed %d bytes, %v; want %d", n, err, size)
	}
	if want := sha256.Sum256(data); !bytes.Equal(h.Sum(nil), want[:]) {
		t.Error("echoed data differs")
	}
	fe := d.Snapshot().Frontend("front")
	waitFor(t, "byte counters", func() bool { return fe.Counters.BytesIn.Load() == size && fe.Counters.BytesOut.Load() == size })
}

func TestIdleTimeouts(t *testing.T) {
	s := startEcho(t, "s")
	for _, tc := range []struct{ name, timeouts string }{
		{"client", "  timeout_client: 400ms\n  timeout_server: 10s\n"},
		{"server", "  timeout_client: 10s\n  timeout_server: 400ms\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			yaml := strings.Replace(backendYAML("roundrobin", "", "{name: s, addr_port: "+s.addr()+"}"), "  retries: 1\n", "  retries: 1\n"+tc.timeouts, 1)
			d, _ := start(t, yaml)
			addr := frontAddr(t, d, "front")

			// An active connection outlives the timeout many times over.
			name, c := greeting(t, addr)
			if name != "s" {
				t.Fatalf("greeting %q", name)
			}
			r := bufio.NewReader(c)
			for i := range 6 {
				time.Sleep(100 * time.Millisecond)
				fmt.Fprintf(c, "ping %d\n", i)
				c.SetReadDeadline(time.Now().Add(2 * time.Second))
				if line, err := r.ReadString('\n'); err != nil || line != fmt.Sprintf("ping %d\n", i) {
					t.Fatalf("active connection: read %q, %v", line, err)
				}
			}
			// An idle one is closed after about the timeout.
			start := time.Now()
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err := r.ReadByte()
			took := time.Since(start)
			if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("idle connection: %v after %v; want it closed", err, took)
			}
			if took < 390*time.Millisecond || took > 3*time.Second {
				t.Errorf("idle connection closed after %v; timeout is 400ms", took)
			}
			c.Close()
		})
	}
}

func TestQueueAtServerMaxconn(t *testing.T) {
	s := startEcho(t, "s")
	yaml := backendYAML("roundrobin", "    timeout_queue: 3s\n", "{name: s, addr_port: "+s.addr()+", maxconn: 1}")
	d, _ := start(t, yaml)
	addr := frontAddr(t, d, "front")
	name, first := greeting(t, addr)
	if name != "s" {
		t.Fatal(name)
	}
	second, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	pool := d.Snapshot().Backends["pool"].Pool
	waitFor(t, "second client queued", func() bool { return pool.Queued() == 1 })
	if s.accepted.Load() != 1 {
		t.Fatalf("server accepted %d connections with maxconn 1", s.accepted.Load())
	}
	first.Close()
	second.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(second).ReadString('\n')
	if err != nil || line != "s\n" {
		t.Fatalf("queued client read %q, %v after the slot freed", line, err)
	}
}

func TestQueueTimeouts(t *testing.T) {
	s := startEcho(t, "s")
	tests := []struct {
		name    string
		mutate  func(*config.Config)
		counter func(d *Daemon) uint64
	}{
		{"server maxconn", func(c *config.Config) { c.Backends[0].Servers[0].MaxConn = 1 },
			func(d *Daemon) uint64 { return d.Snapshot().Frontend("front").Counters.QueueTimeout.Load() }},
		{"frontend maxconn", func(c *config.Config) { c.Frontends[0].MaxConn = 1 },
			func(d *Daemon) uint64 { return d.Snapshot().Frontend("front").Counters.LimitTimeout.Load() }},
		{"global maxconn", func(c *config.Config) { c.Global.MaxConn = 1 },
			func(d *Daemon) uint64 { return d.Snapshot().Frontend("front").Counters.LimitTimeout.Load() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse("t.yaml", []byte(backendYAML("roundrobin", "", "{name: s, addr_port: "+s.addr()+"}")))
			if err != nil {
				t.Fatal(err)
			}
			cfg.Frontends[0].TimeoutQueue = config.Duration(100 * time.Millisecond)
			tt.mutate(cfg)
			d, logs := startConfig(t, cfg, nil)
			addr := frontAddr(t, d, "front")
			_, held := greeting(t, addr)
			if held == nil {
				t.Fatal("first connection not served")
			}
			defer held.Close()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, err := c.Read(make([]byte, 8))
			if n != 0 || err == nil {
				t.Fatalf("queued client read %d, %v; want closed", n, err)
			}
			if took := time.Since(start); took < 90*time.Millisecond {
				t.Errorf("closed after %v, before timeout_queue 100ms", took)
			}
			waitFor(t, "timeout counted", func() bool { return tt.counter(d) == 1 })
			if !strings.Contains(logs.String(), "timed out waiting") {
				t.Errorf("not logged:\n%s", logs)
			}
		})
	}
}

// TestIdleConnectionsHoldNoPipes: an idle tcp-mode connection costs its two
// sockets, not the pipes splice(2) uses while bytes move.
func TestIdleConnectionsHoldNoPipes(t *testing.T) {
	s := startEcho(t, "s")
	d, _ := start(t, backendYAML("roundrobin", "", "{name: s, addr_port: "+s.addr()+"}"))
	addr := frontAddr(t, d, "front")
	fds := func() int {
		entries, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatalf("counting file descriptors: %v", err)
		}
		return len(entries)
	}
	before := fds()
	const n = 200
	var conns []net.Conn
	for range n {
		name, c := greeting(t, addr) // one exchange, then idle
		if name != "s" {
			t.Fatal(name)
		}
		conns = append(conns, c)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	// Per connection, in this one process: the client's socket, fulcrum's
	// two, the echo server's one: 4. Splice pipes held would add 4 more.
	// Pipes given back go to a sync.Pool, which drops them over two
	// collections, and their finalizers close them a moment later.
	var per float64
	for range 20 {
		time.Sleep(100 * time.Millisecond)
		goruntime.GC()
		if per = float64(fds()-before) / n; per <= 4.5 {
			return
		}
	}
	t.Errorf("%.1f file descriptors per idle connection, want 4 (sockets only)", per)
}
