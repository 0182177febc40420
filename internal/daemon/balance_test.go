package daemon

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// backendYAML is a one-frontend configuration over servers with balance.
func backendYAML(balance string, extra string, servers ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `
defaults:
  mode: tcp
  timeout_connect: 1s
  retries: 1
frontend:
  - name: front
    bind:
      - addr_port: 127.0.0.1:0
    use_backend: pool
backend:
  - name: pool
    balance: %s
%s    servers:
`, balance, extra)
	for _, s := range servers {
		fmt.Fprintf(&b, "      - %s\n", s)
	}
	return b.String()
}

func TestRoundRobinOrder(t *testing.T) {
	a, b, c := startEcho(t, "a"), startEcho(t, "b"), startEcho(t, "c")
	d, _ := start(t, backendYAML("roundrobin", "",
		"{name: a, addr_port: "+a.addr()+"}", "{name: b, addr_port: "+b.addr()+"}", "{name: c, addr_port: "+c.addr()+"}"))
	addr := frontAddr(t, d, "front")
	var got []string
	for range 9 {
		got = append(got, who(t, addr))
	}
	if s := strings.Join(got, ""); s != "abcabcabc" {
		t.Errorf("order = %s, want abcabcabc", s)
	}
}

func TestWeightedRoundRobin(t *testing.T) {
	a, b := startEcho(t, "a"), startEcho(t, "b")
	d, _ := start(t, backendYAML("roundrobin", "",
		"{name: a, addr_port: "+a.addr()+", weight: 3}", "{name: b, addr_port: "+b.addr()+", weight: 1}"))
	addr := frontAddr(t, d, "front")
	var got []string
	for range 8 {
		got = append(got, who(t, addr))
	}
	// Smooth weighted round robin spreads b out: a a b a, twice.
	if s := strings.Join(got, ""); s != "aabaaaba" {
		t.Errorf("order = %s, want aabaaaba", s)
	}
}

func TestLeastConn(t *testing.T) {
	a, b := startEcho(t, "a"), startEcho(t, "b")
	d, _ := start(t, backendYAML("leastconn", "",
		"{name: a, addr_port: "+a.addr()+"}", "{name: b, addr_port: "+b.addr()+"}"))
	addr := frontAddr(t, d, "front")
	held := map[string][]net.Conn{}
	for range 4 {
		name, c := greeting(t, addr)
		held[name] = append(held[name], c)
	}
	if len(held["a"]) != 2 || len(held["b"]) != 2 {
		t.Fatalf("4 held connections split a=%d b=%d, want 2/2", len(held["a"]), len(held["b"]))
	}
	for _, c := range held["a"] {
		c.Close()
	}
	srv := d.Snapshot().Backends["pool"].Pool.Servers()[0]
	waitFor(t, "a's connections to end", func() bool { return srv.State.Load.Active() == 0 })
	for range 2 {
		name, c := greeting(t, addr)
		if name != "a" {
			t.Errorf("with a idle and b holding 2, got %s", name)
		}
		defer c.Close()
	}
	for _, c := range held["b"] {
		c.Close()
	}
}

// dialFrom connects to addr from the loopback source address src.
func dialFrom(t *testing.T, src, addr string) string {
	t.Helper()
	dl := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := dl.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 16)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _ := c.Read(buf)
	return strings.TrimSpace(string(buf[:n]))
}

func TestSourceHash(t *testing.T) {
	a, b, c := startEcho(t, "a"), startEcho(t, "b"), startEcho(t, "c")
	servers := []string{"{name: a, addr_port: " + a.addr() + "}", "{name: b, addr_port: " + b.addr() + "}", "{name: c, addr_port: " + c.addr() + "}"}
	t.Run("address", func(t *testing.T) {
		d, _ := start(t, backendYAML("source", "", servers...))
		addr := frontAddr(t, d, "front")
		seen := map[string]bool{}
		for i := 10; i < 40; i++ {
			src := fmt.Sprintf("127.0.0.%d", i)
			first := dialFrom(t, src, addr)
			seen[first] = true
			for range 2 {
				if again := dialFrom(t, src, addr); again != first {
					t.Errorf("client %s went to %s then %s", src, first, again)
				}
			}
		}
		if len(seen) < 2 {
			t.Errorf("30 client addresses all went to %v; want them spread", seen)
		}
	})
	t.Run("prefix", func(t *testing.T) {
		d, _ := start(t, backendYAML("{algorithm: source, ipv4_prefix: 24}", "", servers...))
		addr := frontAddr(t, d, "front")
		first := dialFrom(t, "127.0.0.10", addr)
		for i := 11; i < 30; i++ {
			if got := dialFrom(t, fmt.Sprintf("127.0.0.%d", i), addr); got != first {
				t.Errorf("127.0.0.%d went to %s; the /24 went to %s", i, got, first)
			}
		}
	})
}

func TestFirstFillsInOrder(t *testing.T) {
	a, b := startEcho(t, "a"), startEcho(t, "b")
	d, _ := start(t, backendYAML("first", "",
		"{name: a, addr_port: "+a.addr()+", maxconn: 2}", "{name: b, addr_port: "+b.addr()+", maxconn: 2}"))
	addr := frontAddr(t, d, "front")
	var got []string
	for range 3 {
		name, c := greeting(t, addr)
		got = append(got, name)
		defer c.Close()
	}
	if s := strings.Join(got, ""); s != "aab" {
		t.Errorf("order = %s, want aab (a up to its maxconn, then b)", s)
	}
}

func TestBackupOnlyWhenNoPrimaryUp(t *testing.T) {
	p, bk := startEcho(t, "primary"), startEcho(t, "backup")
	d, _ := start(t, backendYAML("roundrobin", "    health: {type: tcp, timeout: 1s, interval: 30ms, rise: 1, fall: 1}\n",
		"{name: primary, addr_port: "+p.addr()+"}", "{name: backup, addr_port: "+bk.addr()+", backup: true}"))
	addr := frontAddr(t, d, "front")
	for range 4 {
		if got := who(t, addr); got != "primary" {
			t.Fatalf("got %s with the primary up", got)
		}
	}
	p.stop()
	srv := d.Snapshot().Backends["pool"].Pool.Servers()[0]
	waitFor(t, "primary down", func() bool { return !srv.State.Up() })
	for range 4 {
		if got := who(t, addr); got != "backup" {
			t.Fatalf("got %q with the primary down", got)
		}
	}
	restartEcho(t, p)
	waitFor(t, "primary up", func() bool { return srv.State.Up() })
	if got := who(t, addr); got != "primary" {
		t.Errorf("got %s after the primary came back", got)
	}
}

// TestLeastTimeLearnsConnectTimes checks the proxy feeds each server's
// response-time average, which leasttime balances on, and that every server
// gets traffic.
func TestLeastTimeLearnsConnectTimes(t *testing.T) {
	a, b := startEcho(t, "a"), startEcho(t, "b")
	d, _ := start(t, backendYAML("leasttime", "",
		"{name: a, addr_port: "+a.addr()+"}", "{name: b, addr_port: "+b.addr()+"}"))
	addr := frontAddr(t, d, "front")
	seen := map[string]int{}
	for range 20 {
		seen[who(t, addr)]++
	}
	if seen["a"] == 0 || seen["b"] == 0 {
		t.Errorf("leasttime starved a server: %v", seen)
	}
	now := time.Now().UnixNano()
	for _, s := range d.Snapshot().Backends["pool"].Pool.Servers() {
		if l := s.State.Load.Latency(now); l <= 0 {
			t.Errorf("%s: no response time learnt (%d)", s.Name(), l)
		}
	}
}
