package h1

import (
	"errors"
	"strings"
	"testing"
)

// statusOf returns the Status of an *Error, 0 for nil, -1 for ErrIncomplete
// and -2 for any other error.
func statusOf(err error) int {
	var he *Error
	switch {
	case err == nil:
		return 0
	case err == ErrIncomplete:
		return -1
	case errors.As(err, &he):
		return he.Status
	}
	return -2
}

// want describes the expected result of parsing a valid request.
type want struct {
	method, target, path, authority, host string
	minor                                 int
	cl                                    int64
	chunked, close, expect100             bool
	upgrade                               string // "" for nil
	headers                               int
}

func checkRequest(t *testing.T, name string, r *Request, w want) {
	t.Helper()
	got := want{
		method: string(r.Method), target: string(r.Target), path: string(r.Path),
		authority: string(r.Authority), host: string(r.Host), minor: r.Minor,
		cl: r.ContentLength, chunked: r.Chunked, close: r.Close, expect100: r.Expect100,
		upgrade: string(r.Upgrade), headers: len(r.Headers),
	}
	if got != w {
		t.Errorf("%s: got %+v\nwant %+v", name, got, w)
	}
	if w.upgrade == "" && r.Upgrade != nil {
		t.Errorf("%s: Upgrade = %q, want nil", name, r.Upgrade)
	}
}

