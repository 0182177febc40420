package daemon

import (
	"io"
	"net"
	"runtime"
	"testing"
	"time"
)

// TestTCPIdleConnectionsHoldNoGoroutine: idle tcp-mode connections are
// parked, both ways, and hold no goroutine of fulcrum's; bytes either way
// wake them; a shutdown past its grace closes the parked ones.
func TestTCPIdleConnectionsHoldNoGoroutine(t *testing.T) {
	echo := startQuietEcho(t)
	d, _ := start(t, backendYAML("roundrobin", "", "{name: e, addr_port: "+echo.addr()+"}"))
	addr := frontAddr(t, d, "front")
	base, accepted := runtime.NumGoroutine(), echo.accepted.Load()
	const n = 300
	conns := make([]net.Conn, n)
	roundTrip := func(c net.Conn, msg string) {
		t.Helper()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, msg); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil || string(got) != msg {
			t.Fatalf("echo of %q: %q, %v", msg, got, err)
		}
	}
	for i := range conns {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns[i] = c
		roundTrip(c, "hello")
	}
	// The echo server keeps a goroutine per connection; fulcrum keeps none
	// per connection: its workers waiting for the next connection (at most
	// maxIdleWorkers), and a few of its own that come and go.
	most := func() int { return base + int(echo.accepted.Load()-accepted) + maxIdleWorkers + 5 }
	waitGoroutines(t, most(), "after the connections went idle")
	for i, c := range conns {
		roundTrip(c, "again "+string(rune('a'+i%26)))
	}
	waitGoroutines(t, most(), "after they went idle again")
	forced := make(chan int, 1)
	go func() { forced <- d.Shutdown(100 * time.Millisecond) }()
	select {
	case f := <-forced:
		if f != n {
			t.Errorf("shutdown closed %d connections, want %d", f, n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("shutdown with a grace of 100ms still running after 10 s")
	}
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if k, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatalf("read %d bytes after the shutdown", k)
		}
	}
}
