package rules

import (
	"fmt"
	"net/netip"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/expr-lang/expr/ast"
)

// The native evaluator turns an expression's checked and optimised syntax
// tree (from expr's compiler) into a tree of Go closures. It covers the
// whole language fulcrum documents: the variables, the functions, string,
// integer and boolean literals, ==, !=, <, <=, >, >=, and, or, not, the
// string operators (startsWith, endsWith, contains, matches, +), in and
// not in over a literal list, integer +, - and *, and ?:. It reads the
// Request directly and allocates nothing except the strings an expression
// builds (sprintf, lower, +, ...).
//
// Anything else (let, ??, ranges, member access, floats, ...) makes the
// compiler return nil for the whole expression, which then runs on expr's
// VM. Both must give the same results: the tests run every case through
// both, and FuzzWhen compares them on arbitrary expressions.

// frame is the evaluation state of one Eval: the request, the first
// runtime error, and the VM state when an expression needed one. It lives
// in Result so that Eval allocates nothing.
type frame struct {
	req  *Request
	err  error
	st   *vmState
	prog *Program
}

// fail records err as the frame's error unless one is recorded already.
func (f *frame) fail(err error) {
	if f.err == nil {
		f.err = err
	}
}

type (
	boolFn func(*frame) bool
	strFn  func(*frame) string
	intFn  func(*frame) int
)

// compiler builds closures for one expression; a nil result means "not
// covered": the caller uses the VM for the whole expression.
type compiler struct {
	re *regexCache
}

// kind is n's static type as expr's checker found it.
func kind(n ast.Node) reflect.Kind { return n.Type().Kind() }

// boolean compiles a bool-valued node.
func (c *compiler) boolean(n ast.Node) boolFn {
	if kind(n) != reflect.Bool {
		return nil
	}
	switch n := n.(type) {
	case *ast.BoolNode:
		v := n.Value
		return func(*frame) bool { return v }
	case *ast.ConstantNode:
		if v, ok := n.Value.(bool); ok {
			return func(*frame) bool { return v }
		}
	case *ast.IdentifierNode:
		if n.Value == "ssl_client_verified" {
			return func(f *frame) bool { return f.req.SSLClientVerified }
		}
	case *ast.UnaryNode:
		if x := c.boolean(n.Node); x != nil && (n.Operator == "!" || n.Operator == "not") {
			return func(f *frame) bool { return !x(f) }
		}
	case *ast.BinaryNode:
		return c.binaryBool(n)
	case *ast.CallNode:
		return c.callBool(n)
	case *ast.ConditionalNode:
		cond, a, b := c.boolean(n.Cond), c.boolean(n.Exp1), c.boolean(n.Exp2)
		if cond != nil && a != nil && b != nil {
			return func(f *frame) bool {
				if cond(f) {
					return a(f)
				}
				return b(f)
			}
		}
	}
	return nil
}

// binaryBool compiles the binary operators that give a bool.
func (c *compiler) binaryBool(n *ast.BinaryNode) boolFn {
	switch n.Operator {
	case "&&", "and", "||", "or":
		l, r := c.boolean(n.Left), c.boolean(n.Right)
		if l == nil || r == nil {
			return nil
		}
		if n.Operator == "&&" || n.Operator == "and" {
			return func(f *frame) bool { return l(f) && r(f) }
		}
		return func(f *frame) bool { return l(f) || r(f) }
	case "in":
		return c.in(n)
	case "matches":
		return c.matches(n)
	}
	lk, rk := kind(n.Left), kind(n.Right)
	if lk != rk {
		return nil
	}
	switch lk {
	case reflect.String:
		l, r := c.str(n.Left), c.str(n.Right)
		if l == nil || r == nil {
			return nil
		}
		if s, ok := n.Right.(*ast.StringNode); ok { // the common case: a literal on the right
			lit := s.Value
			switch n.Operator {
			case "==":
				return func(f *frame) bool { return l(f) == lit }
			case "!=":
				return func(f *frame) bool { return l(f) != lit }
			case "startsWith":
				return func(f *frame) bool { return strings.HasPrefix(l(f), lit) }
			case "endsWith":
				return func(f *frame) bool { return strings.HasSuffix(l(f), lit) }
			case "contains":
				return func(f *frame) bool { return strings.Contains(l(f), lit) }
			}
		}
		if cmp := compareStrings(n.Operator); cmp != nil {
			return func(f *frame) bool { return cmp(l(f), r(f)) }
		}
	case reflect.Int:
		l, r := c.integer(n.Left), c.integer(n.Right)
		if l == nil || r == nil {
			return nil
		}
		if cmp := compareInts(n.Operator); cmp != nil {
			return func(f *frame) bool { return cmp(l(f), r(f)) }
		}
	case reflect.Bool:
		l, r := c.boolean(n.Left), c.boolean(n.Right)
		if l == nil || r == nil {
			return nil
		}
		switch n.Operator {
		case "==":
			return func(f *frame) bool { return l(f) == r(f) }
		case "!=":
			return func(f *frame) bool { return l(f) != r(f) }
		}
	}
	return nil
}

