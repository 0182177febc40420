package rules

import (
	"net/netip"
	"testing"
)

// FuzzWhen compiles arbitrary expressions as conditions and as redirect
// locations. Compiling must never panic; an expression that compiles must
// evaluate without panicking, and the native evaluator must agree with
// expr's VM on its result and on whether it fails.
func FuzzWhen(f *testing.F) {
	for _, s := range []string{
		"scheme == 'http'", "host == 'api.noxy.rev'", "sprintf('https://%s%s', host, uri)",
		"sprintf('https://127.0.0.1%s', uri)", "inCIDR(src, '10.0.0.0/8', '2001:db8::/32')",
		"path matches '^/v[0-9]+/'", "path matches header('X-Pattern')", "host in ['a', 'b'] or port in [80, 443]",
		"not (method == 'GET') && hasPrefix(path, '/api')", "lower(header('X-Env')) == 'canary'",
		"len(cookie('session')) > 3 ? true : false", "replace(uri, '/', '-') contains 'v1'",
		"let x = port; x * 2 > 100", "port % 7 == 3", "trim(query) endsWith '7'", "src + ':' + sprintf('%d', port)",
		"upper(trimSuffix(trimPrefix(host, 'api.'), '.rev'))", "(header('a') ?? 'b') == 'b'", "1..3", "port / 0 > 1",
		"inCIDR(header('X-Real-IP'), header('X-Net'))", "'a' < 'b' == true", "-port < -1",
	} {
		f.Add(s)
	}
	reqs := []*Request{
		testRequest(),
		{Scheme: "https", Host: "", Port: 0, Src: netip.MustParseAddr("2001:db8::1"), Headers: fakeHeaders{
			headers: map[string]string{"x-pattern": "(", "x-net": "bad", "x-real-ip": "fe80::1%eth0", "a": "x"},
		}},
		{},
	}
	f.Fuzz(func(t *testing.T, src string) {
		re := newRegexCache()
		if e, err := compileBool(src, re); err == nil {
			for _, req := range reqs {
				var res Result
				res.f.req, res.f.prog = req, &Program{regexps: re, vmSrc: true}
				res.f.prog.states.New = func() any { return newVMState() }
				want, wantErr := (&boolExpr{prog: e.prog}).eval(&res.f)
				if e.native != nil {
					got, err := e.eval(&res.f)
					if got != want || (err == nil) != (wantErr == nil) {
						t.Errorf("%q: native = %v, %v; VM = %v, %v", src, got, err, want, wantErr)
					}
				}
				res.f.release()
			}
		}
		if e, err := compileString(src, re); err == nil {
			for _, req := range reqs {
				var res Result
				res.f.req, res.f.prog = req, &Program{regexps: re, vmSrc: true}
				res.f.prog.states.New = func() any { return newVMState() }
				want, wantErr := (&strExpr{prog: e.prog}).eval(&res.f)
				if e.native != nil {
					got, err := e.eval(&res.f)
					if got != want || (err == nil) != (wantErr == nil) {
						t.Errorf("%q: native = %q, %v; VM = %q, %v", src, got, err, want, wantErr)
					}
				}
				res.f.release()
			}
		}
	})
}
