package rules

import (
	"net/netip"
	"strings"
	"testing"
)

// BenchmarkEval evaluates the rules of the Noxy complex configuration
// (redirect http to https, switch api.noxy.rev to api_backend) for the
// request each case describes, natively and, for comparison, with every
// expression on expr's VM.
func BenchmarkEval(b *testing.B) {
	cases := []struct {
		name string
		req  Request
	}{
		{"redirect", Request{Scheme: "http", Host: "api.noxy.rev", Port: 80, Method: "GET", URI: "/x?y=1", Path: "/x", Query: "y=1"}},
		{"switch", Request{Scheme: "https", Host: "api.noxy.rev", Port: 443, Method: "GET", URI: "/x?y=1", Path: "/x", Query: "y=1"}},
		{"default", Request{Scheme: "https", Host: "www.noxy.rev", Port: 443, Method: "GET", URI: "/", Path: "/"}},
	}
	for _, native := range []bool{true, false} {
		p, err := compile(noxyComplex, native)
		if err != nil {
			b.Fatal(err)
		}
		evaluator := "native"
		if !native {
			evaluator = "vm"
		}
		for _, c := range cases {
			b.Run(evaluator+"/"+c.name, func(b *testing.B) {
				req := c.req
				req.Src = netip.MustParseAddr("192.0.2.1")
				var res Result
				b.ReportAllocs()
				for b.Loop() {
					if err := p.Eval(&req, &res, 0.5); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkEvalParallel runs the switch case on every CPU, which exercises
// the VM state pool.
func BenchmarkEvalParallel(b *testing.B) {
	for _, native := range []bool{true, false} {
		p, _ := compile(noxyComplex, native)
		name := "native"
		if !native {
			name = "vm"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				req := Request{Scheme: "https", Host: "api.noxy.rev", Port: 443, URI: "/x?y=1", Path: "/x", Query: "y=1"}
				var res Result
				for pb.Next() {
					_ = p.Eval(&req, &res, 0.5)
				}
			})
		})
	}
}

// BenchmarkConditions measures single conditions of the documented
// language.
func BenchmarkConditions(b *testing.B) {
	for _, src := range []string{
		"path startsWith '/api/' && method in ['GET', 'HEAD']",
		"inCIDR(src, '10.0.0.0/8', '192.168.0.0/16', 'fd00::/8')",
		"header('X-Env') == 'canary'",
		"path matches '^/v[0-9]+/users'",
		"lower(header('X-Env')) == 'canary'",
	} {
		e, err := compileBool(src, newRegexCache())
		if err != nil || e.native == nil {
			b.Fatalf("%q: %v, native %v", src, err, e.native != nil)
		}
		b.Run(src, func(b *testing.B) {
			var res Result
			res.f.req = testRequest()
			res.f.req.Headers = oneHeader{"X-Env", "canary"}
			b.ReportAllocs()
			for b.Loop() {
				_, _ = e.eval(&res.f)
			}
		})
	}
}

// oneHeader is a HeaderGetter with one header and no cookies that
// allocates nothing, as the proxy's must not.
type oneHeader struct{ name, value string }

func (h oneHeader) Header(name string) string {
	if strings.EqualFold(name, h.name) {
		return h.value
	}
	return ""
}

func (h oneHeader) Cookie(string) string { return "" }
