package tcp

import (
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/backend"
	"github.com/fulcrum-lb/fulcrum/internal/park"
	fruntime "github.com/fulcrum-lb/fulcrum/internal/runtime"
)

// waitFor polls cond until it holds, failing after 3 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(3 * time.Second); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("still not %s after 3 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// quietSession starts a session with one-minute timeouts between client
// and server, the two ends it returns; ended is closed when it is done.
func quietSession(t *testing.T) (pl *park.Poller, client, server *net.TCPConn, ended chan struct{}) {
	pl = newPoller(t)
	client, fromClient := tcpPair(t)
	toServer, server := tcpPair(t)
	ended = make(chan struct{})
	go startSession(fromClient, toServer, pl, time.Minute, time.Minute, func(int64) {}, func(int64) {}, func() { close(ended) })
	return pl, client, server, ended
}

// TestSessionParksIdle: a connection that has gone quiet holds no
// goroutine, both its directions parked; bytes either way wake it, and
// once nothing has moved for its timeouts it is closed, and done once.
func TestSessionParksIdle(t *testing.T) {
	pl := newPoller(t)
	client, fromClient := tcpPair(t)
	toServer, server := tcpPair(t)
	base := runtime.NumGoroutine()
	ended := make(chan struct{})
	var ends int
	var fc fruntime.FrontendCounters
	var sc backend.Counters
	go startSession(fromClient, toServer, pl, 600*time.Millisecond, 600*time.Millisecond,
		func(n int64) { fc.BytesIn.Add(uint64(n)); sc.BytesIn.Add(uint64(n)) },
		func(n int64) { fc.BytesOut.Add(uint64(n)); sc.BytesOut.Add(uint64(n)) },
		func() { ends++; close(ended) })
	exchange := func(round int) {
		t.Helper()
		buf := make([]byte, 4)
		client.Write([]byte("ping"))
		server.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := io.ReadFull(server, buf); err != nil || string(buf) != "ping" {
			t.Fatalf("round %d: server read %q, %v", round, buf, err)
		}
		server.Write([]byte("pong"))
		client.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := io.ReadFull(client, buf); err != nil || string(buf) != "pong" {
			t.Fatalf("round %d: client read %q, %v", round, buf, err)
		}
	}
	for round := range 3 {
		exchange(round)
		waitFor(t, "parked both ways", func() bool { return pl.Len() == 2 })
		// The session's goroutines are gone (runtime.Goexit leaves its
		// count at once; a goroutine may take a moment to be reaped).
		waitFor(t, "without goroutines", func() bool { return runtime.NumGoroutine() <= base })
	}
	if got := fc.BytesIn.Load(); got != 12 || fc.BytesOut.Load() != 12 || sc.BytesIn.Load() != 12 {
		t.Errorf("counted in %d out %d, want 12 each way", got, fc.BytesOut.Load())
	}
	// Idle now: closed after the timeout, both sides seeing the end.
	quiet := time.Now()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("idle session not closed 5 s after its 600 ms timeouts")
	}
	if took := time.Since(quiet); took < 400*time.Millisecond {
		t.Errorf("closed %v after the last byte, before its 600 ms timeout", took)
	}
	for name, c := range map[string]io.Reader{"client": client, "server": server} {
		if n, err := c.Read(make([]byte, 1)); err == nil {
			t.Errorf("%s read %d bytes from a closed session", name, n)
		}
	}
	if pl.Len() != 0 || ends != 1 {
		t.Errorf("%d still parked, ended %d times", pl.Len(), ends)
	}
}

// TestSessionExpireAll: a Poller's ExpireAll (a shutdown's forced close)
// ends parked sessions.
func TestSessionExpireAll(t *testing.T) {
	pl, client, _, ended := quietSession(t)
	waitFor(t, "parked both ways", func() bool { return pl.Len() == 2 })
	pl.ExpireAll()
	select {
	case <-ended:
	case <-time.After(3 * time.Second):
		t.Fatal("session not ended by ExpireAll")
	}
	client.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := client.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("client read: %v, want EOF", err)
	}
}

// TestSessionHalfClose: a client that half-closes while the server is
// quiet ends its direction; the server's answer still arrives, and the
// session ends when the server closes too.
func TestSessionHalfClose(t *testing.T) {
	pl, client, server, ended := quietSession(t)
	waitFor(t, "parked both ways", func() bool { return pl.Len() == 2 })
	client.Write([]byte("last words"))
	client.CloseWrite()
	server.SetReadDeadline(time.Now().Add(3 * time.Second))
	if b, err := io.ReadAll(server); err != nil || string(b) != "last words" {
		t.Fatalf("server read %q, %v; want the bytes and EOF", b, err)
	}
	waitFor(t, "parked one way", func() bool { return pl.Len() == 1 })
	server.Write([]byte("answer"))
	server.Close()
	client.SetReadDeadline(time.Now().Add(3 * time.Second))
	if b, err := io.ReadAll(client); err != nil || string(b) != "answer" {
		t.Fatalf("client read %q, %v; want the answer and EOF", b, err)
	}
	select {
	case <-ended:
	case <-time.After(3 * time.Second):
		t.Fatal("session not ended after both sides closed")
	}
}

// TestSessionReset: a client that resets a parked connection ends the
// session at once, its server side still parked with a minute to go.
func TestSessionReset(t *testing.T) {
	pl, client, server, ended := quietSession(t)
	waitFor(t, "parked both ways", func() bool { return pl.Len() == 2 })
	client.SetLinger(0)
	client.Close() // RST
	select {
	case <-ended:
	case <-time.After(3 * time.Second):
		t.Fatal("session not ended by the client's reset")
	}
	server.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := server.Read(make([]byte, 1)); err == nil {
		t.Error("server side still open")
	}
	if pl.Len() != 0 {
		t.Errorf("%d still parked", pl.Len())
	}
}

// TestSessionBusyNotParked: a connection whose bytes keep coming both ways
// is not parked, though each splice's wait ends every spliceHold; once it
// goes quiet, both ways are.
func TestSessionBusyNotParked(t *testing.T) {
	pl, client, server, _ := quietSession(t)
	buf := make([]byte, 4)
	client.SetDeadline(time.Now().Add(5 * time.Second))
	server.SetDeadline(time.Now().Add(5 * time.Second))
	for end := time.Now().Add(4 * spliceHold); time.Now().Before(end); {
		client.Write([]byte("ping"))
		if _, err := io.ReadFull(server, buf); err != nil {
			t.Fatal(err)
		}
		server.Write([]byte("pong"))
		if _, err := io.ReadFull(client, buf); err != nil {
			t.Fatal(err)
		}
		time.Sleep(spliceHold / 10)
	}
	if n := pl.Parks(); n != 0 {
		t.Errorf("parked %d times while busy", n)
	}
	waitFor(t, "parked both ways", func() bool { return pl.Len() == 2 })
}
