package rules

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// fakeHeaders is a HeaderGetter over maps keyed by lower-case names.
type fakeHeaders struct{ headers, cookies map[string]string }

func (h fakeHeaders) Header(name string) string { return h.headers[strings.ToLower(name)] }
func (h fakeHeaders) Cookie(name string) string { return h.cookies[name] }

// testRequest is the request the expression tests run on.
func testRequest() *Request {
	return &Request{
		Scheme: "http",
		Host:   "api.noxy.rev",
		Port:   8080,
		Method: "POST",
		URI:    "/v1/users?id=7",
		Path:   "/v1/users",
		Query:  "id=7",
		Src:    netip.MustParseAddr("10.1.2.3"),
		Headers: fakeHeaders{
			headers: map[string]string{"x-env": "canary", "user-agent": "curl/8.5", "x-real-ip": "192.168.1.9", "x-pattern": "^/v[0-9]+/"},
			cookies: map[string]string{"session": "abc123"},
		},
		SSLSNI: "api.noxy.rev", SSLVersion: "TLSv1.3", SSLALPN: "h2",
		SSLClientVerified: true, SSLClientCN: "admin", SSLClientSHA256: "ab12",
	}
}

// evalBoth evaluates a condition natively and on the VM and fails the test
// when they disagree; it returns the native result.
func evalBoth(t *testing.T, src string, req *Request) (bool, error) {
	t.Helper()
	e, err := compileBool(src, newRegexCache())
	if err != nil {
		t.Fatalf("compile %q: %v", src, err)
	}
	var res Result
	f := &res.f
	f.req, f.prog = req, &Program{vmSrc: true}
	f.prog.states.New = func() any { return newVMState() }
	defer f.release()
	vmOnly := boolExpr{prog: e.prog}
	want, wantErr := vmOnly.eval(f)
	if e.native == nil {
		return want, wantErr
	}
	got, err := e.eval(f)
	if got != want || (err == nil) != (wantErr == nil) {
		t.Errorf("%q: native = %v, %v; VM = %v, %v", src, got, err, want, wantErr)
	}
	return got, err
}

