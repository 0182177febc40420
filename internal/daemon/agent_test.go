package daemon

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/fulcrum-lb/fulcrum/internal/backend"
	"github.com/fulcrum-lb/fulcrum/internal/balance"
	"github.com/fulcrum-lb/fulcrum/internal/testnet"
)

// agentServer answers every connection with its current reply line, as a
// HAProxy-style agent does.
type agentServer struct {
	ln    net.Listener
	mu    sync.Mutex
	reply string
}

func startAgent(t *testing.T, addr string) *agentServer {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	a := &agentServer{ln: ln, reply: "up 100%"}
	testnet.ServeOn(t, ln, func(c net.Conn) {
		a.mu.Lock()
		fmt.Fprintf(c, "%s\n", a.reply)
		a.mu.Unlock()
	})
	return a
}

func (a *agentServer) say(s string) {
	a.mu.Lock()
	a.reply = s
	a.mu.Unlock()
}

func (a *agentServer) port() int { return a.ln.Addr().(*net.TCPAddr).Port }

// TestAgentSteersTraffic: each server's agent answers on the same side port of
// its own loopback address; "drain" stops new connections, a percentage
// changes the share, "ready" brings it back.
func TestAgentSteersTraffic(t *testing.T) {
	agentA := startAgent(t, "127.0.0.1:0")
	agentB := startAgent(t, fmt.Sprintf("127.0.0.3:%d", agentA.port()))
	agentA.say("up")

	a := startEcho(t, "a")
	lnSrvB, err := net.Listen("tcp", "127.0.0.3:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &echoServer{name: "b", ln: lnSrvB, conns: map[net.Conn]bool{}, greet: true}
	b.serve()
	t.Cleanup(b.stop)

	d, _ := start(t, backendYAML("roundrobin", fmt.Sprintf("    agent: {port: %d, interval: 20ms}\n", agentA.port()),
		"{name: a, addr_port: "+a.addr()+", weight: 10}", "{name: b, addr_port: "+b.addr()+", weight: 10}"))
	addr := frontAddr(t, d, "front")
	pool := d.Snapshot().Backends["pool"].Pool
	srvB := pool.Servers()[1]

	// A server's state changes just before the pool publishes the set that
	// requests pick from, so each wait below is for that set too.
	agentB.say("drain")
	waitFor(t, "b draining", func() bool { return srvB.State.Admin() == backend.Drain && picksOf(pool, srvB, 4) == 0 })
	for range 6 {
		if got := who(t, addr); got != "a" {
			t.Fatalf("got %q while b drains", got)
		}
	}
	agentB.say("ready 50%")
	// At weights 10 and 5, any 3 picks in a row hold one b; while b
	// drained (its weight 0), none.
	waitFor(t, "b ready at 50%", func() bool {
		return srvB.State.Admin() == backend.Ready && srvB.EffectiveWeight() == 5 && picksOf(pool, srvB, 3) == 1
	})
	var got []string
	for range 15 {
		got = append(got, who(t, addr))
	}
	if n := strings.Count(strings.Join(got, ""), "b"); n != 5 {
		t.Errorf("b served %d of 15 at weight 5 against 10, want 5: %v", n, got)
	}
	agentB.say("down#disk full")
	waitFor(t, "b down", func() bool { return !srvB.State.Up() && picksOf(pool, srvB, 4) == 0 })
	for range 4 {
		if got := who(t, addr); got != "a" {
			t.Fatalf("got %q while b's agent says down", got)
		}
	}
}

// picksOf draws n picks from the set pool publishes and counts those of s.
func picksOf(pool *backend.Pool, s *backend.Server, n int) int {
	set := pool.Set()
	any := balance.AcceptFunc(func(int) bool { return true })
	got := 0
	for range n {
		if i := set.Picker.Pick(&balance.Request{}, any); i >= 0 && set.Servers[i] == s {
			got++
		}
	}
	return got
}
