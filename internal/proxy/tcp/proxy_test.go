package tcp

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/backend"
	"github.com/fulcrum-lb/fulcrum/internal/park"
	"github.com/fulcrum-lb/fulcrum/internal/runtime"
)

// TestPipeBothWays sends 16 MiB each way at once through pipe, over real
// loopback connections: both arrive intact, each end sees the other's
// half-close, and the byte counters match.
func TestPipeBothWays(t *testing.T) {
	for _, parking := range []bool{false, true} {
		t.Run(map[bool]string{false: "goroutines", true: "parking"}[parking], func(t *testing.T) {
			testBothWays(t, parking)
		})
	}
}

func testBothWays(t *testing.T, parking bool) {
	client, fromClient := tcpPair(t)
	toServer, server := tcpPair(t)
	var (
		fc runtime.FrontendCounters
		sc backend.Counters
	)
	done := relay(t, fromClient, toServer, runtime.Timeouts{Client: 5 * time.Second, Server: 5 * time.Second}, parking, &fc, &sc)
	const size = 16 << 20
	up, down := make([]byte, size), make([]byte, size)
	rand.Read(up)
	rand.Read(down)
	type result struct {
		sum [32]byte
		n   int64
		err error
	}
	receive := func(r io.Reader, out chan<- result) {
		h := sha256.New()
		n, err := io.Copy(h, r)
		var res result
		copy(res.sum[:], h.Sum(nil))
		res.n, res.err = n, err
		out <- res
	}
	atServer, atClient := make(chan result, 1), make(chan result, 1)
	go receive(server, atServer)
	go receive(client, atClient)
	client.SetDeadline(time.Now().Add(20 * time.Second))
	server.SetDeadline(time.Now().Add(20 * time.Second))
	go func() { client.Write(up); client.CloseWrite() }()
	go func() { server.Write(down); server.CloseWrite() }()
	for _, c := range []struct {
		name string
		got  result
		sent []byte
	}{{"client to server", <-atServer, up}, {"server to client", <-atClient, down}} {
		if want := sha256.Sum256(c.sent); c.got.err != nil || c.got.n != size || !bytes.Equal(c.got.sum[:], want[:]) {
			t.Errorf("%s: %d bytes, %v, intact %v; want %d intact and EOF", c.name, c.got.n, c.got.err, c.got.sum == want, size)
		}
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("pipe still running after both half-closes")
	}
	if fc.BytesIn.Load() != size || fc.BytesOut.Load() != size || sc.BytesIn.Load() != size || sc.BytesOut.Load() != size {
		t.Errorf("counters: frontend in %d out %d, server in %d out %d; want %d each",
			fc.BytesIn.Load(), fc.BytesOut.Load(), sc.BytesIn.Load(), sc.BytesOut.Load(), size)
	}
}

// relay runs client and server through pipe, or, with parking, through a
// session whose idle directions a Poller holds; the channel it returns is
// closed when they are done.
func relay(t *testing.T, client, server net.Conn, to runtime.Timeouts, parking bool, fc *runtime.FrontendCounters, sc *backend.Counters) <-chan struct{} {
	up, down := counters(fc, sc)
	done := make(chan struct{})
	if !parking {
		go func() {
			defer close(done)
			pipe(client, server, to, up, down)
		}()
		return done
	}
	pl := newPoller(t)
	var ended atomic.Int32
	go startSession(client.(*net.TCPConn), server.(*net.TCPConn), pl, to.Client, to.Server, up, down, func() {
		if ended.Add(1) == 1 {
			close(done)
		} else {
			t.Error("session ended twice")
		}
	})
	return done
}

func newPoller(t *testing.T) *park.Poller {
	pl, err := park.New()
	if err != nil {
		t.Skip(err) // not Linux
	}
	t.Cleanup(pl.Close)
	return pl
}

// buffered hides that a connection is TCP, so that pipe copies it through
// a buffer, as it does a TLS connection.
type buffered struct{ *net.TCPConn }

// TestPipeOneWayOutlivesTimeouts: a side that only receives stays open
// while the other way moves, however long that takes; once nothing moves
// either way, the timeouts close the pair. One side sends a byte every
// 60 ms for about 0.7 s through timeouts of 300 ms while the other sends
// nothing, both ways, through splice and through a buffer.
func TestPipeOneWayOutlivesTimeouts(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		fromServer, buf, parking bool
	}{
		{"client sends, splice", false, false, false},
		{"server sends, splice", true, false, false},
		{"client sends, buffered", false, true, false},
		{"server sends, buffered", true, true, false},
		{"client sends, parking", false, false, true},
		{"server sends, parking", true, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, fromClient := tcpPair(t)
			toServer, server := tcpPair(t)
			var front net.Conn = fromClient
			if tc.buf {
				front = buffered{fromClient}
			}
			var (
				fc runtime.FrontendCounters
				sc backend.Counters
			)
			done := relay(t, front, toServer, runtime.Timeouts{Client: 300 * time.Millisecond, Server: 300 * time.Millisecond}, tc.parking, &fc, &sc)
			talker, listener := client, server
			if tc.fromServer {
				talker, listener = server, client
			}
			const n = 12
			go func() {
				for range n {
					if _, err := talker.Write([]byte("x")); err != nil {
						return
					}
					time.Sleep(60 * time.Millisecond)
				}
			}()
			listener.SetReadDeadline(time.Now().Add(10 * time.Second))
			got := 0
			buf := make([]byte, 16)
			for got < n {
				k, err := listener.Read(buf)
				got += k
				if err != nil {
					t.Fatalf("after %d of %d bytes: %v", got, n, err)
				}
			}
			// Nothing moves now: the pair is closed within about a timeout.
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("pipe still open 5 s after the last byte, timeouts 300 ms")
			}
		})
	}
}
