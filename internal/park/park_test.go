//go:build linux

package park

import (
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// pair returns the two ends of a loopback TCP connection.
func pair(t *testing.T) (server, client *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); c.Close() })
	return s.(*net.TCPConn), c.(*net.TCPConn)
}

func newPoller(t *testing.T) *Poller {
	t.Helper()
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// watched is a parked connection that reports what happened to it.
type watched struct {
	Conn
	woken, expired chan struct{}
}

func (w *watched) Wake()   { w.woken <- struct{}{} }
func (w *watched) Expire() { w.expired <- struct{}{} }

func watch(t *testing.T, c *net.TCPConn) *watched {
	w := &watched{woken: make(chan struct{}, 8), expired: make(chan struct{}, 8)}
	w.FD = FD(c)
	if w.FD < 0 {
		t.Fatal("no descriptor")
	}
	w.Owner = w
	return w
}

// funcs is an Owner of two functions.
type funcs struct{ wake, expire func() }

func (f funcs) Wake()   { f.wake() }
func (f funcs) Expire() { f.expire() }

func wait(t *testing.T, ch chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s did not happen", what)
	}
}

func none(t *testing.T, ch chan struct{}, what string, d time.Duration) {
	t.Helper()
	select {
	case <-ch:
		t.Fatalf("%s happened", what)
	case <-time.After(d):
	}
}

func TestWakeOnData(t *testing.T) {
	p := newPoller(t)
	s, c := pair(t)
	w := watch(t, s)
	for i := range 3 { // the second and later Parks re-arm the same registration
		if err := p.Park(&w.Conn, time.Minute); err != nil {
			t.Fatal(err)
		}
		none(t, w.woken, "a wake-up without data", 50*time.Millisecond)
		if _, err := c.Write([]byte{byte('a' + i)}); err != nil {
			t.Fatal(err)
		}
		wait(t, w.woken, "the wake-up on data")
		if n := p.Len(); n != 0 {
			t.Fatalf("Len = %d after the wake-up", n)
		}
		var b [1]byte
		s.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := s.Read(b[:]); err != nil || b[0] != byte('a'+i) {
			t.Fatalf("read %q, %v", b[0], err)
		}
	}
	none(t, w.expired, "an expiry", 0)
}

func TestWakeOnDataAlreadyThere(t *testing.T) {
	p := newPoller(t)
	s, c := pair(t)
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // let it arrive: the wake-up must not need more
	w := watch(t, s)
	if err := p.Park(&w.Conn, time.Minute); err != nil {
		t.Fatal(err)
	}
	wait(t, w.woken, "the wake-up on data that came before Park")
}

func TestWakeOnPeerClose(t *testing.T) {
	p := newPoller(t)
	s, c := pair(t)
	w := watch(t, s)
	if err := p.Park(&w.Conn, time.Minute); err != nil {
		t.Fatal(err)
	}
	c.Close()
	wait(t, w.woken, "the wake-up on the peer's close")
}

func TestExpire(t *testing.T) {
	p := newPoller(t)
	s1, _ := pair(t)
	s2, _ := pair(t)
	s3, _ := pair(t)
	short, long, never := watch(t, s1), watch(t, s2), watch(t, s3)
	start := time.Now()
	for _, x := range []struct {
		w *watched
		d time.Duration
	}{{long, 400 * time.Millisecond}, {short, 100 * time.Millisecond}, {never, 0}} {
		if err := p.Park(&x.w.Conn, x.d); err != nil {
			t.Fatal(err)
		}
	}
	wait(t, short.expired, "the short expiry")
	if e := time.Since(start); e < 100*time.Millisecond {
		t.Fatalf("expired after %v, before its 100ms", e)
	}
	if n := p.Len(); n != 2 {
		t.Fatalf("Len = %d with two still parked", n)
	}
	wait(t, long.expired, "the long expiry")
	if e := time.Since(start); e < 400*time.Millisecond {
		t.Fatalf("expired after %v, before its 400ms", e)
	}
	none(t, never.expired, "an expiry without a timeout", 100*time.Millisecond)
	p.ExpireAll()
	wait(t, never.expired, "ExpireAll")
	none(t, short.woken, "a wake-up", 0)
	if err := p.Park(&short.Conn, time.Minute); !errors.Is(err, ErrClosed) {
		t.Fatalf("Park after ExpireAll = %v, want ErrClosed", err)
	}
}