func TestConditions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  string
		want bool
		vm   bool // beyond the native evaluator: runs on the VM
	}{
		// Variables.
		{src: "scheme == 'http'", want: true},
		{src: "scheme == 'https'", want: false},
		{src: "host == 'api.noxy.rev'", want: true},
		{src: "port == 8080", want: true},
		{src: "ssl_sni == 'api.noxy.rev' && ssl_version == 'TLSv1.3' && ssl_alpn == 'h2'", want: true},
		{src: "ssl_client_verified && ssl_client_cn == 'admin'", want: true},
		{src: "!ssl_client_verified", want: false},
		{src: "ssl_client_sha256 == 'ab12'", want: true},
		{src: "port != 8080", want: false},
		{src: "port >= 8000 and port < 9000", want: true},
		{src: "method == 'POST'", want: true},
		{src: "uri == '/v1/users?id=7'", want: true},
		{src: "path == '/v1/users'", want: true},
		{src: "query == 'id=7'", want: true},
		{src: "src == '10.1.2.3'", want: true},
		// Functions.
		{src: "header('X-Env') == 'canary'", want: true},
		{src: "header('x-env') == 'canary'", want: true},
		{src: "header('X-Missing') == ''", want: true},
		{src: "header(lower('X-ENV')) == 'canary'", want: true},
		{src: "cookie('session') == 'abc123'", want: true},
		{src: "cookie('other') == ''", want: true},
		{src: "sprintf('%s:%d', host, port) == 'api.noxy.rev:8080'", want: true},
		{src: "sprintf('%s%%', method) == 'POST%'", want: true},
		{src: "hasPrefix(path, '/v1/')", want: true},
		{src: "hasPrefix(path, '/v2/')", want: false},
		{src: "hasSuffix(host, '.rev')", want: true},
		{src: "hasSuffix(host, '.com')", want: false},
		{src: "lower('API.Noxy.REV') == host", want: true},
		{src: "upper(method) == 'POST' && upper(scheme) == 'HTTP'", want: true},
		{src: "trim('  x ') == 'x'", want: true},
		{src: "trimPrefix(path, '/v1') == '/users'", want: true},
		{src: "trimSuffix(host, '.rev') == 'api.noxy'", want: true},
		{src: "replace(path, '/', '_') == '_v1_users'", want: true},
		{src: "len(host) == 12", want: true},
		{src: "inCIDR(src, '10.0.0.0/8')", want: true},
		{src: "inCIDR(src, '192.168.0.0/16')", want: false},
		{src: "inCIDR(src, '192.168.0.0/16', '10.1.2.3')", want: true},
		{src: "inCIDR(header('X-Real-IP'), '192.168.1.0/24')", want: true},
		{src: "inCIDR(header('X-Missing'), '0.0.0.0/0')", want: false},
		{src: "inCIDR(src, header('X-Missing'))", want: false}, // runtime error, see TestRuntimeErrors
		// Operators.
		{src: "host != 'x' && not (scheme == 'https')", want: true},
		{src: "!(port == 80) || false", want: true},
		{src: "path startsWith '/v1/'", want: true},
		{src: "host endsWith '.noxy.rev'", want: true},
		{src: "header('User-Agent') contains 'curl'", want: true},
		{src: "path matches '^/v[0-9]+/users$'", want: true},
		{src: "path matches '^/admin'", want: false},
		{src: "path matches header('X-Pattern')", want: true},
		{src: "host in ['a.rev', 'api.noxy.rev']", want: true},
		{src: "host not in ['a.rev', 'api.noxy.rev']", want: false},
		{src: "port in [80, 443]", want: false},
		{src: "method in ['GET', lower('POST'), upper('post')]", want: true, vm: true},
		{src: "host + ':' + scheme == 'api.noxy.rev:http'", want: true},
		{src: "port + 1 == 8081 && port - 80 == 8000 && port * 2 == 16160 && -port < 0", want: true},
		{src: "(scheme == 'http' ? 'a' : 'b') == 'a'", want: true},
		{src: "(port == 1 ? 1 : 2) == 2", want: true},
		{src: "scheme < 'z' && scheme <= 'http' && scheme > 'a' && scheme >= 'http'", want: true},
		{src: "(host == 'x') == false", want: true},
		{src: "true", want: true},
		{src: "1 == 1", want: true},
		// Beyond the native evaluator.
		{src: "let p = path; p startsWith '/v1'", want: true, vm: true},
		{src: "port % 2 == 0", want: true, vm: true},
		{src: "port / 2 > 4000.5", want: true, vm: true},
		{src: "(header('X-Missing') ?? 'x') == ''", want: true, vm: true},
	}
	for _, tt := range tests {
		got, _ := evalBoth(t, tt.src, testRequest())
		if got != tt.want {
			t.Errorf("%q = %v, want %v", tt.src, got, tt.want)
		}
		e, _ := compileBool(tt.src, newRegexCache())
		if native := e.native != nil; native == tt.vm {
			t.Errorf("%q: native = %v, want %v", tt.src, native, !tt.vm)
		}
	}
}

func TestStrings(t *testing.T) {
	t.Parallel()
	tests := []struct{ src, want string }{
		{"sprintf('https://%s%s', host, uri)", "https://api.noxy.rev/v1/users?id=7"},
		{"sprintf('https://127.0.0.1%s', uri)", "https://127.0.0.1/v1/users?id=7"},
		{"sprintf('%s://%s:%d%s', scheme, host, port, path)", "http://api.noxy.rev:8080/v1/users"},
		{"sprintf('%q', host)", `"api.noxy.rev"`},
		{"sprintf('%s %s', host)", "api.noxy.rev %!s(MISSING)"},
		{"sprintf('no verbs')", "no verbs"},
		{"sprintf('100%% %s', scheme)", "100% http"},
		{"sprintf(lower('%s'), 'X')", "X"},
		{"'https://' + host + uri", "https://api.noxy.rev/v1/users?id=7"},
		{"'https://example.com/'", "https://example.com/"},
		{"src", "10.1.2.3"},
		{"header('X-Env') == 'canary' ? 'https://canary/' : 'https://stable/'", "https://canary/"},
		{"sprintf('%s%s%s%s%s%s%s%s%s%s', scheme, host, path, query, method, scheme, host, path, query, method)",
			"httpapi.noxy.rev/v1/usersid=7POSThttpapi.noxy.rev/v1/usersid=7POST"},
	}
	for _, tt := range tests {
		e, err := compileString(tt.src, newRegexCache())
		if err != nil {
			t.Errorf("compile %q: %v", tt.src, err)
			continue
		}
		if e.native == nil {
			t.Errorf("%q is not native", tt.src)
		}
		var res Result
		f := &res.f
		f.req, f.prog = testRequest(), &Program{vmSrc: true}
		f.prog.states.New = func() any { return newVMState() }
		got, err := e.eval(f)
		want, wantErr := (&strExpr{prog: e.prog}).eval(f)
		f.release()
		if err != nil || wantErr != nil || got != tt.want || want != tt.want {
			t.Errorf("%q = %q, %v (VM: %q, %v), want %q", tt.src, got, err, want, wantErr, tt.want)
		}
	}
}

