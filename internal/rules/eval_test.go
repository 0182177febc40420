package rules

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"
)

// compileBoth compiles specs natively and VM-only.
func compileBoth(t *testing.T, specs []Spec) map[string]*Program {
	t.Helper()
	progs := map[string]*Program{}
	for name, native := range map[string]bool{"native": true, "vm": false} {
		p, err := compile(specs, native)
		if err != nil {
			t.Fatalf("compile: %v", err)
		}
		progs[name] = p
	}
	return progs
}

// noxyComplex is the http_condition of reference/noxy-complex.yaml.
var noxyComplex = []Spec{
	{When: "scheme == 'http'", Redirect: "sprintf('https://%s%s', host, uri)"},
	{When: "host == 'api.noxy.rev'", UseBackend: []WeightedBackend{{Name: "api_backend", Weight: 1}}},
}

// noxySimple is the http_condition of reference/noxy-simple.yaml.
var noxySimple = []Spec{
	{When: "scheme == 'http'", Redirect: "sprintf('https://127.0.0.1%s', uri)"},
}

func TestNoxy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		specs  []Spec
		req    Request
		want   Result
		wantNo bool // no rule matches
	}{
		{name: "complex redirect", specs: noxyComplex,
			req:  Request{Scheme: "http", Host: "api.noxy.rev", URI: "/x?y=1", Path: "/x", Query: "y=1"},
			want: Result{Redirect: "https://api.noxy.rev/x?y=1", RedirectCode: 302}},
		{name: "complex switch", specs: noxyComplex,
			req:  Request{Scheme: "https", Host: "api.noxy.rev", URI: "/x?y=1", Path: "/x", Query: "y=1"},
			want: Result{Backend: "api_backend"}},
		{name: "complex default", specs: noxyComplex,
			req:  Request{Scheme: "https", Host: "www.noxy.rev", URI: "/"},
			want: Result{}},
		{name: "simple redirect", specs: noxySimple,
			req:  Request{Scheme: "http", Host: "localhost", URI: "/x", Path: "/x"},
			want: Result{Redirect: "https://127.0.0.1/x", RedirectCode: 302}},
		{name: "simple https", specs: noxySimple,
			req:  Request{Scheme: "https", Host: "localhost", URI: "/x", Path: "/x"},
			want: Result{}},
	}
	for _, tt := range tests {
		for name, p := range compileBoth(t, tt.specs) {
			var res Result
			req := tt.req
			if err := p.Eval(&req, &res, 0); err != nil {
				t.Errorf("%s/%s: Eval: %v", tt.name, name, err)
			}
			if !sameResult(&res, &tt.want) {
				t.Errorf("%s/%s: got %+v, want %+v", tt.name, name, res, tt.want)
			}
		}
	}
}