// compareStrings returns the comparison op on strings, or nil.
func compareStrings(op string) func(a, b string) bool {
	switch op {
	case "==":
		return func(a, b string) bool { return a == b }
	case "!=":
		return func(a, b string) bool { return a != b }
	case "<":
		return func(a, b string) bool { return a < b }
	case "<=":
		return func(a, b string) bool { return a <= b }
	case ">":
		return func(a, b string) bool { return a > b }
	case ">=":
		return func(a, b string) bool { return a >= b }
	case "startsWith":
		return strings.HasPrefix
	case "endsWith":
		return strings.HasSuffix
	case "contains":
		return strings.Contains
	}
	return nil
}

// compareInts returns the comparison op on ints, or nil.
func compareInts(op string) func(a, b int) bool {
	switch op {
	case "==":
		return func(a, b int) bool { return a == b }
	case "!=":
		return func(a, b int) bool { return a != b }
	case "<":
		return func(a, b int) bool { return a < b }
	case "<=":
		return func(a, b int) bool { return a <= b }
	case ">":
		return func(a, b int) bool { return a > b }
	case ">=":
		return func(a, b int) bool { return a >= b }
	}
	return nil
}

// in compiles x in [literal list] (the optimiser has turned the list into
// a set) for strings and ints.
func (c *compiler) in(n *ast.BinaryNode) boolFn {
	var set any
	switch r := n.Right.(type) {
	case *ast.ConstantNode:
		set = r.Value
	case *ast.ArrayNode:
		if len(r.Nodes) == 0 {
			return nil
		}
		strs := make(map[string]struct{}, len(r.Nodes))
		for _, e := range r.Nodes {
			s, ok := e.(*ast.StringNode)
			if !ok {
				return nil
			}
			strs[s.Value] = struct{}{}
		}
		set = strs
	}
	switch set := set.(type) {
	case map[string]struct{}:
		if l := c.str(n.Left); l != nil {
			return func(f *frame) bool { _, ok := set[l(f)]; return ok }
		}
	case map[int]struct{}:
		if l := c.integer(n.Left); l != nil {
			return func(f *frame) bool { _, ok := set[l(f)]; return ok }
		}
	}
	return nil
}

// matches compiles s matches pattern: a literal pattern is compiled once,
// here; any other is looked up in the program's cache at run time.
func (c *compiler) matches(n *ast.BinaryNode) boolFn {
	l := c.str(n.Left)
	if l == nil || kind(n.Right) != reflect.String {
		return nil
	}
	if lit, ok := n.Right.(*ast.StringNode); ok {
		re, err := regexp.Compile(lit.Value)
		if err != nil {
			return nil // expr reports it; leave it to the VM, to be safe
		}
		return func(f *frame) bool { return re.MatchString(l(f)) }
	}
	r := c.str(n.Right)
	if r == nil {
		return nil
	}
	cache := c.re
	return func(f *frame) bool {
		s := l(f)
		re, err := cache.get(r(f))
		if err != nil {
			f.fail(err)
			return false
		}
		return re.MatchString(s)
	}
}