func TestManyConnections(t *testing.T) {
	p := newPoller(t)
	const n = 300
	var woken atomic.Int32
	done := make(chan struct{})
	clients := make([]*net.TCPConn, n)
	for i := range n {
		s, c := pair(t)
		clients[i] = c
		pc := &Conn{FD: FD(s), Owner: funcs{
			wake: func() {
				if woken.Add(1) == n {
					close(done)
				}
			},
			expire: func() { t.Error("expired") },
		}}
		if err := p.Park(pc, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if p.Len() != n {
		t.Fatalf("Len = %d, want %d", p.Len(), n)
	}
	for _, c := range clients {
		c.Write([]byte("x"))
	}
	wait(t, done, "every wake-up")
	time.Sleep(50 * time.Millisecond)
	if w := woken.Load(); w != n {
		t.Fatalf("%d wake-ups for %d connections", w, n)
	}
}

func TestCloseExpiresAndStops(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	s, _ := pair(t)
	w := watch(t, s)
	if err := p.Park(&w.Conn, time.Minute); err != nil {
		t.Fatal(err)
	}
	p.Close()
	wait(t, w.expired, "the expiry on Close")
	select {
	case <-p.done:
	default:
		t.Fatal("the loop still runs after Close")
	}
}

func TestParkBadDescriptor(t *testing.T) {
	p := newPoller(t)
	c := &Conn{FD: 1 << 20, Owner: funcs{func() {}, func() {}}}
	if err := p.Park(c, time.Minute); err == nil {
		t.Fatal("Park of a descriptor that is not open succeeded")
	}
	if p.Len() != 0 {
		t.Fatal("a refused connection was kept")
	}
}

// TestExpireMixedTimeouts: connections parked with any timeouts (a
// connection's remaining time, say) expire in the order of their
// deadlines, a later park with a shorter timeout first; a wake or a
// Cancel takes a connection out of the deadline order; and the Poller
// keeps nothing per distinct timeout.
func TestExpireMixedTimeouts(t *testing.T) {
	p := newPoller(t)
	const n = 12
	var order []int
	expired := make(chan struct{}, n)
	conns := make([]*Conn, n)
	// Parked one after another with timeouts going down: the last parked
	// has the earliest deadline. Timeouts differ by a prime number of
	// microseconds, so no two are equal.
	for i := range conns {
		_, c := pair(t)
		i := i
		conns[i] = &Conn{FD: FD(c), Owner: funcs{wake: func() {}, expire: func() {
			order = append(order, i) // on the Poller's goroutine, one at a time
			expired <- struct{}{}
		}}}
		if err := p.Park(conns[i], 300*time.Millisecond-time.Duration(i)*7919*time.Microsecond); err != nil {
			t.Fatal(err)
		}
	}
	if !p.Cancel(conns[3]) || p.Cancel(conns[3]) {
		t.Fatal("Cancel of a parked connection: want true once, then false")
	}
	p.mu.Lock()
	heaped := len(p.timers)
	p.mu.Unlock()
	if heaped != n-1 {
		t.Errorf("%d connections in the deadline order, want %d", heaped, n-1)
	}
	for range n - 1 {
		wait(t, expired, "expiry")
	}
	for k := 1; k < len(order); k++ {
		if order[k] > order[k-1] {
			t.Fatalf("expired in the order %v, want the latest parked (earliest deadline) first", order)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.timers) != 0 || p.n != 0 {
		t.Errorf("after every expiry: %d in the deadline order, %d parked", len(p.timers), p.n)
	}
}
