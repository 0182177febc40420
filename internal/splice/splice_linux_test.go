package splice

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/testnet"
)

// TestSplicerLimitAndEOF: move stops at its limit, and reports EOF by
// moving fewer bytes than asked; the bytes arrive whole and in order.
func TestSplicerLimitAndEOF(t *testing.T) {
	f := newFlow(t, 3<<20+12345, nil, nil)
	if n, err := f.sp.Move(1 << 20); n != 1<<20 || err != nil {
		t.Fatalf("move(1 MiB) = %d, %v", n, err)
	}
	if n, err := f.sp.Move(1 << 30); n != int64(len(f.data))-1<<20 || err != nil {
		t.Fatalf("move to EOF = %d, %v; want %d, nil", n, err, len(f.data)-1<<20)
	}
	if n, err := f.sp.Move(1 << 20); n != 0 || err != nil {
		t.Fatalf("move after EOF = %d, %v; want 0, nil", n, err)
	}
	f.check()
}

// TestSplicerWriteDeadline: a destination that takes nothing ends move at
// its write deadline, and the pipe still holding bytes is closed rather
// than pooled.
func TestSplicerWriteDeadline(t *testing.T) {
	w, src, dst, _ := pipeline(t) // the reader never reads
	go w.Write(make([]byte, 64<<20))
	sp, err := New(dst, src)
	if err != nil {
		t.Fatal(err)
	}
	dst.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	n, err := sp.Move(64 << 20)
	if err == nil || n >= 64<<20 {
		t.Fatalf("move = %d, %v; want a deadline error", n, err)
	}

	p, err := getPipe()
	if err != nil {
		t.Fatal(err)
	}
	r, wfd := p.r, p.w
	p.n = 1 // as if bytes were left in it
	putPipe(p)
	for _, fd := range []int{r, wfd} {
		if _, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFD, 0); errno != syscall.EBADF {
			t.Errorf("descriptor %d of a pipe left with bytes: fcntl = %v, want EBADF (closed)", fd, errno)
		}
	}
}

// TestSplicerWaitHoldsNoPipe: a move waiting for its source to send more
// holds no pipe, so many quiet connections cost no descriptors beyond
// their sockets: 40 moves that each passed 1 KiB and now wait hold no
// pipe, where holding one each would be 80 descriptors.
func TestSplicerWaitHoldsNoPipe(t *testing.T) {
	const n = 40
	type line struct{ w, src, dst, r *net.TCPConn }
	lines := make([]line, n)
	for i := range lines {
		w, src, dst, r := pipeline(t)
		lines[i] = line{w, src, dst, r}
	}
	// Pipes pooled by earlier tests are closed after two collections.
	runtime.GC()
	runtime.GC()
	time.Sleep(100 * time.Millisecond)
	base := openFDs(t)

	done := make(chan error, n)
	for _, l := range lines {
		l.src.SetReadDeadline(time.Now().Add(20 * time.Second))
		sp, err := New(l.dst, l.src)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			_, err := sp.Move(1 << 30)
			done <- err
		}()
		if _, err := l.w.Write(make([]byte, 1<<10)); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 1<<10)
	for _, l := range lines {
		l.r.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(l.r, buf); err != nil {
			t.Fatal(err)
		}
	}
	// Every move passed its bytes on and waits for more. Pipes not held
	// (pooled, or dropped by the pool as it does at random with the race
	// detector) are closed after two collections.
	runtime.GC()
	runtime.GC()
	time.Sleep(100 * time.Millisecond)
	if held := openFDs(t) - base; held > 4 {
		t.Errorf("%d moves waiting for their sources hold %d more descriptors, want at most 4", n, held)
	}
	for _, l := range lines {
		l.w.CloseWrite()
	}
	for range n {
		if err := <-done; err != nil {
			t.Errorf("move: %v", err)
		}
	}
}

// openFDs is the number of descriptors this process has open.
func openFDs(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}

// TestSplicerArmsBeforeWaits: ArmWrite is called again each time a write is
// about to wait, so a deadline it re-arms bounds each wait, not the whole
// move: a reader that takes 2 MiB steadily over about 600 ms gets it all
// through a destination whose deadline is re-armed to 100 ms.
func TestSplicerArmsBeforeWaits(t *testing.T) {
	const size = 2 << 20
	f := newFlow(t, size, func(src, dst, _ *net.TCPConn) {
		src.SetReadBuffer(4 << 20)
		dst.SetWriteBuffer(128 << 10)
	}, func(r io.Reader) []byte {
		var b bytes.Buffer
		for {
			if _, err := io.CopyN(&b, r, 64<<10); err != nil {
				return b.Bytes()
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	// Let src fill up, so that one splice takes a whole pipe (1 MiB),
	// which the reader takes about 300 ms to empty.
	time.Sleep(100 * time.Millisecond)
	arms := 0
	f.sp.ArmWrite = func() {
		arms++
		f.dst.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	}
	if n, err := f.sp.Move(1 << 30); err != nil || n != size {
		t.Fatalf("Move = %d, %v; want %d, nil (ArmWrite called %d times)", n, err, size, arms)
	}
	f.check()
}

// TestSplicerSteps: with a small Step, a move goes through many splices
// and still moves every byte, in order.
func TestSplicerSteps(t *testing.T) {
	f := newFlow(t, 1<<20+777, nil, nil)
	f.sp.Step = 4 << 10
	drains := 0
	f.sp.ArmRead = func() { drains++ }
	if n, err := f.sp.Move(1 << 30); n != int64(len(f.data)) || err != nil {
		t.Fatalf("Move = %d, %v; want %d, nil", n, err, len(f.data))
	}
	f.check()
	if drains < len(f.data)/(4<<10) {
		t.Errorf("%d splices from src for %d bytes in 4 KiB steps", drains, len(f.data))
	}
}

// pipeline sets up writer → (src … splice … dst) → reader.
func pipeline(t *testing.T) (writer, src, dst, reader *net.TCPConn) {
	writer, src = testnet.TCPPair(t)
	dst, reader = testnet.TCPPair(t)
	return
}

// flow is size random bytes on their way through a Splicer: written to src
// and closed, read from dst by read (io.ReadAll if nil).
type flow struct {
	t        *testing.T
	data     []byte
	src, dst *net.TCPConn
	sp       *Splicer
	got      chan []byte
}

// newFlow starts the flow; setup, if given, runs on the sockets before any
// byte is written.
func newFlow(t *testing.T, size int, setup func(src, dst, reader *net.TCPConn), read func(io.Reader) []byte) *flow {
	t.Helper()
	w, src, dst, r := pipeline(t)
	if setup != nil {
		setup(src, dst, r)
	}
	if read == nil {
		read = func(r io.Reader) []byte { b, _ := io.ReadAll(r); return b }
	}
	f := &flow{t: t, data: make([]byte, size), src: src, dst: dst, got: make(chan []byte)}
	rand.Read(f.data)
	go func() { w.Write(f.data); w.CloseWrite() }()
	go func() { f.got <- read(r) }()
	sp, err := New(dst, src)
	if err != nil {
		t.Fatal(err)
	}
	f.sp = sp
	return f
}

// check ends the flow and checks that the reader got every byte, in order.
func (f *flow) check() {
	f.t.Helper()
	f.dst.CloseWrite()
	if b := <-f.got; !bytes.Equal(b, f.data) {
		f.t.Errorf("received %d bytes, not the %d sent", len(b), len(f.data))
	}
}
