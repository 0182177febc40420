package h1

import (
	"io"
	"strings"
	"testing"
)

// TestSmuggling feeds whole messages, head and body, through a Reader and
// CopyBody, as the proxy does. A message is either refused with the given
// status (from the head or from its body), or framed exactly one way: then
// the bytes after it must be the next request, "/next".
func TestSmuggling(t *testing.T) {
	const next = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n"
	const post = "POST / HTTP/1.1\r\nHost: a\r\n"
	tests := []struct {
		name, in string
		status   int // 0: accepted, and next follows
	}{
		{"CL+TE", post + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX", 400},
		{"TE+CL", post + "Transfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n0\r\n\r\nX", 400},
		{"TE chunked, identity", post + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 400},
		{"TE space before colon", post + "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400},
		{"TE tab is OWS", post + "Transfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n" + next, 0},
		{"TE xchunked", post + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 501},
		{"TE obs-fold", post + "Transfer-Encoding: x\r\n chunked\r\n\r\n0\r\n\r\n", 400},
		{"TE vertical tab", post + "Transfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n", 400},
		{"TE HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"CL list", post + "Content-Length: 1, 2\r\n\r\nab", 400},
		{"CL duplicate differing", post + "Content-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400},
		{"CL duplicate same", post + "Content-Length: 2\r\nContent-Length: 2\r\n\r\nab" + next, 0},
		{"CL bare LF", "POST / HTTP/1.1\nHost: a\nContent-Length: 2\n\nab", 400},
		{"bare LF after CL", post + "Content-Length: 2\n\r\nab", 400},
		{"NUL in value", post + "X: a\x00\r\nContent-Length: 0\r\n\r\n", 400},
		{"chunk size 0x5", post + "Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", 400},
		{"chunk size -1", post + "Transfer-Encoding: chunked\r\n\r\n-1\r\n\r\n", 400},
		{"chunk size with space", post + "Transfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n", 400},
		{"chunk size huge", post + "Transfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n", 400},
		{"chunk size wraps 64 bits", post + "Transfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\nhello\r\n0\r\n\r\n", 400},
		{"chunk data without CRLF", post + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello0\r\n\r\n", 400},
		{"chunk bare LF", post + "Transfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n", 400},
		{"chunk extension bare LF", post + "Transfer-Encoding: chunked\r\n\r\n5;a\nb\r\nhello\r\n0\r\n\r\n", 400},
		{"chunked then next", post + "Transfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\n\r\n" + next, 0},
		{"chunked trailer TE dropped", post + "Transfer-Encoding: chunked\r\n\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n" + next, 0},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"absolute-form Host mismatch", "GET http://b/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	}
	for _, tt := range tests {
		r := NewReader(strings.NewReader(tt.in), 0)
		var req Request
		err := r.ReadRequest(&req)
		if err == nil {
			_, err = CopyBody(io.Discard, r, req.ContentLength, req.Chunked, false, make([]byte, 4096))
		}
		if got := statusOf(err); got != tt.status {
			t.Errorf("%s: status %d (%v), want %d", tt.name, got, err, tt.status)
			continue
		}
		if tt.status != 0 {
			continue
		}
		if err := r.ReadRequest(&req); err != nil || string(req.Target) != "/next" {
			t.Errorf("%s: the next request is %q (%v), want /next", tt.name, req.Target, err)
		}
		if err := r.ReadRequest(&req); err != io.EOF {
			t.Errorf("%s: after /next: %v, want io.EOF", tt.name, err)
		}
	}
}