func TestSrc(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  string
		addr string // "" for no address
		want bool
	}{
		{"inCIDR(src, '10.0.0.0/8')", "10.255.0.1", true},
		{"inCIDR(src, '10.0.0.0/8')", "11.0.0.1", false},
		{"inCIDR(src, '10.0.0.0/8')", "::ffff:10.0.0.1", true}, // IPv4-mapped
		{"inCIDR(src, '::ffff:10.0.0.0/104')", "10.0.0.1", true},
		{"inCIDR(src, '10.0.0.1/8')", "10.9.9.9", true}, // host bits ignored
		{"inCIDR(src, '10.0.0.0/8')", "", false},
		{"inCIDR(src, '0.0.0.0/0')", "2001:db8::1", false},
		{"inCIDR(src, '::/0')", "10.0.0.1", false},
		{"inCIDR(src, '2001:db8::/32')", "2001:db8:1::5", true},
		{"inCIDR(src, '2001:db8::/32')", "2001:db9::5", false},
		{"inCIDR(src, '2001:db8::/32')", "fe80::1%eth0", false},
		{"inCIDR(src, 'fe80::/10')", "fe80::1%eth0", true}, // zones are ignored
		{"inCIDR(src, '2001:db8::1')", "2001:db8::1", true},
		{"inCIDR(src, '2001:db8::1')", "2001:db8::2", false},
		{"inCIDR(src, '10.0.0.0/8', '2001:db8::/32')", "2001:db8::1", true},
		{"src == '2001:db8::1'", "2001:db8:0:0::1", true},
		{"src == '10.0.0.1'", "::ffff:10.0.0.1", true},
		{"src == ''", "", true},
		{"inCIDR(src, '10.0.0.0/8')", "10.0.0.1", true},
	}
	for _, tt := range tests {
		req := testRequest()
		req.Src = netip.Addr{}
		if tt.addr != "" {
			req.Src = netip.MustParseAddr(tt.addr)
		}
		got, err := evalBoth(t, tt.src, req)
		if err != nil || got != tt.want {
			t.Errorf("%q with src %s = %v, %v; want %v", tt.src, tt.addr, got, err, tt.want)
		}
	}
}