// sameResult compares the exported fields of two Results, nil and empty
// lists alike.
func sameResult(a, b *Result) bool {
	norm := func(r *Result) Result {
		c := *r
		c.f = frame{}
		if len(c.SetHeader) == 0 {
			c.SetHeader = nil
		}
		if len(c.DelHeader) == 0 {
			c.DelHeader = nil
		}
		if len(c.SetResponseHeader) == 0 {
			c.SetResponseHeader = nil
		}
		if len(c.DelResponseHeader) == 0 {
			c.DelResponseHeader = nil
		}
		return c
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

func TestRules(t *testing.T) {
	t.Parallel()
	specs := []Spec{
		/* 0 */ {When: "true", SetHeader: map[string]string{"x-fwd-proto": "http", "X-A": "1"}, DelHeader: []string{"x-debug"}},
		/* 1 */ {When: "path startsWith '/old/'", Redirect: "'https://new.example' + trimPrefix(uri, '/old')", Code: 301},
		/* 2 */ {When: "path startsWith '/admin' && !inCIDR(src, '10.0.0.0/8')", Deny: &Deny{Status: 403, Body: "forbidden"}},
		/* 3 */ {When: "path startsWith '/teapot'", Deny: &Deny{}},
		/* 4 */ {When: "header('X-Env') == 'canary'", SetHeader: map[string]string{"X-A": "2"}, SetResponseHeader: map[string]string{"X-Canary": "yes"}},
		/* 5 */ {When: "path startsWith '/api/'", UseBackend: []WeightedBackend{{Name: "api", Weight: 1}}, PathPrefix: "/internal/", DelResponseHeader: []string{"server"}},
		/* 6 */ {When: "path startsWith '/api/v1/'", UseBackend: []WeightedBackend{{Name: "api_v1", Weight: 1}}}, // shadowed by rule 5
		/* 7 */ {When: "host == 'www.example.com'", PathPrefix: "/www"},
		/* 8 */ {When: "host endsWith 'example.com'", UseBackend: []WeightedBackend{{Name: "web", Weight: 1}}, PathPrefix: "/site"},
		/* 9 */ {When: "true", DelHeader: []string{"X-A"}},
	}
	base := []HeaderOp{{"X-A", "1"}, {"X-Fwd-Proto", "http"}}
	tests := []struct {
		name    string
		path    string
		host    string
		src     string
		headers map[string]string
		want    Result
	}{
		{name: "redirect keeps earlier header actions", path: "/old/page",
			want: Result{Redirect: "https://new.example/page?q=1", RedirectCode: 301, SetHeader: base, DelHeader: []string{"X-Debug"}}},
		{name: "deny with status and body", path: "/admin/users", src: "192.0.2.1",
			want: Result{Deny: &Deny{Status: 403, Body: "forbidden"}, SetHeader: base, DelHeader: []string{"X-Debug"}}},
		{name: "deny default status", path: "/teapot",
			want: Result{Deny: &Deny{Status: 403}, SetHeader: base, DelHeader: []string{"X-Debug"}}},
		{name: "admin from inside goes on", path: "/admin/users", src: "10.0.0.1", host: "other",
			want: Result{SetHeader: base[1:], DelHeader: []string{"X-Debug", "X-A"}}},
		{name: "first use_backend wins", path: "/api/v1/x",
			want: Result{Backend: "api", PathPrefix: "/internal", SetHeader: base, DelHeader: []string{"X-Debug"}, DelResponseHeader: []string{"Server"}}},
		{name: "headers accumulate in rule order", path: "/api/v1/x", headers: map[string]string{"x-env": "canary"},
			want: Result{Backend: "api", PathPrefix: "/internal", SetHeader: append(base, HeaderOp{"X-A", "2"}), DelHeader: []string{"X-Debug"},
				SetResponseHeader: []HeaderOp{{"X-Canary", "yes"}}, DelResponseHeader: []string{"Server"}}},
		{name: "path prefixes apply in order", path: "/", host: "www.example.com",
			want: Result{Backend: "web", PathPrefix: "/site/www", SetHeader: base, DelHeader: []string{"X-Debug"}}},
		{name: "a later delete undoes a set", path: "/", host: "other",
			want: Result{SetHeader: base[1:], DelHeader: []string{"X-Debug", "X-A"}}},
	}
	for _, tt := range tests {
		for name, p := range compileBoth(t, specs) {
			host := tt.host
			if host == "" {
				host = "api.example.com"
			}
			src := tt.src
			if src == "" {
				src = "198.51.100.7"
			}
			req := Request{Scheme: "https", Host: host, Port: 443, Method: "GET", Path: tt.path, Query: "q=1", URI: tt.path + "?q=1",
				Src: netip.MustParseAddr(src), Headers: fakeHeaders{headers: tt.headers}}
			var res Result
			res.SetHeader = append(res.SetHeader, HeaderOp{"Stale", "x"}) // Eval resets
			if err := p.Eval(&req, &res, 0.5); err != nil {
				t.Errorf("%s/%s: Eval: %v", tt.name, name, err)
			}
			if !sameResult(&res, &tt.want) {
				t.Errorf("%s/%s:\n got %+v\nwant %+v", tt.name, name, res, tt.want)
			}
		}
	}
}

func TestHeaderOrder(t *testing.T) {
	t.Parallel()
	specs := []Spec{
		{When: "true", SetHeader: map[string]string{"X-B": "1", "X-A": "1"}},
		{When: "true", DelHeader: []string{"x-b"}, SetResponseHeader: map[string]string{"X-R": "1"}},
		{When: "true", SetHeader: map[string]string{"X-B": "2"}, DelResponseHeader: []string{"X-R"}},
		{When: "true", SetHeader: map[string]string{"x-a": "3"}, SetResponseHeader: map[string]string{"X-R": "2"}},
	}
	want := Result{
		SetHeader:         []HeaderOp{{"X-A", "1"}, {"X-B", "2"}, {"X-A", "3"}},
		SetResponseHeader: []HeaderOp{{"X-R", "2"}},
	}
	p, err := Compile(specs)
	if err != nil {
		t.Fatal(err)
	}
	var res Result
	for range 2 { // the second run reuses res
		if err := p.Eval(&Request{}, &res, 0); err != nil || !sameResult(&res, &want) {
			t.Errorf("Eval = %v\n got %+v\nwant %+v", err, res, want)
		}
	}
}

func TestWeighted(t *testing.T) {
	t.Parallel()
	specs := []Spec{{When: "true", UseBackend: []WeightedBackend{
		{Name: "stable", Weight: 90}, {Name: "never", Weight: 0}, {Name: "canary", Weight: 5}, {Name: "beta", Weight: 5},
	}}}
	for name, p := range compileBoth(t, specs) {
		const n = 10000
		rnd := rand.New(rand.NewPCG(1, 2))
		counts := map[string]int{}
		var res Result
		req := &Request{}
		for range n {
			if err := p.Eval(req, &res, rnd.Float64()); err != nil {
				t.Fatal(err)
			}
			counts[res.Backend]++
		}
		for backend, share := range map[string]float64{"stable": 0.90, "canary": 0.05, "beta": 0.05, "never": 0} {
			if got := float64(counts[backend]) / n; got < share-0.02 || got > share+0.02 {
				t.Errorf("%s: %s got %.4f of requests, want %.2f ± 0.02", name, backend, got, share)
			}
		}
		if counts["never"] != 0 {
			t.Errorf("%s: a backend of weight 0 got %d requests", name, counts["never"])
		}
	}
	// Exact boundaries: the weights 90, 0, 5, 5 split [0, 1) at 0.90 and 0.95.
	p, _ := Compile(specs)
	for _, tt := range []struct {
		rnd  float64
		want string
	}{{0, "stable"}, {0.8999, "stable"}, {0.9, "canary"}, {0.9499, "canary"}, {0.95, "beta"}, {0.9999, "beta"}, {1, "beta"}, {-1, "stable"}, {7, "beta"}} {
		var res Result
		if p.Eval(&Request{}, &res, tt.rnd); res.Backend != tt.want {
			t.Errorf("rnd %v: %q, want %q", tt.rnd, res.Backend, tt.want)
		}
	}
}

// countingHeaders counts the reads of headers and cookies.
type countingHeaders struct{ n *int }

func (h countingHeaders) Header(string) string { *h.n++; return "" }
func (h countingHeaders) Cookie(string) string { *h.n++; return "" }

func TestFirstMatchStops(t *testing.T) {
	t.Parallel()
	specs := []Spec{
		{When: "header('a') == ''", UseBackend: []WeightedBackend{{Name: "one", Weight: 1}}},
		{When: "header('b') == ''", UseBackend: []WeightedBackend{{Name: "two", Weight: 1}}},
	}
	for name, p := range compileBoth(t, specs) {
		n := 0
		var res Result
		if err := p.Eval(&Request{Headers: countingHeaders{&n}}, &res, 0); err != nil || res.Backend != "one" || n != 1 {
			t.Errorf("%s: backend %q, %d header reads, %v; want one, 1", name, res.Backend, n, err)
		}
	}
}

func TestRuntimeErrors(t *testing.T) {
	t.Parallel()
	specs := []Spec{
		{When: "path matches header('X-Pattern')", UseBackend: []WeightedBackend{{Name: "re", Weight: 1}}},
		{When: "inCIDR(src, header('X-Net'))", UseBackend: []WeightedBackend{{Name: "net", Weight: 1}}},
		{When: "true", Redirect: "header('X-Location')"},
		{When: "true", SetHeader: map[string]string{"X-Seen": "1"}},
		{When: "port % len(header('X-Zero')) == 0", UseBackend: []WeightedBackend{{Name: "zero", Weight: 1}}},
		{When: "true", UseBackend: []WeightedBackend{{Name: "last", Weight: 1}}},
	}
	tests := []struct {
		headers map[string]string
		want    string // the error
		backend string
	}{
		{map[string]string{"x-pattern": "(", "x-net": "10.0.0.0/8"}, "rule 0: when: error parsing regexp: missing closing ): `(`", "net"},
		{map[string]string{"x-pattern": "^/z", "x-net": "bad"}, `rule 1: when: inCIDR: invalid network "bad"; expected a CIDR prefix such as 10.0.0.0/8 or 2001:db8::/32, or an address`, "last"},
		{map[string]string{"x-pattern": "^/z", "x-net": "192.0.2.0/24"}, "rule 2: redirect: the location is empty", "last"},
		{map[string]string{"x-pattern": "^/z", "x-net": "192.0.2.0/24", "x-location": "/x", "x-zero": "1"}, "", ""},
	}
	for _, tt := range tests {
		for name, p := range compileBoth(t, specs) {
			var res Result
			req := &Request{Path: "/a", Port: 80, Src: netip.MustParseAddr("10.0.0.1"), Headers: fakeHeaders{headers: tt.headers}}
			err := p.Eval(req, &res, 0)
			if tt.want == "" {
				if err != nil || res.Redirect != "/x" {
					t.Errorf("%s: %v, redirect %q; want /x", name, err, res.Redirect)
				}
				continue
			}
			var re *RuntimeError
			if err == nil || err.Error() != tt.want || !errors.As(err, &re) {
				t.Errorf("%s: Eval = %v\nwant %s", name, err, tt.want)
			}
			if res.Backend != tt.backend {
				t.Errorf("%s: backend %q, want %q", name, res.Backend, tt.backend)
			}
		}
	}
	// A run-time error of expr's VM: modulo by zero.
	p, _ := Compile(specs[4:])
	var res Result
	err := p.Eval(&Request{Port: 80}, &res, 0)
	if err == nil || err.Error() != "rule 0: when: runtime error: integer divide by zero" || res.Backend != "last" {
		t.Errorf("modulo by zero: %v, backend %q", err, res.Backend)
	}
}

func TestCompileSpecErrors(t *testing.T) {
	t.Parallel()
	one := []WeightedBackend{{Name: "a", Weight: 1}}
	tests := []struct {
		spec Spec
		want string
	}{
		{Spec{When: "hots == 'x'", UseBackend: one}, `rule 0: when: unknown name "hots"; did you mean "host"?`},
		{Spec{When: "", UseBackend: one}, "rule 0: when: empty expression"},
		{Spec{When: "true", Redirect: "scheme == 'http'"}, "rule 0: redirect: expected a string, got a condition (true or false)"},
		{Spec{When: "true", Redirect: "'/x'", Code: 304}, "rule 0: code: expected 301, 302, 303, 307 or 308, got 304"},
		{Spec{When: "true", UseBackend: one, Code: 301}, "rule 0: code: needs redirect"},
		{Spec{When: "true", Redirect: "'/x'", UseBackend: one}, "rule 0: use_backend: cannot be combined with redirect: a rule takes one of redirect, use_backend, deny"},
		{Spec{When: "true", UseBackend: []WeightedBackend{{Name: "a"}, {Name: "b"}}}, "rule 0: use_backend: every weight is 0; at least one backend needs a weight above 0"},
		{Spec{When: "true", UseBackend: []WeightedBackend{{Name: "a", Weight: 1}, {Name: "a", Weight: 1}}}, `rule 0: use_backend: backend "a" is listed twice`},
		{Spec{When: "true", UseBackend: []WeightedBackend{{Name: "a", Weight: -1}}}, `rule 0: use_backend: backend "a" has a negative weight -1`},
		{Spec{When: "true", UseBackend: []WeightedBackend{{Weight: 1}}}, "rule 0: use_backend: a backend name is empty"},
		{Spec{When: "true", Deny: &Deny{Status: 200}}, "rule 0: deny: expected a status from 400 to 599, got 200"},
		{Spec{When: "true", SetHeader: map[string]string{"X Y": "1"}}, `rule 0: set_header: invalid header name "X Y"`},
		{Spec{When: "true", SetResponseHeader: map[string]string{"X-Y": "a\r\nSet-Cookie: x"}}, `rule 0: set_response_header.X-Y: invalid header value "a\r\nSet-Cookie: x": control characters are not allowed`},
		{Spec{When: "true", DelHeader: []string{""}}, `rule 0: del_header: invalid header name ""`},
		{Spec{When: "true", PathPrefix: "api"}, `rule 0: path_prefix: expected a path starting with /, got "api"`},
		{Spec{When: "true", PathPrefix: "/a?b"}, `rule 0: path_prefix: invalid path "/a?b"`},
		{Spec{When: "true"}, "rule 0: needs an action: redirect, use_backend, deny, set_header, del_header, set_response_header, del_response_header or path_prefix"},
	}
	for _, tt := range tests {
		_, err := Compile([]Spec{tt.spec})
		if err == nil || err.Error() != tt.want {
			t.Errorf("Compile(%+v) = %v\nwant %s", tt.spec, err, tt.want)
		}
	}
	_, err := Compile([]Spec{{When: "true", UseBackend: one}, {When: "x", UseBackend: one}, {When: "true"}})
	want := "rule 1: when: unknown name \"x\"; variables are scheme, host, port, method, uri, path, query, src, ssl_sni, ssl_version, ssl_alpn, ssl_client_verified, ssl_client_cn, ssl_client_sha256; functions are header, cookie, sprintf, hasPrefix, hasSuffix, lower, upper, trim, trimPrefix, trimSuffix, replace, len, inCIDR\n" +
		"rule 2: needs an action: redirect, use_backend, deny, set_header, del_header, set_response_header, del_response_header or path_prefix"
	if err == nil || err.Error() != want {
		t.Errorf("Compile = %v\nwant %s", err, want)
	}
	if p, err := Compile(nil); err != nil || p.Eval(&Request{}, &Result{}, 0) != nil {
		t.Errorf("an empty rule list: %v", err)
	}
	var none *Program
	res := Result{Backend: "stale"}
	if err := none.Eval(&Request{}, &res, 0); err != nil || res.Backend != "" {
		t.Errorf("a nil Program: %v, backend %q", err, res.Backend)
	}
}

func TestConcurrentEval(t *testing.T) {
	t.Parallel()
	specs := append([]Spec{{When: "let h = host; h == 'vm.example'", UseBackend: []WeightedBackend{{Name: "vm", Weight: 1}}}}, noxyComplex...)
	p, err := Compile(specs)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	for g := range 4 {
		go func() {
			var res Result
			for i := range 500 {
				host := []string{"vm.example", "api.noxy.rev", "www"}[(g+i)%3]
				req := &Request{Scheme: "https", Host: host, URI: "/"}
				if err := p.Eval(req, &res, 0); err != nil {
					done <- err
					return
				}
				want := map[string]string{"vm.example": "vm", "api.noxy.rev": "api_backend", "www": ""}[host]
				if res.Backend != want {
					done <- errors.New(host + ": got " + res.Backend)
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