// callee returns the name of a call's function, or "".
func callee(n *ast.CallNode) string {
	if id, ok := n.Callee.(*ast.IdentifierNode); ok {
		return id.Value
	}
	return ""
}

// strArgs compiles every argument of n as a string; nil if one is not.
func (c *compiler) strArgs(n *ast.CallNode) []strFn {
	args := make([]strFn, len(n.Arguments))
	for i, a := range n.Arguments {
		if args[i] = c.str(a); args[i] == nil {
			return nil
		}
	}
	return args
}

// callBool compiles the bool-valued functions.
func (c *compiler) callBool(n *ast.CallNode) boolFn {
	switch name := callee(n); name {
	case "hasPrefix", "hasSuffix":
		args := c.strArgs(n)
		if len(args) != 2 {
			return nil
		}
		s, p := args[0], args[1]
		if name == "hasPrefix" {
			return func(f *frame) bool { return strings.HasPrefix(s(f), p(f)) }
		}
		return func(f *frame) bool { return strings.HasSuffix(s(f), p(f)) }
	case "inCIDR":
		return c.inCIDR(n)
	}
	return nil
}

// inCIDR compiles inCIDR(ip, network, ...). inCIDR(src, ...) reads the
// client address as it is; literal networks are parsed here, once.
func (c *compiler) inCIDR(n *ast.CallNode) boolFn {
	if len(n.Arguments) < 2 {
		return nil
	}
	var addr func(*frame) netip.Addr
	if id, ok := n.Arguments[0].(*ast.IdentifierNode); ok && id.Value == "src" {
		addr = func(f *frame) netip.Addr { return f.req.Src }
	} else if s := c.str(n.Arguments[0]); s != nil {
		addr = func(f *frame) netip.Addr { a, _ := netip.ParseAddr(s(f)); return a }
	} else {
		return nil
	}
	var fixed []netip.Prefix
	var dynamic []strFn
	for _, a := range n.Arguments[1:] {
		if lit, ok := a.(*ast.StringNode); ok {
			p, err := parseNetwork(lit.Value)
			if err != nil {
				return nil // checkNetworks reports it
			}
			fixed = append(fixed, p)
			continue
		}
		s := c.str(a)
		if s == nil {
			return nil
		}
		dynamic = append(dynamic, s)
	}
	if len(dynamic) == 0 {
		return func(f *frame) bool { return inNetworks(addr(f), fixed) }
	}
	return func(f *frame) bool {
		a := addr(f)
		if inNetworks(a, fixed) {
			return true
		}
		var one [1]netip.Prefix
		for _, s := range dynamic {
			p, err := parseNetwork(s(f))
			if err != nil {
				f.fail(err)
				return false
			}
			if one[0] = p; inNetworks(a, one[:]) {
				return true
			}
		}
		return false
	}
}

// str compiles a string-valued node.
func (c *compiler) str(n ast.Node) strFn {
	if kind(n) != reflect.String {
		return nil
	}
	switch n := n.(type) {
	case *ast.StringNode:
		v := n.Value
		return func(*frame) string { return v }
	case *ast.ConstantNode:
		if v, ok := n.Value.(string); ok {
			return func(*frame) string { return v }
		}
	case *ast.IdentifierNode:
		return variable(n.Value)
	case *ast.BinaryNode:
		if n.Operator == "+" {
			l, r := c.str(n.Left), c.str(n.Right)
			if l != nil && r != nil {
				return func(f *frame) string { return l(f) + r(f) }
			}
		}
	case *ast.CallNode:
		return c.callStr(n)
	case *ast.ConditionalNode:
		cond, a, b := c.boolean(n.Cond), c.str(n.Exp1), c.str(n.Exp2)
		if cond != nil && a != nil && b != nil {
			return func(f *frame) string {
				if cond(f) {
					return a(f)
				}
				return b(f)
			}
		}
	}
	return nil
}

