package tcp

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/testnet"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) { return testnet.TCPPair(t) }

// pipeline sets up writer → (src … copyIdle … dst) → reader.
func pipeline(t *testing.T) (writer, src, dst, reader *net.TCPConn) {
	writer, src = tcpPair(t)
	dst, reader = tcpPair(t)
	return
}

func TestCopyIdleEOF(t *testing.T) {
	w, src, dst, r := pipeline(t)
	data := bytes.Repeat([]byte("fulcrum "), 100000)
	go func() { w.Write(data); w.CloseWrite() }()
	var counted atomic.Int64
	got := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); got <- b }()
	n, err := copyIdle(dst, src, time.Second, time.Second, newActivity(), func(n int64) { counted.Add(n) }, nil)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("copyIdle = %d, %v; want %d, nil", n, err, len(data))
	}
	dst.CloseWrite()
	if b := <-got; !bytes.Equal(b, data) {
		t.Errorf("received %d bytes, not the %d sent", len(b), len(data))
	}
	if counted.Load() != n {
		t.Errorf("counted %d, copied %d", counted.Load(), n)
	}
}

func TestCopyIdleReadTimeout(t *testing.T) {
	_, src, dst, _ := pipeline(t)
	start := time.Now()
	_, err := copyIdle(dst, src, 80*time.Millisecond, time.Second, newActivity(), func(int64) {}, nil)
	took := time.Since(start)
	if !errors.Is(err, errIdle) {
		t.Fatalf("err = %v, want errIdle", err)
	}
	// Checked every quarter of the timeout: between 1 and 1.25 timeouts
	// (plus scheduling).
	if took < 80*time.Millisecond || took > 500*time.Millisecond {
		t.Errorf("gave up after %v, timeout 80ms", took)
	}
}

// TestCopyIdleSlowTrickle: a sender that is slow but never silent for the
// whole timeout keeps the copy alive well past the timeout. (The margins
// are wide: a goroutine starved for a whole timeout on a loaded machine
// looks like a stalled writer, and the copy rightly gives up then.)
func TestCopyIdleSlowTrickle(t *testing.T) {
	w, src, dst, r := pipeline(t)
	go io.Copy(io.Discard, r)
	go func() {
		for range 12 {
			w.Write([]byte("x"))
			time.Sleep(50 * time.Millisecond)
		}
		w.CloseWrite()
	}()
	n, err := copyIdle(dst, src, 400*time.Millisecond, 400*time.Millisecond, newActivity(), func(int64) {}, nil)
	if err != nil || n != 12 {
		t.Errorf("copyIdle = %d, %v; want 12 bytes and EOF", n, err)
	}
}

// TestCopyIdleWriteStall: a receiver that stops reading ends the copy after
// the write timeout, even though the sender keeps sending.
func TestCopyIdleWriteStall(t *testing.T) {
	w, src, dst, _ := pipeline(t) // nobody reads from the far end of dst
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		buf := make([]byte, 64<<10)
		for {
			select {
			case <-stop:
				return
			default:
			}
			w.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
			w.Write(buf)
		}
	}()
	start := time.Now()
	_, err := copyIdle(dst, src, time.Minute, 100*time.Millisecond, newActivity(), func(int64) {}, nil)
	if !errors.Is(err, errIdle) && !errors.Is(err, net.ErrClosed) {
		t.Fatalf("err = %v, want errIdle", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("stalled writer detected after %v; write timeout 100ms", took)
	}
}

// TestCopyAnyBuffered covers the buffered path, used when one side is not a
// plain TCP connection (TLS terminated by fulcrum): EOF, then idle timeout.
func TestCopyAnyBuffered(t *testing.T) {
	a, b := net.Pipe() // not *net.TCPConn: no splice
	dst, r := tcpPair(t)
	go func() {
		a.Write([]byte("through the buffer"))
		a.Close()
	}()
	got := make(chan []byte)
	go func() { all, _ := io.ReadAll(r); got <- all }()
	var counted atomic.Int64
	n, err := copyAny(dst, b, time.Second, time.Second, newActivity(), func(n int64) { counted.Add(n) })
	dst.CloseWrite()
	if err != nil || n != 18 || counted.Load() != 18 {
		t.Fatalf("copyAny = %d, %v (counted %d)", n, err, counted.Load())
	}
	if s := string(<-got); s != "through the buffer" {
		t.Errorf("received %q", s)
	}

	c, d := net.Pipe()
	defer c.Close()
	start := time.Now()
	if _, err := copyAny(dst, d, 50*time.Millisecond, time.Second, newActivity(), func(int64) {}); !errors.Is(err, errIdle) {
		t.Errorf("silent source: %v, want errIdle", err)
	}
	if took := time.Since(start); took < 50*time.Millisecond || took > 2*time.Second {
		t.Errorf("idle after %v", took)
	}
}

// TestWaitReadableDataWaiting: data that came before the wait began, its
// readiness already reported by the poller, ends the wait at once rather
// than at the deadline (the poller is edge-triggered and forgets it).
func TestWaitReadableDataWaiting(t *testing.T) {
	w, src := tcpPair(t)
	rc, err := src.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("x"))
	time.Sleep(50 * time.Millisecond) // the poller sees src readable
	src.SetReadDeadline(time.Now().Add(2 * time.Second))
	start := time.Now()
	if err := waitReadable(rc); err != nil {
		t.Fatalf("waitReadable = %v after %v with data waiting", err, time.Since(start))
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("waitReadable returned after %v with data waiting", took)
	}
	b := make([]byte, 2)
	if n, err := src.Read(b); n != 1 || err != nil {
		t.Errorf("read %d, %v after the wait; want the byte still there", n, err)
	}
}

// TestCopyIdleResetWhileIdle: a reset that comes while the copy waits
// without a pipe is an error, not the end of the stream.
func TestCopyIdleResetWhileIdle(t *testing.T) {
	w, src, dst, r := pipeline(t)
	go io.Copy(io.Discard, r)
	go func() {
		w.Write([]byte("x"))
		time.Sleep(3 * spliceHold) // the copy gives its pipe back and waits
		w.SetLinger(0)
		w.Close() // RST
	}()
	n, err := copyIdle(dst, src, 5*time.Second, 5*time.Second, newActivity(), func(int64) {}, nil)
	if err == nil || n != 1 {
		t.Errorf("copyIdle = %d, %v; want 1 byte and a reset error", n, err)
	}
}

// TestCopyIdleNoTimeouts: without timeouts, copyIdle splices to EOF too.
func TestCopyIdleNoTimeouts(t *testing.T) {
	w, src, dst, r := pipeline(t)
	data := bytes.Repeat([]byte("fulcrum "), 300000)
	go func() { w.Write(data); w.CloseWrite() }()
	got := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); got <- b }()
	var counted int64
	n, err := copyIdle(dst, src, 0, 0, newActivity(), func(n int64) { counted += n }, nil)
	if err != nil || n != int64(len(data)) || counted != n {
		t.Fatalf("copyIdle = %d, %v (counted %d); want %d, nil", n, err, counted, len(data))
	}
	dst.CloseWrite()
	if b := <-got; !bytes.Equal(b, data) {
		t.Errorf("received %d bytes, not the %d sent", len(b), len(data))
	}
}
