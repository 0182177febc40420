package h1

import (
	"bytes"
	"errors"
	"io"
	"net/http/httputil"
	"strings"
	"testing"
)

func FuzzParseRequest(f *testing.F) {
	for _, s := range validRequests {
		f.Add([]byte(s))
	}
	f.Add([]byte(browserRequest))
	f.Add([]byte("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"))
	f.Add([]byte("GET http://a:80/x HTTP/1.1\r\nHost: a:80\r\nConnection: close, x\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Request
		n, err := ParseRequest(b, &r)
		if err != nil {
			var he *Error
			if err != ErrIncomplete && !errors.As(err, &he) {
				t.Fatalf("error %v is neither ErrIncomplete nor *Error", err)
			}
			return
		}
		checkParsedRequest(t, b, n, &r)
	})
}

func checkParsedRequest(t *testing.T, b []byte, n int, r *Request) {
	if n <= 0 || n > len(b) {
		t.Fatalf("length %d of %d bytes", n, len(b))
	}
	switch {
	case r.Minor != 0 && r.Minor != 1:
		t.Fatalf("Minor = %d", r.Minor)
	case r.Minor == 1 && r.Host == nil:
		t.Fatalf("HTTP/1.1 without Host")
	case r.Chunked && r.ContentLength >= 0:
		t.Fatalf("both chunked and Content-Length %d", r.ContentLength)
	case r.Chunked && r.Minor == 0:
		t.Fatalf("chunked HTTP/1.0")
	case len(r.Path) == 0 || r.Path[0] != '/' && string(r.Path) != "*":
		t.Fatalf("Path %q", r.Path)
	case len(r.Headers) > maxFields:
		t.Fatalf("%d fields", len(r.Headers))
	}
	for _, h := range r.Headers {
		if !ValidFieldName(h.Name) || !ValidFieldValue(h.Value) {
			t.Fatalf("invalid field %q: %q", h.Name, h.Value)
		}
	}
	// The head alone parses the same, and every prefix of it is incomplete.
	var again Request
	if m, err := ParseRequest(b[:n], &again); err != nil || m != n {
		t.Fatalf("head alone: %d, %v; want %d", m, err, n)
	}
	if n <= 512 {
		for k := 0; k < n; k++ {
			if _, err := ParseRequest(b[:k], &again); err != ErrIncomplete {
				t.Fatalf("prefix %q: %v, want ErrIncomplete", b[:k], err)
			}
		}
	}
	// A head rebuilt from the parsed one parses to the same request.
	head := append([]byte(nil), r.Method...)
	head = append(head, ' ')
	head = append(head, r.Target...)
	head = append(head, " HTTP/1."...)
	head = append(head, byte('0'+r.Minor), '\r', '\n')
	for _, h := range r.Headers {
		head = AppendHeader(head, h.Name, h.Value)
	}
	head = append(head, '\r', '\n')
	if m, err := ParseRequest(head, &again); err != nil || m != len(head) {
		t.Fatalf("rebuilt head %q: %d, %v", head, m, err)
	}
	if string(again.Host) != string(r.Host) || again.ContentLength != r.ContentLength ||
		again.Chunked != r.Chunked || again.Close != r.Close || string(again.Upgrade) != string(r.Upgrade) ||
		again.Expect100 != r.Expect100 || len(again.Headers) != len(r.Headers) {
		t.Fatalf("rebuilt head %q parses differently", head)
	}
}

func FuzzParseResponse(f *testing.F) {
	f.Add([]byte(backendResponse), false)
	f.Add([]byte("HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"), true)
	f.Add([]byte("HTTP/1.0 200\r\n\r\n"), false)
	f.Fuzz(func(t *testing.T, b []byte, head bool) {
		var r Response
		n, err := ParseResponse(b, &r, head)
		if err != nil {
			var he *Error
			if err != ErrIncomplete && !errors.As(err, &he) {
				t.Fatalf("error %v is neither ErrIncomplete nor *Error", err)
			}
			return
		}
		switch {
		case n <= 0 || n > len(b):
			t.Fatalf("length %d of %d bytes", n, len(b))
		case r.Status < 100 || r.Status > 599:
			t.Fatalf("status %d", r.Status)
		case r.Chunked && r.ContentLength >= 0:
			t.Fatalf("both chunked and Content-Length")
		case r.BodyUntilClose() && !r.Close:
			t.Fatalf("body until close on a kept connection")
		case head && !r.NoBody:
			t.Fatalf("HEAD response with a body")
		}
	})
}

// chunkedSeeds are chunked bodies for FuzzChunked.
var chunkedSeeds = []string{
	"5\r\nhello\r\n0\r\n\r\n",
	"000A;a=b;c=\"d\\\"\"\r\n0123456789\r\n0;x\r\nX-Sum: 1\r\nHost: b\r\n\r\n",
	"1\r\n\r\r\n0\r\n\r\n",
	"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nGET / HTTP/1.1\r\n",
}

func FuzzChunked(f *testing.F) {
	for _, s := range chunkedSeeds {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, b []byte, split uint8) {
		out, n, err := decodeChunked(b, int(split))
		if err != nil {
			return
		}
		// The normal form is a fixed point, and carries the same payload.
		out2, n2, err := decodeChunked(out, 0)
		if err != nil || n2 != n || !bytes.Equal(out2, out) {
			t.Fatalf("re-decoding %q: %q, %d, %v; want %d", out, out2, n2, err, n)
		}
		payload, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(out)))
		if err != nil || int64(len(payload)) != n {
			t.Fatalf("stdlib decoding of %q: %d bytes, %v; want %d", out, len(payload), err, n)
		}
		// Where the standard library takes the original too, it reads the same payload.
		if orig, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(b))); err == nil && !bytes.Equal(orig, payload) {
			t.Fatalf("payload %q, stdlib read %q from %q", payload, orig, b)
		}
	})
}

// decodeChunked runs CopyBody over a chunked body fed in reads of split+1
// bytes (whole when split is 0), with a small buffer to exercise refills.
func decodeChunked(b []byte, split int) ([]byte, int64, error) {
	var src io.Reader = bytes.NewReader(b)
	if split > 0 {
		src = &pieces{b: b, n: split}
	}
	r := NewReader(src, 128)
	var out bytes.Buffer
	n, err := CopyBody(&out, r, -1, true, false, make([]byte, 64+split))
	if err == nil && n != payloadLen(out.String()) {
		return nil, 0, errors.New("count differs from the payload written")
	}
	return out.Bytes(), n, err
}

// pieces reads b n bytes at a time.
type pieces struct {
	b []byte
	n int
}

func (p *pieces) Read(q []byte) (int, error) {
	if len(p.b) == 0 {
		return 0, io.EOF
	}
	k := copy(q[:min(len(q), p.n)], p.b)
	p.b = p.b[k:]
	return k, nil
}

// payloadLen sums the chunk sizes of a normal chunked encoding, or -1.
func payloadLen(s string) int64 {
	var total int64
	for {
		line, rest, ok := strings.Cut(s, "\r\n")
		if !ok {
			return -1
		}
		var size int64
		for _, c := range []byte(line) {
			size = size<<4 | int64(unhex[c])
		}
		if size == 0 {
			return total
		}
		total += size
		s = rest[size+2:]
	}
}