// variable returns the string variable called name, or nil.
func variable(name string) strFn {
	switch name {
	case "scheme":
		return func(f *frame) string { return f.req.Scheme }
	case "host":
		return func(f *frame) string { return f.req.Host }
	case "method":
		return func(f *frame) string { return f.req.Method }
	case "uri":
		return func(f *frame) string { return f.req.URI }
	case "path":
		return func(f *frame) string { return f.req.Path }
	case "query":
		return func(f *frame) string { return f.req.Query }
	case "src":
		return func(f *frame) string { return f.req.src() }
	case "ssl_sni":
		return func(f *frame) string { return f.req.SSLSNI }
	case "ssl_version":
		return func(f *frame) string { return f.req.SSLVersion }
	case "ssl_alpn":
		return func(f *frame) string { return f.req.SSLALPN }
	case "ssl_client_cn":
		return func(f *frame) string { return f.req.SSLClientCN }
	case "ssl_client_sha256":
		return func(f *frame) string { return f.req.SSLClientSHA256 }
	}
	return nil
}

// callStr compiles the string-valued functions.
func (c *compiler) callStr(n *ast.CallNode) strFn {
	name := callee(n)
	if name == "sprintf" {
		return c.sprintf(n)
	}
	args := c.strArgs(n)
	if args == nil {
		return nil
	}
	switch {
	case name == "header" && len(args) == 1:
		a := args[0]
		if lit, ok := n.Arguments[0].(*ast.StringNode); ok {
			name := lit.Value
			return func(f *frame) string { return f.req.header(name) }
		}
		return func(f *frame) string { return f.req.header(a(f)) }
	case name == "cookie" && len(args) == 1:
		a := args[0]
		return func(f *frame) string { return f.req.cookie(a(f)) }
	case name == "lower" && len(args) == 1:
		a := args[0]
		return func(f *frame) string { return strings.ToLower(a(f)) }
	case name == "upper" && len(args) == 1:
		a := args[0]
		return func(f *frame) string { return strings.ToUpper(a(f)) }
	case name == "trim" && len(args) == 1:
		a := args[0]
		return func(f *frame) string { return strings.TrimSpace(a(f)) }
	case name == "trimPrefix" && len(args) == 2:
		a, b := args[0], args[1]
		return func(f *frame) string { return strings.TrimPrefix(a(f), b(f)) }
	case name == "trimSuffix" && len(args) == 2:
		a, b := args[0], args[1]
		return func(f *frame) string { return strings.TrimSuffix(a(f), b(f)) }
	case name == "replace" && len(args) == 3:
		a, b, r := args[0], args[1], args[2]
		return func(f *frame) string {
			s, err := replace(a(f), b(f), r(f))
			if err != nil {
				f.fail(err)
			}
			return s
		}
	}
	return nil
}

// sprintf compiles sprintf(format, args...). A literal format made only of
// %s verbs (and %%), one per string argument, is built by concatenation
// into one exactly sized string; anything else goes through fmt.Sprintf
// as the VM does.
func (c *compiler) sprintf(n *ast.CallNode) strFn {
	if len(n.Arguments) == 0 {
		return nil
	}
	format := c.str(n.Arguments[0])
	if format == nil {
		return nil
	}
	rest := n.Arguments[1:]
	if lit, ok := n.Arguments[0].(*ast.StringNode); ok {
		if parts, ok := splitFormat(lit.Value); ok && len(parts) == len(rest)+1 {
			if args := c.strArgs(&ast.CallNode{Arguments: rest}); args != nil {
				return concat(parts, args)
			}
		}
	}
	vals := make([]func(*frame) any, len(rest))
	for i, a := range rest {
		switch kind(a) {
		case reflect.String:
			if s := c.str(a); s != nil {
				vals[i] = func(f *frame) any { return s(f) }
			}
		case reflect.Int:
			if x := c.integer(a); x != nil {
				vals[i] = func(f *frame) any { return x(f) }
			}
		case reflect.Bool:
			if b := c.boolean(a); b != nil {
				vals[i] = func(f *frame) any { return b(f) }
			}
		}
		if vals[i] == nil {
			return nil
		}
	}
	return func(f *frame) string {
		args := make([]any, len(vals))
		for i, v := range vals {
			args[i] = v(f)
		}
		return fmt.Sprintf(format(f), args...)
	}
}