func TestNoHeaders(t *testing.T) {
	t.Parallel()
	req := testRequest()
	req.Headers = nil
	for _, src := range []string{"header('X-Env') == ''", "cookie('session') == ''"} {
		if got, err := evalBoth(t, src, req); !got || err != nil {
			t.Errorf("%q without headers = %v, %v; want true", src, got, err)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src   string
		value bool // CheckValue rather than CheckWhen
		want  string
		col   int
	}{
		{src: "scheme = 'http'", want: `unexpected "=" at column 8; compare with ==`, col: 8},
		{src: "scheme == 'http' &&", want: "unexpected end of expression", col: 19},
		{src: "scheme == 'http' host", want: `unexpected "host" at column 18`, col: 18},
		{src: "(host == 'a'", want: `unexpected end of expression`, col: 12},
		{src: "hots == 'x'", want: `unknown name "hots"; did you mean "host"?`, col: 1},
		{src: "host == 'x' || hots == 'hots'", want: `unknown name "hots" at column 16; did you mean "host"?`, col: 16},
		{src: "lowr(host) == 'x'", want: `unknown name "lowr"; did you mean "lower"?`, col: 1},
		{src: "now() > 1", want: `unknown name "now"; variables are scheme, host, port, method, uri, path, query, src, ssl_sni, ssl_version, ssl_alpn, ssl_client_verified, ssl_client_cn, ssl_client_sha256; functions are header, cookie, sprintf, hasPrefix, hasSuffix, lower, upper, trim, trimPrefix, trimSuffix, replace, len, inCIDR`, col: 1},
		{src: "contains(host, 'x')", want: `unexpected "contains" at column 1; contains is an operator, not a function: write e.g. host contains 'example'`, col: 1},
		{src: "matches(path, '^/a')", want: `unexpected "matches" at column 1; matches is an operator, not a function: write e.g. path matches '^/api/v[0-9]+/'`, col: 1},
		{src: "host", want: "expected a condition (true or false), got a string"},
		{src: "port", want: "expected a condition (true or false), got a number"},
		{src: "sprintf('%s', host)", want: "expected a condition (true or false), got a string"},
		{src: "host == 1", want: "invalid operation: == (mismatched types string and int) at column 6", col: 6},
		{src: "lower(port) == 'x'", want: "cannot use int as argument (type string) to call lower at column 7", col: 7},
		{src: "path matches '('", want: "error parsing regexp: missing closing ): `(` at column 6", col: 6},
		{src: "inCIDR(src, '10.0.0.0/33')", want: `inCIDR: invalid network "10.0.0.0/33"; expected a CIDR prefix such as 10.0.0.0/8 or 2001:db8::/32, or an address`, col: 13},
		{src: "inCIDR(src, 'fe80::1%eth0')", want: `inCIDR: invalid network "fe80::1%eth0"; expected a CIDR prefix such as 10.0.0.0/8 or 2001:db8::/32, or an address`, col: 13},
		{src: "   ", want: "empty expression"},
		{src: "scheme == 'http' and\nhost = 'x'", want: `unexpected "=" at line 2, column 6; compare with ==`, col: 6},
		{src: "scheme == 'http'", value: true, want: "expected a string, got a condition (true or false)"},
		{src: "port", value: true, want: "expected a string, got a number"},
		{src: "https://example.com/", value: true, want: `unexpected ":" at column 6; this is an expression: quote a fixed text, e.g. "'https://example.com/'"`, col: 6},
		{src: "/login", value: true, want: `unexpected "/" at column 1; this is an expression: quote a fixed text, e.g. "'https://example.com/'"`, col: 1},
		{src: "sprintf('https://%s%s', hots, uri)", value: true, want: `unknown name "hots"; did you mean "host"?`, col: 25},
	}
	for _, tt := range tests {
		check := CheckWhen
		if tt.value {
			check = CheckValue
		}
		err := check(tt.src)
		if err == nil || err.Error() != tt.want {
			t.Errorf("check %q = %v\nwant %s", tt.src, err, tt.want)
			continue
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("check %q = %T, want *Error", tt.src, err)
		} else if e.Column != tt.col {
			t.Errorf("check %q: column %d, want %d", tt.src, e.Column, tt.col)
		}
	}
	for _, src := range []string{"scheme == 'http'", "true", "inCIDR(src, '10.0.0.0/8', '::1')"} {
		if err := CheckWhen(src); err != nil {
			t.Errorf("CheckWhen(%q) = %v", src, err)
		}
	}
	if err := CheckValue("sprintf('https://%s%s', host, uri)"); err != nil {
		t.Errorf("CheckValue = %v", err)
	}
}

func TestReplaceLimit(t *testing.T) {
	t.Parallel()
	req := testRequest()
	req.Headers = fakeHeaders{headers: map[string]string{"x-big": strings.Repeat("x", 100000)}}
	got, err := evalBoth(t, "replace(uri, '', header('X-Big')) != ''", req)
	if want := "replace: the result would be longer than 1048576 bytes"; got || err == nil || err.Error() != want {
		t.Errorf("replace = %v, %v; want false, %s", got, err, want)
	}
	if got, err := evalBoth(t, "replace(uri, '', '-') == '-/-v-1-/-u-s-e-r-s-?-i-d-=-7-'", req); !got || err != nil {
		t.Errorf("replace with an empty old = %v, %v", got, err)
	}
}
