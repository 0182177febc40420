package tcp

import (
	"bytes"
	"crypto/rand"
	"io"
	"syscall"
	"testing"
	"time"
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
	sp, err := newSplicer(dst, src)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := sp.move(1 << 20); n != 1<<20 || err != nil {
		t.Fatalf("move(1 MiB) = %d, %v", n, err)
	}
	if n, err := sp.move(1 << 30); n != int64(len(data))-1<<20 || err != nil {
		t.Fatalf("move to EOF = %d, %v; want %d, nil", n, err, len(data)-1<<20)
	}
	if n, err := sp.move(1 << 20); n != 0 || err != nil {
		t.Fatalf("move after EOF = %d, %v; want 0, nil", n, err)
	}
	dst.CloseWrite()
	if b := <-got; !bytes.Equal(b, data) {
		t.Errorf("received %d bytes, not the %d sent", len(b), len(data))
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
	n, err := copyIdle(dst, src, 0, 0, func(n int64) { counted += n })
	if err != nil || n != int64(len(data)) || counted != n {
		t.Fatalf("copyIdle = %d, %v (counted %d); want %d, nil", n, err, counted, len(data))
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
	sp, err := newSplicer(dst, src)
	if err != nil {
		t.Fatal(err)
	}
	dst.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	n, err := sp.move(64 << 20)
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
