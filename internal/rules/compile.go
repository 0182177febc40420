package rules

import (
	"errors"
	"fmt"
	"net/textproto"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// Spec is one rule as written in the configuration: config.HTTPRule without
// its positions (this package does not import config, so that config can call
// CheckWhen and CheckValue while it validates).
type Spec struct {
	// When is the condition: a boolean expression.
	When string
	// Redirect is an expression giving the redirect's location, e.g.
	// "sprintf('https://%s%s', host, uri)". It is always an expression: a
	// fixed location is a quoted string, "'https://example.com/'".
	Redirect string
	// Code is the redirect's status: 301, 302, 303, 307 or 308; 0 means 302.
	Code int
	// UseBackend routes the request: one entry is a plain switch, several
	// split traffic by weight (a canary at 95/5, say).
	UseBackend []WeightedBackend
	// SetHeader and SetResponseHeader set request and response headers.
	// Their values are literal text, not expressions.
	SetHeader, SetResponseHeader map[string]string
	// DelHeader and DelResponseHeader remove request and response headers.
	DelHeader, DelResponseHeader []string
	// Deny answers with an error instead of forwarding.
	Deny *Deny
	// PathPrefix is put in front of the path forwarded to the backend:
	// "/api" forwards /v1/users?id=1 as /api/v1/users?id=1. It must start
	// with "/"; a trailing "/" is dropped, so that no "//" appears.
	PathPrefix string
}

// WeightedBackend is one choice of a use_backend list.
type WeightedBackend struct {
	// Name is the backend's name.
	Name string
	// Weight is relative to the list's other weights; 0 means never.
	Weight int
}

// Deny is a deny action: the status and body of the answer.
type Deny struct {
	// Status is from 400 to 599; 0 means 403.
	Status int
	// Body is sent as text/plain; "" lets the proxy send its default page.
	Body string
}

// Program is the compiled, immutable rule list of one frontend. It is safe
// for concurrent use by any number of goroutines.
type Program struct {
	rules []rule
	// regexps caches patterns of matches operators whose pattern is not a
	// literal, e.g. path matches header('X-Pattern').
	regexps *regexCache
	// states holds *vmState for expressions that run on expr's VM; it is
	// only used when some expression is beyond the native evaluator.
	states sync.Pool
	// vmSrc tells whether an expression run on the VM reads src, which
	// costs formatting the client address.
	vmSrc bool
}

// final is the action that ends a matching rule's evaluation.
type final uint8

const (
	finalNone final = iota
	finalRedirect
	finalDeny
	finalBackend
)

// rule is one compiled Spec.
type rule struct {
	when boolExpr
	// final and its arguments.
	final    final
	redirect strExpr
	code     int
	deny     *Deny
	backends []string
	cum      []int // cumulative weights of backends
	// Modifiers, sorted by header name for a stable order.
	setHeader, setResponseHeader []HeaderOp
	delHeader, delResponseHeader []string
	pathPrefix                   string
	modifies                     bool
}

// boolExpr is a compiled condition: native when native.go covers the whole
// expression, else run by expr's VM.
type boolExpr struct {
	native boolFn
	prog   *vm.Program
}

// strExpr is a compiled string expression (a redirect's location).
type strExpr struct {
	native strFn
	prog   *vm.Program
}

// redirectCodes are the statuses a redirect may have.
var redirectCodes = []int{301, 302, 303, 307, 308}

// CheckWhen compiles a when expression alone and returns a clear error (an
// *Error) if it is not a valid condition: a syntax error, an unknown name,
// a type error, an invalid literal network or regular expression, or an
// expression that is not a condition (true or false).
func CheckWhen(src string) error {
	_, err := compileBool(src, newRegexCache())
	return err
}

// CheckValue compiles a redirect expression alone and returns a clear error
// (an *Error) if it is not valid or does not give a string.
func CheckValue(src string) error {
	_, err := compileString(src, newRegexCache())
	return err
}

// Compile compiles a frontend's rules, in order. Its errors name the rule's
// index and field: "rule 2: when: unknown name "hots"; did you mean
// "host"?". All errors are reported, joined with errors.Join.
func Compile(specs []Spec) (*Program, error) {
	return compile(specs, true)
}

// compile is Compile; native=false runs every expression on expr's VM
// (tests compare the two evaluators).
func compile(specs []Spec, native bool) (*Program, error) {
	p := &Program{rules: make([]rule, len(specs)), regexps: newRegexCache()}
	p.states.New = func() any { return newVMState() }
	var errs []error
	fail := func(i int, field, format string, args ...any) {
		if field != "" {
			field += ": "
		}
		errs = append(errs, fmt.Errorf("rule %d: %s%s", i, field, fmt.Sprintf(format, args...)))
	}
	for i := range specs {
		s, r := &specs[i], &p.rules[i]
		var err error
		if r.when, err = compileBool(s.When, p.regexps); err != nil {
			fail(i, "when", "%v", err)
		}
		var finals []string
		if s.Redirect != "" {
			finals = append(finals, "redirect")
			r.final, r.code = finalRedirect, s.Code
			if r.code == 0 {
				r.code = 302
			}
			if !contains(redirectCodes, r.code) {
				fail(i, "code", "expected 301, 302, 303, 307 or 308, got %d", s.Code)
			}
			if r.redirect, err = compileString(s.Redirect, p.regexps); err != nil {
				fail(i, "redirect", "%v", err)
			}
		} else if s.Code != 0 {
			fail(i, "code", "needs redirect")
		}
		if len(s.UseBackend) > 0 {
			finals = append(finals, "use_backend")
			r.final = finalBackend
			if err := r.compileBackends(s.UseBackend); err != nil {
				fail(i, "use_backend", "%v", err)
			}
		}
		if s.Deny != nil {
			finals = append(finals, "deny")
			d := *s.Deny
			if d.Status == 0 {
				d.Status = 403
			}
			if d.Status < 400 || d.Status > 599 {
				fail(i, "deny", "expected a status from 400 to 599, got %d", d.Status)
			}
			r.final, r.deny = finalDeny, &d
		}
		if len(finals) > 1 {
			fail(i, finals[1], "cannot be combined with %s: a rule takes one of redirect, use_backend, deny", finals[0])
		}
		for _, e := range r.compileModifiers(s) {
			fail(i, e.field, "%v", e.err)
		}
		if r.final == finalNone && !r.modifies {
			fail(i, "", "needs an action: redirect, use_backend, deny, set_header, del_header, set_response_header, del_response_header or path_prefix")
		}
		if !native {
			r.when.native, r.redirect.native = nil, nil
		}
		if r.when.native == nil && readsSrc(r.when.prog) || r.redirect.native == nil && readsSrc(r.redirect.prog) {
			p.vmSrc = true
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// compileBackends checks and compiles a use_backend list.
func (r *rule) compileBackends(ws []WeightedBackend) error {
	total := 0
	seen := make(map[string]bool, len(ws))
	for _, w := range ws {
		switch {
		case w.Name == "":
			return errors.New("a backend name is empty")
		case seen[w.Name]:
			return fmt.Errorf("backend %q is listed twice", w.Name)
		case w.Weight < 0:
			return fmt.Errorf("backend %q has a negative weight %d", w.Name, w.Weight)
		}
		seen[w.Name] = true
		total += w.Weight
		r.backends = append(r.backends, w.Name)
		r.cum = append(r.cum, total)
	}
	if total == 0 {
		return errors.New("every weight is 0; at least one backend needs a weight above 0")
	}
	if len(ws) == 1 { // a plain switch: the weight does not matter
		r.cum = nil
	}
	return nil
}

type fieldError struct {
	field string
	err   error
}

// compileModifiers checks and compiles s's header and path actions.
func (r *rule) compileModifiers(s *Spec) []fieldError {
	var errs []fieldError
	sets := func(field string, m map[string]string) []HeaderOp {
		var ops []HeaderOp
		for name, value := range m {
			switch {
			case !isToken(name):
				errs = append(errs, fieldError{field, fmt.Errorf("invalid header name %q", name)})
			case !isHeaderValue(value):
				errs = append(errs, fieldError{field + "." + name, fmt.Errorf("invalid header value %q: control characters are not allowed", value)})
			default:
				ops = append(ops, HeaderOp{Name: textproto.CanonicalMIMEHeaderKey(name), Value: value})
			}
		}
		sort.Slice(ops, func(i, j int) bool { return ops[i].Name < ops[j].Name })
		return ops
	}
	dels := func(field string, names []string) []string {
		var out []string
		for _, name := range names {
			if !isToken(name) {
				errs = append(errs, fieldError{field, fmt.Errorf("invalid header name %q", name)})
				continue
			}
			out = append(out, textproto.CanonicalMIMEHeaderKey(name))
		}
		return out
	}
	r.setHeader = sets("set_header", s.SetHeader)
	r.setResponseHeader = sets("set_response_header", s.SetResponseHeader)
	r.delHeader = dels("del_header", s.DelHeader)
	r.delResponseHeader = dels("del_response_header", s.DelResponseHeader)
	if s.PathPrefix != "" {
		if !strings.HasPrefix(s.PathPrefix, "/") {
			errs = append(errs, fieldError{"path_prefix", fmt.Errorf("expected a path starting with /, got %q", s.PathPrefix)})
		}
		if !isHeaderValue(s.PathPrefix) || strings.ContainsAny(s.PathPrefix, " ?#") {
			errs = append(errs, fieldError{"path_prefix", fmt.Errorf("invalid path %q", s.PathPrefix)})
		}
		r.pathPrefix = strings.TrimRight(s.PathPrefix, "/")
	}
	r.modifies = len(s.SetHeader)+len(s.SetResponseHeader)+len(s.DelHeader)+len(s.DelResponseHeader) > 0 || s.PathPrefix != ""
	return errs
}

// options are expr's options for an expression of the given kind.
func options(kind reflect.Kind) []expr.Option {
	opts := []expr.Option{
		expr.Env(env{}),
		expr.DisableAllBuiltins(),
		expr.Optimize(true),
		expr.AsKind(kind),
	}
	for _, f := range functions {
		opts = append(opts, expr.Function(f.name, f.fn, f.typ))
	}
	return opts
}

// compileBool compiles a condition.
func compileBool(src string, re *regexCache) (boolExpr, error) {
	prog, err := compileExpr(src, reflect.Bool, re)
	if err != nil {
		return boolExpr{}, err
	}
	c := compiler{re: re}
	return boolExpr{native: c.boolean(prog.Node()), prog: prog}, nil
}

// compileString compiles a string-valued expression.
func compileString(src string, re *regexCache) (strExpr, error) {
	prog, err := compileExpr(src, reflect.String, re)
	if err != nil {
		return strExpr{}, err
	}
	c := compiler{re: re}
	return strExpr{native: c.str(prog.Node()), prog: prog}, nil
}

// compileExpr compiles src with expr and checks its literal networks.
func compileExpr(src string, kind reflect.Kind, re *regexCache) (*vm.Program, error) {
	if strings.TrimSpace(src) == "" {
		return nil, &Error{Msg: "empty expression"}
	}
	prog, err := expr.Compile(src, options(kind)...)
	if err != nil {
		// The checker's result-type error has no position.
		if got, ok := strings.CutPrefix(err.Error(), fmt.Sprintf("expected %v, but got ", kind)); ok {
			want := "a condition (true or false)"
			if kind == reflect.String {
				want = "a string"
			}
			e := typeError(want, got)
			if kind == reflect.String && isURLish(src) {
				e.Hint = urlHint
			}
			return nil, e
		}
		e := compileError(err, src)
		if kind == reflect.String && e.Hint == "" && isURLish(src) {
			e.Hint = urlHint
		}
		return nil, e
	}
	if err := checkNetworks(prog.Node(), src); err != nil {
		return nil, err
	}
	return prog, nil
}

// readsSrc reports whether prog reads the src variable.
func readsSrc(prog *vm.Program) bool {
	return prog != nil && ast.Find(prog.Node(), func(n ast.Node) bool {
		id, ok := n.(*ast.IdentifierNode)
		return ok && id.Value == "src"
	}) != nil
}

// checkNetworks reports the first literal network of an inCIDR call that
// does not parse, wherever the call is in the expression.
func checkNetworks(root ast.Node, src string) error {
	var err error
	ast.Find(root, func(n ast.Node) bool {
		call, ok := n.(*ast.CallNode)
		if !ok || err != nil {
			return false
		}
		if id, ok := call.Callee.(*ast.IdentifierNode); !ok || id.Value != "inCIDR" || len(call.Arguments) < 2 {
			return false
		}
		for _, a := range call.Arguments[1:] {
			if s, ok := a.(*ast.StringNode); ok {
				if _, perr := parseNetwork(s.Value); perr != nil {
					e := networkError(s.Value)
					e.Line, e.Column = position(src, s.Location().From)
					err = e
					return true
				}
			}
		}
		return false
	})
	return err
}

// position returns the 1-based line and column of the rune at offset from
// in src (expr's locations count runes).
func position(src string, from int) (line, col int) {
	line, col = 1, 1
	n := 0
	for _, r := range src {
		if n == from {
			break
		}
		n++
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// isToken reports whether s is a valid header name (RFC 9110 token).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// isHeaderValue reports whether s has no control characters but tab.
func isHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