// splitFormat splits a format of literal text and plain %s verbs into the
// texts around the verbs (with %% turned into %); ok is false when the
// format has any other verb or flag.
func splitFormat(format string) (parts []string, ok bool) {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			b.WriteByte(format[i])
			continue
		}
		if i+1 >= len(format) {
			return nil, false
		}
		switch format[i+1] {
		case '%':
			b.WriteByte('%')
		case 's':
			parts = append(parts, b.String())
			b.Reset()
		default:
			return nil, false
		}
		i++
	}
	return append(parts, b.String()), true
}

// concat returns a closure giving parts[0] + args[0] + parts[1] + ... with
// one allocation.
func concat(parts []string, args []strFn) strFn {
	fixed := 0
	for _, p := range parts {
		fixed += len(p)
	}
	return func(f *frame) string {
		// At most 8 arguments are evaluated into a stack array.
		var buf [8]string
		vals := buf[:0]
		size := fixed
		for _, a := range args {
			v := a(f)
			vals = append(vals, v)
			size += len(v)
		}
		var b strings.Builder
		b.Grow(size)
		for i, p := range parts {
			b.WriteString(p)
			if i < len(vals) {
				b.WriteString(vals[i])
			}
		}
		return b.String()
	}
}

// integer compiles an int-valued node.
func (c *compiler) integer(n ast.Node) intFn {
	if kind(n) != reflect.Int {
		return nil
	}
	switch n := n.(type) {
	case *ast.IntegerNode:
		v := n.Value
		return func(*frame) int { return v }
	case *ast.ConstantNode:
		if v, ok := n.Value.(int); ok {
			return func(*frame) int { return v }
		}
	case *ast.IdentifierNode:
		if n.Value == "port" {
			return func(f *frame) int { return f.req.Port }
		}
	case *ast.UnaryNode:
		if x := c.integer(n.Node); x != nil && n.Operator == "-" {
			return func(f *frame) int { return -x(f) }
		}
	case *ast.BinaryNode:
		l, r := c.integer(n.Left), c.integer(n.Right)
		if l == nil || r == nil {
			return nil
		}
		switch n.Operator {
		case "+":
			return func(f *frame) int { return l(f) + r(f) }
		case "-":
			return func(f *frame) int { return l(f) - r(f) }
		case "*":
			return func(f *frame) int { return l(f) * r(f) }
		}
	case *ast.CallNode:
		if callee(n) == "len" && len(n.Arguments) == 1 {
			if s := c.str(n.Arguments[0]); s != nil {
				return func(f *frame) int { return len(s(f)) }
			}
		}
	case *ast.ConditionalNode:
		cond, a, b := c.boolean(n.Cond), c.integer(n.Exp1), c.integer(n.Exp2)
		if cond != nil && a != nil && b != nil {
			return func(f *frame) int {
				if cond(f) {
					return a(f)
				}
				return b(f)
			}
		}
	}
	return nil
}

// maxCachedRegexps bounds the cache of non-literal patterns: patterns may
// come from requests.
const maxCachedRegexps = 256

// regexCache holds compiled patterns of matches operators whose pattern is
// not a literal. It is safe for concurrent use.
type regexCache struct {
	m sync.Map // pattern → *regexp.Regexp
	n atomic.Int32
}

func newRegexCache() *regexCache { return &regexCache{} }

// get returns pattern compiled.
func (c *regexCache) get(pattern string) (*regexp.Regexp, error) {
	if re, ok := c.m.Load(pattern); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	if c.n.Add(1) <= maxCachedRegexps {
		c.m.Store(pattern, re)
	}
	return re, nil
}
