package h1

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/fulcrum-lb/fulcrum/internal/testnet"
)

// readers returns the ways a test feeds src: whole, one byte at a time, and
// in halves.
func readers(src string) map[string]io.Reader {
	return map[string]io.Reader{
		"whole":   strings.NewReader(src),
		"onebyte": iotest.OneByteReader(strings.NewReader(src)),
		"half":    iotest.HalfReader(strings.NewReader(src)),
	}
}

func TestCopyBodyLength(t *testing.T) {
	in := "hello worldGET /next HTTP/1.1\r\nHost: a\r\n\r\n"
	for how, src := range readers(in) {
		r := NewReader(src, 64)
		var out bytes.Buffer
		n, err := CopyBody(&out, r, 11, false, false, make([]byte, 64))
		if err != nil || n != 11 || out.String() != "hello world" {
			t.Errorf("%s: CopyBody = %d, %v, %q", how, n, err, out.String())
		}
		var req Request
		if err := r.ReadRequest(&req); err != nil || string(req.Target) != "/next" {
			t.Errorf("%s: next ReadRequest = %v, %q", how, err, req.Target)
		}
	}
}

func TestCopyBodyLengthAfterHead(t *testing.T) {
	r := NewReader(&script{pieces: []string{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n01234", "56789"}}, 0)
	var req Request
	if err := r.ReadRequest(&req); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if n, err := CopyBody(&out, r, req.ContentLength, false, false, nil); err != nil || n != 10 || out.String() != "0123456789" {
		t.Errorf("CopyBody = %d, %v, %q", n, err, out.String())
	}
}

func TestCopyBodyEnds(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		length     int64
		untilClose bool
		n          int64
		err        error
	}{
		{"length truncated", "hello", 10, false, 5, io.ErrUnexpectedEOF},
		{"length zero", "hello", 0, false, 0, nil},
		{"until close", "hello world", -1, true, 11, nil},
		{"until close empty", "", -1, true, 0, nil},
		{"no body", "hello", -1, false, 0, nil},
	}
	for _, tt := range tests {
		r := NewReader(strings.NewReader(tt.in), 0)
		var out bytes.Buffer
		n, err := CopyBody(&out, r, tt.length, false, tt.untilClose, make([]byte, 64))
		if n != tt.n || err != tt.err || int64(out.Len()) != tt.n {
			t.Errorf("%s: CopyBody = %d, %v (wrote %d); want %d, %v", tt.name, n, err, out.Len(), tt.n, tt.err)
		}
	}
}

func TestCopyBodyChunked(t *testing.T) {
	const next = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n"
	tests := []struct {
		name, in, out string
		n             int64
	}{
		{"simple", "5\r\nhello\r\n0\r\n\r\n", "5\r\nhello\r\n0\r\n\r\n", 5},
		{"empty body", "0\r\n\r\n", "0\r\n\r\n", 0},
		{"several chunks", "1\r\na\r\n2\r\nbc\r\n3\r\ndef\r\n0\r\n\r\n", "1\r\na\r\n2\r\nbc\r\n3\r\ndef\r\n0\r\n\r\n", 6},
		{"upper-case hex, leading zeros", "000A\r\n0123456789\r\n00\r\n\r\n", "a\r\n0123456789\r\n0\r\n\r\n", 10},
		{"16 digits", "0000000000000003\r\nabc\r\n0\r\n\r\n", "3\r\nabc\r\n0\r\n\r\n", 3},
		{"data with CR and LF", "4\r\n\r\n\r\n\r\n0\r\n\r\n", "4\r\n\r\n\r\n\r\n0\r\n\r\n", 4},
		{"extensions dropped", "5;a=b;c=\"d;e\\\"\"\r\nhello\r\n0;last\r\n\r\n", "5\r\nhello\r\n0\r\n\r\n", 5},
		{"extension whitespace", "5;a = b ;\tc\r\nhello\r\n0\r\n\r\n", "5\r\nhello\r\n0\r\n\r\n", 5},
		{"trailers", "3\r\nabc\r\n0\r\nX-Sum: 1\r\nexpires:  x \t\r\n\r\n", "3\r\nabc\r\n0\r\nX-Sum: 1\r\nexpires: x\r\n\r\n", 3},
		{"framing trailers dropped", "0\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nHost: b\r\nConnection: x\r\nX: y\r\n\r\n", "0\r\nX: y\r\n\r\n", 0},
		{"long chunk", "12c\r\n" + strings.Repeat("z", 300) + "\r\n0\r\n\r\n", "12c\r\n" + strings.Repeat("z", 300) + "\r\n0\r\n\r\n", 300},
		{"long trailer", "0\r\nX-Long: " + strings.Repeat("v", 40) + "\r\n\r\n", "0\r\nX-Long: " + strings.Repeat("v", 40) + "\r\n\r\n", 0},
	}
	for _, tt := range tests {
		for how, src := range readers(tt.in + next) {
			for _, bufSize := range []int{64, 4096} {
				r := NewReader(src, 64)
				var out bytes.Buffer
				n, err := CopyBody(&out, r, -1, true, false, make([]byte, bufSize))
				if err != nil || n != tt.n || out.String() != tt.out {
					t.Errorf("%s/%s/%d: CopyBody = %d, %v, %q; want %d, %q", tt.name, how, bufSize, n, err, out.String(), tt.n, tt.out)
					break
				}
				var req Request
				if err := r.ReadRequest(&req); err != nil || string(req.Target) != "/next" {
					t.Errorf("%s/%s/%d: next ReadRequest = %v, %q", tt.name, how, bufSize, err, req.Target)
				}
				src = readers(tt.in + next)[how]
			}
		}
	}
}

func TestCopyBodyChunkedErrors(t *testing.T) {
	eof := io.ErrUnexpectedEOF
	tests := []struct {
		name, in string
		status   int   // for an *Error
		err      error // otherwise
	}{
		{"0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", 400, nil},
		{"negative", "-1\r\nx\r\n0\r\n\r\n", 400, nil},
		{"plus", "+5\r\nhello\r\n0\r\n\r\n", 400, nil},
		{"trailing space", "5 \r\nhello\r\n0\r\n\r\n", 400, nil},
		{"trailing tab", "5\t\r\nhello\r\n0\r\n\r\n", 400, nil},
		{"leading space", " 5\r\nhello\r\n0\r\n\r\n", 400, nil},
		{"space before extension", "5 ;a\r\nhello\r\n0\r\n\r\n", 400, nil},
		{"empty size", "\r\nhello\r\n0\r\n\r\n", 400, nil},
		{"not hex", "g\r\n", 400, nil},
		{"17 digits", "00000000000000005\r\nhello\r\n0\r\n\r\n", 400, nil},
		{"over 2^62", "4000000000000001\r\n", 400, nil},
		{"64-bit overflow", "FFFFFFFFFFFFFFFF\r\nx\r\n0\r\n\r\n", 400, nil},
		{"huge", "ffffffffffffffffffffffff\r\n", 400, nil},
		{"bare LF after size", "5\nhello\r\n0\r\n\r\n", 400, nil},
		{"bare CR in size line", "5\rhello\r\n0\r\n\r\n", 400, nil},
		{"data too long", "5\r\nhelloX\r\n0\r\n\r\n", 400, nil},
		{"data too short", "5\r\nhell\r\n0\r\n\r\n", 400, nil},
		{"LF after data", "5\r\nhello\n0\r\n\r\n", 400, nil},
		{"CR after data", "5\r\nhello\r0\r\n\r\n", 400, nil},
		{"empty extension", "5;\r\nhello\r\n0\r\n\r\n", 400, nil},
		{"extension without value", "5;a=\r\nhello\r\n0\r\n\r\n", 400, nil},
		{"extension unterminated quote", "5;a=\"x\r\nhello\r\n0\r\n\r\n", 400, nil},
		{"extension with space", "5;a b\r\nhello\r\n0\r\n\r\n", 400, nil},
		{"extension with NUL", "5;a\x00\r\nhello\r\n0\r\n\r\n", 400, nil},
		{"extension trailing space", "5;a \r\nhello\r\n0\r\n\r\n", 400, nil},
		{"bare LF ending", "0\r\n\n", 400, nil},
		{"trailer space before colon", "0\r\nX : y\r\n\r\n", 400, nil},
		{"trailer obs-fold", "0\r\nX: y\r\n z\r\n\r\n", 400, nil},
		{"trailer NUL", "0\r\nX: \x00\r\n\r\n", 400, nil},
		{"trailer no colon", "0\r\nX\r\n\r\n", 400, nil},
		{"trailer bare LF", "0\r\nX: y\n\r\n", 400, nil},
		{"trailer bare CR", "0\r\nX: y\rz\r\n\r\n", 400, nil},
		{"101 trailers", "0\r\n" + strings.Repeat("X: y\r\n", 101) + "\r\n", 431, nil},
		{"size line too long", "5;a=" + strings.Repeat("b", 200) + "\r\nhello\r\n0\r\n\r\n", 400, nil},
		{"nothing", "", 0, eof},
		{"size only", "5", 0, eof},
		{"in size line", "5\r", 0, eof},
		{"in data", "5\r\nhel", 0, eof},
		{"after data", "5\r\nhello", 0, eof},
		{"half CRLF after data", "5\r\nhello\r", 0, eof},
		{"no last chunk", "5\r\nhello\r\n", 0, eof},
		{"no final CRLF", "5\r\nhello\r\n0\r\n", 0, eof},
		{"in trailers", "5\r\nhello\r\n0\r\nX: y\r\n", 0, eof},
		{"long chunk cut", "12c\r\n" + strings.Repeat("z", 200), 0, eof},
	}
	for _, tt := range tests {
		for how, src := range readers(tt.in) {
			r := NewReader(src, 64)
			_, err := CopyBody(io.Discard, r, -1, true, false, make([]byte, 64))
			if tt.err != nil {
				if err != tt.err {
					t.Errorf("%s/%s: CopyBody = %v, want %v", tt.name, how, err, tt.err)
				}
			} else if statusOf(err) != tt.status {
				t.Errorf("%s/%s: CopyBody = %v, want status %d", tt.name, how, err, tt.status)
			}
		}
	}
}

// recorder records each Write separately.
type recorder struct{ writes []string }

func (w *recorder) Write(p []byte) (int, error) {
	w.writes = append(w.writes, string(p))
	return len(p), nil
}

func TestCopyBodyWritesThrough(t *testing.T) {
	tests := []struct {
		name       string
		pieces     []string
		length     int64
		chunked    bool
		untilClose bool
		writes     []string
	}{
		{"chunked", []string{"5\r\nhel", "lo\r\n3\r\nabc\r\n", "0\r\n", "\r\n"}, -1, true, false,
			[]string{"5\r\nhel", "lo\r\n3\r\nabc\r\n", "0\r\n", "\r\n"}},
		{"chunked events", []string{"7;x\r\ndata: 1\r\n", "7\r\ndata: 2\r\n", "0\r\n\r\n"}, -1, true, false,
			[]string{"7\r\ndata: 1\r\n", "7\r\ndata: 2\r\n", "0\r\n\r\n"}},
		{"chunked split size line", []string{"1", "0\r\n0123456789abcdef\r\n0\r\n\r\n"}, -1, true, false,
			[]string{"10\r\n0123456789abcdef\r\n0\r\n\r\n"}},
		{"length", []string{"abc", "de", "f"}, 6, false, false, []string{"abc", "de", "f"}},
		{"until close", []string{"data: 1\n\n", "data: 2\n\n"}, -1, false, true, []string{"data: 1\n\n", "data: 2\n\n"}},
	}
	for _, tt := range tests {
		r := NewReader(&script{pieces: tt.pieces}, 0)
		var w recorder
		if _, err := CopyBody(&w, r, tt.length, tt.chunked, tt.untilClose, make([]byte, 4096)); err != nil {
			t.Errorf("%s: CopyBody = %v", tt.name, err)
		}
		if strings.Join(w.writes, "|") != strings.Join(tt.writes, "|") {
			t.Errorf("%s: writes %q, want %q", tt.name, w.writes, tt.writes)
		}
	}
}

// failWriter fails every write.
type failWriter struct{}

var errWrite = errors.New("write failed")

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestCopyBodyWriteError(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		r := NewReader(strings.NewReader("5\r\nhello\r\n0\r\n\r\n"), 0)
		if _, err := CopyBody(failWriter{}, r, 16, chunked, false, nil); err != errWrite {
			t.Errorf("chunked=%v: CopyBody = %v, want the write error", chunked, err)
		}
	}
}

func TestCopyBodySplice(t *testing.T) {
	for _, untilClose := range []bool{false, true} {
		inW, inR := testnet.TCPPair(t)
		outW, outR := testnet.TCPPair(t)
		body := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
		head := "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048576\r\n\r\n"
		go func() {
			inW.Write([]byte(head))
			inW.Write(body)
			if untilClose {
				inW.Close()
			} else {
				inW.Write([]byte("GET /next HTTP/1.1\r\nHost: a\r\n\r\n"))
			}
		}()
		got := make(chan []byte, 1)
		go func() {
			b, _ := io.ReadAll(outR)
			got <- b
		}()
		r := NewReader(inR, 0)
		var req Request
		if err := r.ReadRequest(&req); err != nil {
			t.Fatal(err)
		}
		length := req.ContentLength
		if untilClose {
			length = -1
		}
		n, err := CopyBody(outW, r, length, false, untilClose, make([]byte, 4096))
		if err != nil || n != int64(len(body)) {
			t.Errorf("untilClose=%v: CopyBody = %d, %v", untilClose, n, err)
		}
		outW.Close()
		if b := <-got; !bytes.Equal(b, body) {
			t.Errorf("untilClose=%v: received %d bytes, not the body", untilClose, len(b))
		}
		if !untilClose {
			if err := r.ReadRequest(&req); err != nil || string(req.Target) != "/next" {
				t.Errorf("next ReadRequest = %v, %q", err, req.Target)
			}
		}
	}
}

func TestCopyBodyNoAllocs(t *testing.T) {
	in := []byte("5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\nX: y\r\n\r\n")
	src := bytes.NewReader(in)
	r := NewReader(src, 0)
	buf := make([]byte, 4096)
	allocs := testing.AllocsPerRun(1000, func() {
		src.Reset(in)
		r.Reset(src)
		if _, err := CopyBody(io.Discard, r, -1, true, false, buf); err != nil {
			t.Fatal(err)
		}
		src.Reset(in)
		r.Reset(src)
		if _, err := CopyBody(io.Discard, r, int64(len(in)), false, false, buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("CopyBody allocates %.1f times, want 0", allocs)
	}
}

func TestCopyBodyTrailerLongerThanBuffer(t *testing.T) {
	in := "0\r\nX-Long:" + strings.Repeat("v", 100) + "\r\n\r\n"
	want := "0\r\nX-Long: " + strings.Repeat("v", 100) + "\r\n\r\n"
	r := NewReader(strings.NewReader(in), 256)
	var out bytes.Buffer
	if _, err := CopyBody(&out, r, -1, true, false, make([]byte, 64)); err != nil || out.String() != want {
		t.Errorf("CopyBody = %v, %q", err, out.String())
	}
}

func TestCopyBodyKeepsHead(t *testing.T) {
	// A chunked body read through the buffer must not overwrite the head:
	// the caller still reads the method (is it HEAD?) after the body.
	var body strings.Builder
	for range 50 {
		body.WriteString("8;HEAD\r\nHEAD HEA\r\n")
	}
	body.WriteString("0\r\nX-Trailer: HEAD HEAD HEAD HEAD\r\n\r\n")
	in := "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + body.String()
	for how, src := range readers(in) {
		r := NewReader(src, 64)
		var req Request
		if err := r.ReadRequest(&req); err != nil {
			t.Fatal(err)
		}
		if _, err := CopyBody(io.Discard, r, -1, true, false, make([]byte, 64)); err != nil {
			t.Fatalf("%s: CopyBody = %v", how, err)
		}
		if string(req.Method) != "POST" || string(req.Target) != "/p" || string(req.Host) != "h" ||
			string(req.Headers[1].Name) != "Transfer-Encoding" {
			t.Errorf("%s: head overwritten: %q %q %q %q", how, req.Method, req.Target, req.Host, req.Headers[1].Name)
		}
	}
}
