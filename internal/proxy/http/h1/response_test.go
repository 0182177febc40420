package h1

import (
	"strings"
	"testing"
)

func TestParseResponseValid(t *testing.T) {
	type res struct {
		minor, status          int
		reason                 string
		cl                     int64
		chunked, close, noBody bool
		untilClose             bool
		upgrade                string
	}
	tests := []struct {
		name string
		in   string
		head bool
		want res
	}{
		{"200 with length", "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", false,
			res{1, 200, "OK", 12, false, false, false, false, ""}},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false,
			res{1, 200, "OK", -1, true, false, false, false, ""}},
		{"TE wins over CL", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", false,
			res{1, 200, "OK", -1, true, false, false, false, ""}},
		{"TE wins over a bad CL", "HTTP/1.1 200 OK\r\nContent-Length: x\r\nTransfer-Encoding: chunked\r\n\r\n", false,
			res{1, 200, "OK", -1, true, false, false, false, ""}},
		{"until close", "HTTP/1.1 200 OK\r\n\r\n", false,
			res{1, 200, "OK", -1, false, true, false, true, ""}},
		{"HTTP/1.0 closes", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false,
			res{0, 200, "OK", 1, false, true, false, false, ""}},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\n", false,
			res{0, 200, "OK", 1, false, false, false, false, ""}},
		{"Connection: close", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", false,
			res{1, 404, "Not Found", 0, false, true, false, false, ""}},
		{"204", "HTTP/1.1 204 No Content\r\n\r\n", false,
			res{1, 204, "No Content", -1, false, false, true, false, ""}},
		{"304 with length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", false,
			res{1, 304, "Not Modified", 10, false, false, true, false, ""}},
		{"100", "HTTP/1.1 100 Continue\r\n\r\n", false,
			res{1, 100, "Continue", -1, false, false, true, false, ""}},
		{"HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", true,
			res{1, 200, "OK", 100, false, false, true, false, ""}},
		{"HEAD chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true,
			res{1, 200, "OK", -1, true, false, true, false, ""}},
		{"101", "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", false,
			res{1, 101, "Switching Protocols", -1, false, false, true, false, "websocket"}},
		{"no reason", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", false,
			res{1, 200, "", 0, false, false, false, false, ""}},
		{"empty reason", "HTTP/1.1 599 \r\nContent-Length: 0\r\n\r\n", false,
			res{1, 599, "", 0, false, false, false, false, ""}},
		{"reason with spaces, tab, obs-text", "HTTP/1.1 500 a b\tc\xe9\r\nContent-Length: 0\r\n\r\n", false,
			res{1, 500, "a b\tc\xe9", 0, false, false, false, false, ""}},
		{"CL list", "HTTP/1.1 200 OK\r\nContent-Length: 3,3\r\n\r\n", false,
			res{1, 200, "OK", 3, false, false, false, false, ""}},
	}
	var r Response
	for _, tt := range tests {
		n, err := ParseResponse([]byte(tt.in), &r, tt.head)
		if err != nil || n != len(tt.in) {
			t.Errorf("%s: ParseResponse = %d, %v; want %d, nil", tt.name, n, err, len(tt.in))
			continue
		}
		got := res{r.Minor, r.Status, string(r.Reason), r.ContentLength, r.Chunked, r.Close,
			r.NoBody, r.BodyUntilClose(), string(r.Upgrade)}
		if got != tt.want {
			t.Errorf("%s: got %+v\nwant %+v", tt.name, got, tt.want)
		}
	}
}

func TestParseResponseFields(t *testing.T) {
	in := "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nConnection: X-Hop\r\nX-Hop: 1\r\n\r\n"
	var r Response
	if _, err := ParseResponse([]byte(in), &r, false); err != nil {
		t.Fatal(err)
	}
	if got := string(r.Header("SET-COOKIE")); got != "a=1" {
		t.Errorf("Header = %q, want a=1", got)
	}
	if !r.IsHopByHop([]byte("x-hop")) || !r.IsHopByHop([]byte("Keep-Alive")) || r.IsHopByHop([]byte("Set-Cookie")) {
		t.Errorf("IsHopByHop wrong")
	}
}

func TestParseResponseErrors(t *testing.T) {
	tests := []struct {
		name, in string
		status   int
	}{
		{"status 2 digits", "HTTP/1.1 20 OK\r\n\r\n", 400},
		{"status 4 digits", "HTTP/1.1 2000 OK\r\n\r\n", 400},
		{"status 099", "HTTP/1.1 099 OK\r\n\r\n", 400},
		{"status 600", "HTTP/1.1 600 OK\r\n\r\n", 400},
		{"status not digits", "HTTP/1.1 2x0 OK\r\n\r\n", 400},
		{"status missing", "HTTP/1.1\r\n\r\n", 400},
		{"two spaces", "HTTP/1.1  200 OK\r\n\r\n", 400},
		{"version HTTP/2", "HTTP/2 200 OK\r\n\r\n", 400},
		{"version HTTP/2.0", "HTTP/2.0 200 OK\r\n\r\n", 505},
		{"version garbage", "ICY 200 OK\r\n\r\n", 400},
		{"CTL in reason", "HTTP/1.1 200 O\x01K\r\n\r\n", 400},
		{"bare CR in reason", "HTTP/1.1 200 O\rK\r\n\r\n", 400},
		{"bare LF", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", 400},
		{"obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", 400},
		{"space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n", 400},
		{"NUL in value", "HTTP/1.1 200 OK\r\nX: \x00\r\n\r\n", 400},
		{"CL bad", "HTTP/1.1 200 OK\r\nContent-Length: 1a\r\n\r\n", 400},
		{"CL differ", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
		{"TE in HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"TE gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
		{"TE chunked, gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400},
		{"Connection not a token", "HTTP/1.1 200 OK\r\nConnection: a@b\r\n\r\n", 400},
		{"101 fields", "HTTP/1.1 200 OK\r\n" + strings.Repeat("X: y\r\n", 101) + "\r\n", 431},
	}
	var r Response
	for _, tt := range tests {
		n, err := ParseResponse([]byte(tt.in), &r, false)
		if got := statusOf(err); got != tt.status {
			t.Errorf("%s: ParseResponse(%q) = %d, %v; want status %d", tt.name, tt.in, n, err, tt.status)
		}
	}
}

func TestParseResponsePrefixes(t *testing.T) {
	in := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")
	var r Response
	for k := 0; k < len(in); k++ {
		if n, err := ParseResponse(in[:k], &r, false); err != ErrIncomplete {
			t.Errorf("ParseResponse(%q) = %d, %v; want ErrIncomplete", in[:k], n, err)
		}
	}
}
