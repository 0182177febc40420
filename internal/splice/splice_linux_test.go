package splice

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/testnet"
)

// TestSplicerLimitAndEOF: move stops at its limit, and reports EOF by
// moving fewer bytes than asked; the bytes arrive whole and in order.
func TestSplicerLimitAndEOF(t *testing.T) {
	w, src, dst, r := pipeline(t)
	data := make([]byte, 3<<20+12345)
	rand.Read(data)
	go func() { w.Write(data); w.CloseWrite() }()
	got := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); got <- b }()
	sp, err := New(dst, src)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := sp.Move(1 << 20); n != 1<<20 || err != nil {
		t.Fatalf("move(1 MiB) = %d, %v", n, err)
	}
	if n, err := sp.Move(1 << 30); n != int64(len(data))-1<<20 || err != nil {
		t.Fatalf("move to EOF = %d, %v; want %d, nil", n, err, len(data)-1<<20)
	}
	if n, err := sp.Move(1 << 20); n != 0 || err != nil {
		t.Fatalf("move after EOF = %d, %v; want 0, nil", n, err)
	}
	dst.CloseWrite()
	if b := <-got; !bytes.Equal(b, data) {
		t.Errorf("received %d bytes, not the %d sent", len(b), len(data))
	}
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

// pipeline sets up writer → (src … splice … dst) → reader.
func pipeline(t *testing.T) (writer, src, dst, reader *net.TCPConn) {
	writer, src = testnet.TCPPair(t)
	dst, reader = testnet.TCPPair(t)
	return
}

// TestSplicerArmsBeforeWaits: ArmWrite is called again each time a write is
// about to wait, so a deadline it re-arms bounds each wait, not the whole
// move: a reader that takes 2 MiB steadily over about 600 ms gets it all
// through a destination whose deadline is re-armed to 100 ms.
func TestSplicerArmsBeforeWaits(t *testing.T) {
	const size = 2 << 20
	w, src, dst, r := pipeline(t)
	src.SetReadBuffer(4 << 20)
	dst.SetWriteBuffer(128 << 10)
	data := make([]byte, size)
	rand.Read(data)
	go func() { w.Write(data); w.CloseWrite() }()
	// Let src fill up, so that one splice takes a whole pipe (1 MiB),
	// which the reader takes about 300 ms to empty.
	time.Sleep(100 * time.Millisecond)
	got := make(chan []byte)
	go func() {
		var b bytes.Buffer
		for {
			if _, err := io.CopyN(&b, r, 64<<10); err != nil {
				got <- b.Bytes()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	sp, err := New(dst, src)
	if err != nil {
		t.Fatal(err)
	}
	arms := 0
	sp.ArmWrite = func() {
		arms++
		dst.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	}
	n, err := sp.Move(1 << 30)
	if err != nil || n != size {
		t.Fatalf("Move = %d, %v; want %d, nil (ArmWrite called %d times)", n, err, size, arms)
	}
	dst.CloseWrite()
	if b := <-got; !bytes.Equal(b, data) {
		t.Errorf("received %d bytes, not the %d sent", len(b), len(data))
	}
}

// TestSplicerSteps: with a small Step, a move goes through many splices
// and still moves every byte, in order.
func TestSplicerSteps(t *testing.T) {
	w, src, dst, r := pipeline(t)
	data := make([]byte, 1<<20+777)
	rand.Read(data)
	go func() { w.Write(data); w.CloseWrite() }()
	got := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); got <- b }()
	sp, err := New(dst, src)
	if err != nil {
		t.Fatal(err)
	}
	sp.Step = 4 << 10
	drains := 0
	sp.ArmRead = func() { drains++ }
	if n, err := sp.Move(1 << 30); n != int64(len(data)) || err != nil {
		t.Fatalf("Move = %d, %v; want %d, nil", n, err, len(data))
	}
	dst.CloseWrite()
	if b := <-got; !bytes.Equal(b, data) {
		t.Errorf("received %d bytes, not the %d sent", len(b), len(data))
	}
	if drains < len(data)/(4<<10) {
		t.Errorf("%d splices from src for %d bytes in 4 KiB steps", drains, len(data))
	}
}
