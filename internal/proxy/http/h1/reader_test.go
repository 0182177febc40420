package h1

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"
)

// script is a reader that returns its pieces one per Read, then err (io.EOF
// when nil). A piece longer than the caller's buffer is split.
type script struct {
	pieces []string
	err    error
	reads  int
}

func (s *script) Read(p []byte) (int, error) {
	s.reads++
	if len(s.pieces) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		return 0, io.EOF
	}
	n := copy(p, s.pieces[0])
	if n < len(s.pieces[0]) {
		s.pieces[0] = s.pieces[0][n:]
	} else {
		s.pieces = s.pieces[1:]
	}
	return n, nil
}

func TestReaderOneByteAtATime(t *testing.T) {
	all := strings.Join(validRequests, "")
	r := NewReader(iotest.OneByteReader(strings.NewReader(all)), 0)
	var req Request
	for i, in := range validRequests {
		if err := r.ReadRequest(&req); err != nil {
			t.Fatalf("request %d: ReadRequest = %v", i, err)
		}
		var want Request
		if _, err := ParseRequest([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		if string(req.Method) != string(want.Method) || string(req.Target) != string(want.Target) ||
			len(req.Headers) != len(want.Headers) || string(req.Host) != string(want.Host) {
			t.Errorf("request %d: got %s %s (%d fields), want %s %s (%d fields)", i,
				req.Method, req.Target, len(req.Headers), want.Method, want.Target, len(want.Headers))
		}
	}
	if err := r.ReadRequest(&req); err != io.EOF {
		t.Errorf("ReadRequest at the end = %v, want io.EOF", err)
	}
}

func TestReaderPipelined(t *testing.T) {
	in := "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello" +
		"GET /b HTTP/1.1\r\nHost: a\r\n\r\n" +
		"GET /c HTTP/1.1\r\nHost: a\r\n\r\n"
	s := &script{pieces: []string{in}}
	r := NewReader(s, 0)
	var req Request
	if err := r.ReadRequest(&req); err != nil || string(req.Target) != "/a" {
		t.Fatalf("ReadRequest = %v, %s", err, req.Target)
	}
	var body bytes.Buffer
	if n, err := CopyBody(&body, r, req.ContentLength, req.Chunked, false, make([]byte, 64)); err != nil || n != 5 || body.String() != "hello" {
		t.Fatalf("CopyBody = %d, %v, %q", n, err, body.String())
	}
	for _, want := range []string{"/b", "/c"} {
		if err := r.ReadRequest(&req); err != nil || string(req.Target) != want {
			t.Fatalf("ReadRequest = %v, %s; want %s", err, req.Target, want)
		}
	}
	if err := r.ReadRequest(&req); err != io.EOF {
		t.Errorf("ReadRequest = %v, want io.EOF", err)
	}
	if s.reads != 2 {
		t.Errorf("source reads = %d, want 2 (all three requests from one read)", s.reads)
	}
}

func TestReaderBodyBytesFirst(t *testing.T) {
	s := &script{pieces: []string{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nabc", "def"}}
	r := NewReader(s, 0)
	var req Request
	if err := r.ReadRequest(&req); err != nil {
		t.Fatal(err)
	}
	if r.Buffered() != 3 {
		t.Errorf("Buffered = %d, want 3", r.Buffered())
	}
	p := make([]byte, 10)
	for _, want := range []string{"abc", "def"} {
		n, err := r.Read(p)
		if err != nil || string(p[:n]) != want {
			t.Errorf("Read = %q, %v; want %q", p[:n], err, want)
		}
	}
	if n, err := r.Read(p); n != 0 || err != io.EOF {
		t.Errorf("Read = %d, %v; want io.EOF", n, err)
	}
}

func TestReaderRelease(t *testing.T) {
	s := &script{pieces: []string{"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n", "GET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\n"}}
	r := NewReader(s, 0)
	if r.buf != nil {
		t.Fatal("NewReader took a buffer before the first read")
	}
	var req Request
	if err := r.ReadRequest(&req); err != nil {
		t.Fatal(err)
	}
	r.Release()
	if r.buf != nil {
		t.Fatal("Release kept the buffer of an idle connection")
	}
	if err := r.ReadRequest(&req); err != nil || string(req.Target) != "/2" {
		t.Fatalf("ReadRequest after Release = %v, %s", err, req.Target)
	}
	r.Release() // /3 is buffered: the buffer must stay
	if r.buf == nil || r.Buffered() == 0 {
		t.Fatal("Release dropped pipelined bytes")
	}
	if err := r.ReadRequest(&req); err != nil || string(req.Target) != "/3" {
		t.Fatalf("ReadRequest = %v, %s", err, req.Target)
	}
	r.Release()
	if err := r.ReadRequest(&req); err != io.EOF {
		t.Errorf("ReadRequest = %v, want io.EOF", err)
	}
}

func TestReaderTooLarge(t *testing.T) {
	tests := []struct {
		name, in string
		status   int
	}{
		{"head", "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("y", 60) + "\r\n\r\n", 431},
		{"target", "GET /" + strings.Repeat("y", 100) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414},
		{"target after empty line", "\r\nGET /" + strings.Repeat("y", 100) + " HTTP/1.1\r\n\r\n", 414},
		{"fits exactly", "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("y", 64-32) + "\r\n\r\n", 0},
	}
	for _, tt := range tests {
		r := NewReader(iotest.HalfReader(strings.NewReader(tt.in)), 64)
		var req Request
		if err := r.ReadRequest(&req); statusOf(err) != tt.status {
			t.Errorf("%s: ReadRequest = %v, want status %d", tt.name, err, tt.status)
		}
	}
	r := NewReader(strings.NewReader("HTTP/1.1 200 "+strings.Repeat("y", 100)+"\r\n\r\n"), 64)
	var resp Response
	if err := r.ReadResponse(&resp, false); statusOf(err) != 431 {
		t.Errorf("ReadResponse = %v, want 431", err)
	}
}

func TestReaderEnds(t *testing.T) {
	timeout := os.ErrDeadlineExceeded
	tests := []struct {
		name     string
		src      io.Reader
		want     error
		buffered int
	}{
		{"nothing", strings.NewReader(""), io.EOF, 0},
		{"empty lines", strings.NewReader("\r\n\r\n"), io.EOF, 0},
		{"partial head", strings.NewReader("GET / HTTP/1.1\r\nHo"), io.ErrUnexpectedEOF, 18},
		{"half empty line", strings.NewReader("\r"), io.ErrUnexpectedEOF, 1},
		{"timeout", &script{pieces: []string{"GET /"}, err: timeout}, timeout, 5},
		{"stall", stall{}, io.ErrNoProgress, 0},
	}
	for _, tt := range tests {
		r := NewReader(tt.src, 0)
		var req Request
		if err := r.ReadRequest(&req); !errors.Is(err, tt.want) {
			t.Errorf("%s: ReadRequest = %v, want %v", tt.name, err, tt.want)
		}
		if r.Buffered() != tt.buffered {
			t.Errorf("%s: Buffered = %d, want %d", tt.name, r.Buffered(), tt.buffered)
		}
	}
}

// stall returns (0, nil) forever.
type stall struct{}

func (stall) Read([]byte) (int, error) { return 0, nil }

// dataErr returns all its data and an error in one call.
type dataErr struct {
	data string
	err  error
	done bool
}

func (d *dataErr) Read(p []byte) (int, error) {
	if d.done {
		return 0, errors.New("read after the error")
	}
	d.done = true
	return copy(p, d.data), d.err
}

func TestReaderDataWithError(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(&dataErr{data: "GET / HTTP/1.1\r\nHost: a\r\n\r\nxy", err: boom}, 0)
	var req Request
	if err := r.ReadRequest(&req); err != nil {
		t.Fatalf("ReadRequest = %v", err)
	}
	p := make([]byte, 8)
	if n, err := r.Read(p); n != 2 || err != nil {
		t.Errorf("Read = %d, %v; want 2, nil", n, err)
	}
	if _, err := r.Read(p); err != boom {
		t.Errorf("Read = %v, want the held error", err)
	}
}

func TestReaderResponseAndWriteTo(t *testing.T) {
	s := &script{pieces: []string{"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\nframe1", "frame2"}}
	r := NewReader(s, 0)
	var resp Response
	if err := r.ReadResponse(&resp, false); err != nil || resp.Status != 101 || string(resp.Upgrade) != "websocket" {
		t.Fatalf("ReadResponse = %v, %d %q", err, resp.Status, resp.Upgrade)
	}
	var out bytes.Buffer
	if n, err := r.WriteTo(&out); err != nil || n != 12 || out.String() != "frame1frame2" {
		t.Errorf("WriteTo = %d, %v, %q", n, err, out.String())
	}
}

func TestReaderReset(t *testing.T) {
	r := NewReader(strings.NewReader("GET / HTTP/1.1\r\nHost: a\r\n\r\njunk"), 0)
	var req Request
	if err := r.ReadRequest(&req); err != nil {
		t.Fatal(err)
	}
	r.Reset(strings.NewReader("GET /new HTTP/1.1\r\nHost: a\r\n\r\n"))
	if r.Buffered() != 0 {
		t.Errorf("Buffered after Reset = %d", r.Buffered())
	}
	if err := r.ReadRequest(&req); err != nil || string(req.Target) != "/new" {
		t.Errorf("ReadRequest = %v, %s", err, req.Target)
	}
}

// loop returns the same bytes forever, in reads of whole copies.
type loop struct{ data []byte }

func (l *loop) Read(p []byte) (int, error) {
	n := len(p) / len(l.data) * len(l.data)
	if n == 0 {
		return copy(p, l.data), nil
	}
	for i := 0; i < n; i += len(l.data) {
		copy(p[i:], l.data)
	}
	return n, nil
}

func TestReaderNoAllocs(t *testing.T) {
	r := NewReader(&loop{data: []byte(browserRequest)}, 0)
	var req Request
	r.ReadRequest(&req)
	allocs := testing.AllocsPerRun(1000, func() {
		if err := r.ReadRequest(&req); err != nil {
			t.Fatal(err)
		}
		r.Release()
	})
	if allocs != 0 {
		t.Errorf("ReadRequest allocates %.1f times per request, want 0", allocs)
	}
}