func TestParseRequestValid(t *testing.T) {
	get := want{method: "GET", target: "/", path: "/", host: "a", minor: 1, cl: -1, headers: 1}
	with := func(f func(*want)) want { w := get; f(&w); return w }
	tests := []struct {
		name string
		in   string
		want want
	}{
		{"origin-form", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", get},
		{"query", "GET /x/y?q=1&r=%20 HTTP/1.1\r\nHost: a\r\n\r\n",
			with(func(w *want) { w.target, w.path = "/x/y?q=1&r=%20", "/x/y?q=1&r=%20" })},
		{"extension method", "PROPFIND /d HTTP/1.1\r\nHost: a\r\n\r\n",
			with(func(w *want) { w.method, w.target, w.path = "PROPFIND", "/d", "/d" })},
		{"absolute-form", "GET http://a/p?q HTTP/1.1\r\nHost: a\r\n\r\n",
			with(func(w *want) { w.target, w.path, w.authority = "http://a/p?q", "/p?q", "a" })},
		{"absolute-form https, port, case", "GET HTTPS://Ex.com:8443 HTTP/1.1\r\nHost: ex.COM:8443\r\n\r\n",
			with(func(w *want) {
				w.target, w.path, w.authority, w.host = "HTTPS://Ex.com:8443", "/", "Ex.com:8443", "ex.COM:8443"
			})},
		{"absolute-form 1.0 without Host", "GET http://b:81/x HTTP/1.0\r\n\r\n",
			want{method: "GET", target: "http://b:81/x", path: "/x", authority: "b:81", host: "b:81", cl: -1, close: true}},
		{"asterisk-form", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
			with(func(w *want) { w.method, w.target, w.path = "OPTIONS", "*", "*" })},
		{"HTTP/1.0 closes", "GET / HTTP/1.0\r\n\r\n",
			want{method: "GET", target: "/", path: "/", cl: -1, close: true}},
		{"HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
			want{method: "GET", target: "/", path: "/", cl: -1, headers: 1}},
		{"HTTP/1.0 keep-alive and close", "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
			want{method: "GET", target: "/", path: "/", cl: -1, close: true, headers: 1}},
		{"HTTP/1.1 close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
			with(func(w *want) { w.close, w.headers = true, 2 })},
		{"HTTP/1.1 close in second Connection", "GET / HTTP/1.1\r\nHost: a\r\nConnection: x-foo\r\nconnection: ,CLOSE,\r\n\r\n",
			with(func(w *want) { w.close, w.headers = true, 3 })},
		{"HTTP/1.1 keep-alive", "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n",
			with(func(w *want) { w.headers = 2 })},
		{"HTTP/1.0 Host kept", "GET / HTTP/1.0\r\nHost: h\r\n\r\n",
			want{method: "GET", target: "/", path: "/", host: "h", cl: -1, close: true, headers: 1}},
		{"content-length", "POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\n\r\n",
			with(func(w *want) { w.method, w.target, w.path, w.cl, w.headers = "POST", "/f", "/f", 42, 2 })},
		{"content-length zero", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
			with(func(w *want) { w.method, w.cl, w.headers = "POST", 0, 2 })},
		{"content-length leading zeros", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n",
			with(func(w *want) { w.method, w.cl, w.headers = "POST", 7, 2 })},
		{"content-length same list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5,5\r\n\r\n",
			with(func(w *want) { w.method, w.cl, w.headers = "POST", 5, 2 })},
		{"content-length same twice", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
			with(func(w *want) { w.method, w.cl, w.headers = "POST", 5, 3 })},
		{"content-length 2^62", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4611686018427387904\r\n\r\n",
			with(func(w *want) { w.method, w.cl, w.headers = "POST", 1<<62, 2 })},
		{"chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
			with(func(w *want) { w.method, w.chunked, w.headers = "POST", true, 2 })},
		{"chunked tab OWS", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\t\r\n\r\n",
			with(func(w *want) { w.method, w.chunked, w.headers = "POST", true, 2 })},
		{"chunked case", "POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding: Chunked\r\n\r\n",
			with(func(w *want) { w.method, w.chunked, w.headers = "POST", true, 2 })},
		{"websocket upgrade", "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n",
			with(func(w *want) { w.target, w.path, w.upgrade, w.headers = "/ws", "/ws", "websocket", 3 })},
		{"upgrade without connection", "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n",
			with(func(w *want) { w.headers = 2 })},
		{"upgrade in HTTP/1.0 ignored", "GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
			want{method: "GET", target: "/", path: "/", cl: -1, close: true, headers: 2}},
		{"expect 100-continue", "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n",
			with(func(w *want) { w.method, w.expect100, w.cl, w.headers = "PUT", true, 1, 3 })},
		{"expect other", "PUT / HTTP/1.1\r\nHost: a\r\nExpect: x\r\n\r\n",
			with(func(w *want) { w.method, w.headers = "PUT", 2 })},
		{"expect in HTTP/1.0 ignored", "PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n",
			want{method: "PUT", target: "/", path: "/", cl: -1, close: true, headers: 1}},
		{"leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", get},
		{"empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", with(func(w *want) { w.host = "" })},
		{"IPv6 Host", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", with(func(w *want) { w.host = "[::1]:8080" })},
		{"value OWS, tab, obs-text", "GET / HTTP/1.1\r\nHost: a\r\nX:  a\tb \xff \t\r\n\r\n", with(func(w *want) { w.headers = 2 })},
		{"100 fields", "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X: y\r\n", 99) + "\r\n",
			with(func(w *want) { w.headers = 100 })},
	}
	var r Request
	for _, tt := range tests {
		n, err := ParseRequest([]byte(tt.in), &r)
		if err != nil || n != len(tt.in) {
			t.Errorf("%s: ParseRequest = %d, %v; want %d, nil", tt.name, n, err, len(tt.in))
			continue
		}
		checkRequest(t, tt.name, &r, tt.want)
	}
}

func TestParseRequestFields(t *testing.T) {
	in := "GET / HTTP/1.1\r\nHost:  example.com \r\nX-Empty:\r\nx-a: 1\r\nX-A: 2\r\nCookie: a=b; c=d\r\n\r\nNEXT"
	var r Request
	n, err := ParseRequest([]byte(in), &r)
	if err != nil || n != len(in)-4 {
		t.Fatalf("ParseRequest = %d, %v; want %d, nil", n, err, len(in)-4)
	}
	wantFields := []string{"Host=example.com", "X-Empty=", "x-a=1", "X-A=2", "Cookie=a=b; c=d"}
	for i, h := range r.Headers {
		if got := string(h.Name) + "=" + string(h.Value); got != wantFields[i] {
			t.Errorf("Headers[%d] = %q, want %q", i, got, wantFields[i])
		}
		if cap(h.Value) != len(h.Value) {
			t.Errorf("Headers[%d] value capacity %d, want %d", i, cap(h.Value), len(h.Value))
		}
	}
	for _, tt := range []struct{ name, want string }{
		{"host", "example.com"}, {"X-A", "1"}, {"COOKIE", "a=b; c=d"}, {"missing", ""},
	} {
		if got := string(r.Header(tt.name)); got != tt.want {
			t.Errorf("Header(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	if r.Header("missing") != nil || r.Header("x-empty") == nil {
		t.Errorf("Header: missing must be nil, empty must be non-nil")
	}
}

func TestIsHopByHop(t *testing.T) {
	in := "GET / HTTP/1.1\r\nHost: a\r\nConnection: close, X-Secret,\r\nConnection: x-other\r\n\r\n"
	var r Request
	if _, err := ParseRequest([]byte(in), &r); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		want bool
	}{
		{"Connection", true}, {"keep-alive", true}, {"Proxy-Connection", true}, {"te", true},
		{"Trailer", true}, {"Transfer-Encoding", true}, {"UPGRADE", true},
		{"Proxy-Authenticate", true}, {"Proxy-Authorization", true},
		{"x-secret", true}, {"X-Other", true}, {"close", true},
		{"Host", false}, {"Content-Length", false}, {"X-Secrets", false}, {"Trailers", false}, {"", false},
	} {
		if got := r.IsHopByHop([]byte(tt.name)); got != tt.want {
			t.Errorf("IsHopByHop(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
	if _, err := ParseRequest([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), &r); err != nil {
		t.Fatal(err)
	}
	if r.IsHopByHop([]byte("x-secret")) {
		t.Errorf("IsHopByHop kept names from a previous request's Connection")
	}
}

func TestParseRequestErrors(t *testing.T) {
	const h = "Host: a\r\n"
	tests := []struct {
		name, in string
		status   int
	}{
		// Line ends.
		{"bare LF after request line", "GET / HTTP/1.1\n" + h + "\r\n", 400},
		{"bare LF after field", "GET / HTTP/1.1\r\nHost: a\n\r\n", 400},
		{"bare LF ending head", "GET / HTTP/1.1\r\n" + h + "\n", 400},
		{"bare LF everywhere", "GET / HTTP/1.1\nHost: a\n\n", 400},
		{"leading bare LF", "\nGET / HTTP/1.1\r\n" + h + "\r\n", 400},
		{"bare CR in value", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400},
		{"bare CR before CRLF", "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", 400},
		{"bare CR in request line", "GET /\r HTTP/1.1\r\n" + h + "\r\n", 400},
		{"bare CR after version", "GET / HTTP/1.1\r\r\n" + h + "\r\n", 400},
		{"bare CR ending head", "GET / HTTP/1.1\r\n" + h + "\r\r\n", 400},
		{"bare CR leading", "\rGET / HTTP/1.1\r\n" + h + "\r\n", 400},
		// Request line.
		{"method not a token", "GE(T / HTTP/1.1\r\n" + h + "\r\n", 400},
		{"method with @", "G@T / HTTP/1.1\r\n" + h + "\r\n", 400},
		{"empty method", " / HTTP/1.1\r\n" + h + "\r\n", 400},
		{"two spaces after method", "GET  / HTTP/1.1\r\n" + h + "\r\n", 400},
		{"two spaces after target", "GET /  HTTP/1.1\r\n" + h + "\r\n", 400},
		{"tab separator", "GET\t/ HTTP/1.1\r\n" + h + "\r\n", 400},
		{"no version", "GET /\r\n" + h + "\r\n", 400},
		{"trailing space", "GET / HTTP/1.1 \r\n" + h + "\r\n", 400},
		{"space in target", "GET /a b HTTP/1.1\r\n" + h + "\r\n", 400},
		{"NUL in target", "GET /a\x00 HTTP/1.1\r\n" + h + "\r\n", 400},
		{"CTL in target", "GET /a\x01 HTTP/1.1\r\n" + h + "\r\n", 400},
		{"tab in target", "GET /a\tb HTTP/1.1\r\n" + h + "\r\n", 400},
		{"DEL in target", "GET /a\x7f HTTP/1.1\r\n" + h + "\r\n", 400},
		{"non-ASCII in target", "GET /caf\xc3\xa9 HTTP/1.1\r\n" + h + "\r\n", 400},
		{"fragment in target", "GET /a#b HTTP/1.1\r\n" + h + "\r\n", 400},
		{"authority-form for GET", "GET a:80 HTTP/1.1\r\n" + h + "\r\n", 400},
		{"asterisk for GET", "GET * HTTP/1.1\r\n" + h + "\r\n", 400},
		{"asterisk with more", "OPTIONS *x HTTP/1.1\r\n" + h + "\r\n", 400},
		{"other scheme", "GET ftp://a/ HTTP/1.1\r\n" + h + "\r\n", 400},
		{"empty authority", "GET http:///x HTTP/1.1\r\n" + h + "\r\n", 400},
		{"userinfo", "GET http://u@a/ HTTP/1.1\r\n" + h + "\r\n", 400},
		{"query without path", "GET http://a?q HTTP/1.1\r\n" + h + "\r\n", 400},
		{"bad authority", "GET http://a:b/ HTTP/1.1\r\n" + h + "\r\n", 400},
		{"Host differs from authority", "GET http://b/ HTTP/1.1\r\n" + h + "\r\n", 400},
		{"CONNECT", "CONNECT a:443 HTTP/1.1\r\n" + h + "\r\n", 501},
		{"HTTP/2.0", "GET / HTTP/2.0\r\n" + h + "\r\n", 505},
		{"HTTP/1.2", "GET / HTTP/1.2\r\n" + h + "\r\n", 505},
		{"HTTP/0.9", "GET / HTTP/0.9\r\n" + h + "\r\n", 505},
		{"lower-case version", "GET / http/1.1\r\n" + h + "\r\n", 400},
		{"version without minor", "GET / HTTP/1\r\n" + h + "\r\n", 400},
		{"version two digits", "GET / HTTP/1.10\r\n" + h + "\r\n", 400},
		{"version garbage", "GET / HTXP/1.1\r\n" + h + "\r\n", 400},
		// Fields.
		{"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
		{"tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400},
		{"obs-fold", "GET / HTTP/1.1\r\n" + h + "X: a\r\n b\r\n\r\n", 400},
		{"obs-fold tab", "GET / HTTP/1.1\r\n" + h + "X: a\r\n\tb\r\n\r\n", 400},
		{"space before first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400},
		{"no colon", "GET / HTTP/1.1\r\n" + h + "X\r\n\r\n", 400},
		{"empty name", "GET / HTTP/1.1\r\n" + h + ": a\r\n\r\n", 400},
		{"name not a token", "GET / HTTP/1.1\r\n" + h + "X(y): a\r\n\r\n", 400},
		{"non-ASCII name", "GET / HTTP/1.1\r\n" + h + "X\xff: a\r\n\r\n", 400},
		{"NUL in value", "GET / HTTP/1.1\r\n" + h + "X: a\x00b\r\n\r\n", 400},
		{"CTL in value", "GET / HTTP/1.1\r\n" + h + "X: a\x1bb\r\n\r\n", 400},
		{"DEL in value", "GET / HTTP/1.1\r\n" + h + "X: a\x7f\r\n\r\n", 400},
		{"101 fields", "GET / HTTP/1.1\r\n" + h + strings.Repeat("X: y\r\n", 100) + "\r\n", 431},
		// Content-Length.
		{"CL negative", "POST / HTTP/1.1\r\n" + h + "Content-Length: -1\r\n\r\n", 400},
		{"CL plus", "POST / HTTP/1.1\r\n" + h + "Content-Length: +1\r\n\r\n", 400},
		{"CL inner space", "POST / HTTP/1.1\r\n" + h + "Content-Length: 1 2\r\n\r\n", 400},
		{"CL hex", "POST / HTTP/1.1\r\n" + h + "Content-Length: 0x10\r\n\r\n", 400},
		{"CL empty", "POST / HTTP/1.1\r\n" + h + "Content-Length: \r\n\r\n", 400},
		{"CL list differs", "POST / HTTP/1.1\r\n" + h + "Content-Length: 1, 2\r\n\r\n", 400},
		{"CL list empty member", "POST / HTTP/1.1\r\n" + h + "Content-Length: 1,\r\n\r\n", 400},
		{"CL fields differ", "POST / HTTP/1.1\r\n" + h + "Content-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
		{"CL over 2^62", "POST / HTTP/1.1\r\n" + h + "Content-Length: 4611686018427387905\r\n\r\n", 400},
		{"CL overflow", "POST / HTTP/1.1\r\n" + h + "Content-Length: 99999999999999999999\r\n\r\n", 400},
		{"CL space before colon", "POST / HTTP/1.1\r\n" + h + "Content-Length : 1\r\n\r\n", 400},
		// Transfer-Encoding.
		{"CL then TE", "POST / HTTP/1.1\r\n" + h + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"TE then CL", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400},
		{"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"TE chunked, identity", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, identity\r\n\r\n", 400},
		{"TE chunked twice", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked, chunked\r\n\r\n", 400},
		{"TE chunked in two fields", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"TE chunked then gzip field", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
		{"TE chunked with parameter", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked;a=b\r\n\r\n", 400},
		{"TE empty", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: \r\n\r\n", 400},
		{"TE empty member", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: ,chunked\r\n\r\n", 400},
		{"TE trailing comma", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked,\r\n\r\n", 400},
		{"TE space before colon", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding : chunked\r\n\r\n", 400},
		{"TE obs-fold", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding:\r\n chunked\r\n\r\n", 400},
		{"TE identity", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: identity\r\n\r\n", 501},
		{"TE gzip", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip\r\n\r\n", 501},
		{"TE gzip, chunked", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501},
		{"TE xchunked", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: xchunked\r\n\r\n", 501},
		{"TE chunked-false", "POST / HTTP/1.1\r\n" + h + "Transfer-Encoding: chunked-false\r\n\r\n", 501},
		// Host.
		{"no Host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"two Hosts", "GET / HTTP/1.1\r\n" + h + h + "\r\n", 400},
		{"two Hosts HTTP/1.0", "GET / HTTP/1.0\r\n" + h + h + "\r\n", 400},
		{"Host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
		{"Host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
		{"Host bad port", "GET / HTTP/1.1\r\nHost: a:b\r\n\r\n", 400},
		{"Host bad IPv6", "GET / HTTP/1.1\r\nHost: [::g]\r\n\r\n", 400},
		{"Host IPv6 junk after", "GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", 400},
		{"Host list", "GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", 400},
		// Connection.
		{"Connection not a token", "GET / HTTP/1.1\r\n" + h + "Connection: close, a b\r\n\r\n", 400},
	}
	var r Request
	for _, tt := range tests {
		n, err := ParseRequest([]byte(tt.in), &r)
		if got := statusOf(err); got != tt.status {
			t.Errorf("%s: ParseRequest(%q) = %d, %v; want status %d", tt.name, tt.in, n, err, tt.status)
		}
	}
}

// validRequests are heads used by the prefix and reader tests.
var validRequests = []string{
	"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"\r\nPOST /upload?x=1 HTTP/1.1\r\nHost: example.com:8080\r\nContent-Length: 5, 5\r\nConnection: keep-alive\r\n\r\n",
	"PUT http://a/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\nX:\t\t\r\n\r\n",
	"GET /ws HTTP/1.1\r\nHost: [::1]\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: x==\r\n\r\n",
	"OPTIONS * HTTP/1.0\r\n\r\n",
}

func TestParseRequestPrefixes(t *testing.T) {
	var r Request
	for _, in := range validRequests {
		b := []byte(in)
		if n, err := ParseRequest(b, &r); err != nil || n != len(b) {
			t.Fatalf("ParseRequest(%q) = %d, %v", in, n, err)
		}
		for k := 0; k < len(b); k++ {
			if n, err := ParseRequest(b[:k], &r); err != ErrIncomplete {
				t.Errorf("ParseRequest(%q) = %d, %v; want ErrIncomplete", b[:k], n, err)
			}
		}
	}
}

func TestParseRequestEarlyReject(t *testing.T) {
	// Junk is refused before its first line ends (a TLS hello, say).
	for _, in := range []string{"\x16\x03\x01\x02\x00", "GET /\x00", "GET\x01"} {
		var r Request
		if _, err := ParseRequest([]byte(in), &r); statusOf(err) != 400 {
			t.Errorf("ParseRequest(%q) = %v, want 400", in, err)
		}
	}
}

func TestErrorString(t *testing.T) {
	if got, want := errTEAndCL.Error(), "h1: 400 both Transfer-Encoding and Content-Length"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
