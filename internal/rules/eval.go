package rules

import (
	"errors"
	"fmt"

	"github.com/expr-lang/expr/vm"
)

// Result is what evaluating the rules decided for one request. The proxy
// owns one per request (or reuses one per connection) and Eval fills it.
// A Result must not be used by two Evals at once.
type Result struct {
	// Redirect is the location when a redirect rule matched, else "".
	Redirect string
	// RedirectCode is the redirect's status (301, 302, 303, 307, 308).
	RedirectCode int
	// Deny is the deny action when a deny rule matched, else nil. It
	// belongs to the Program and must not be modified.
	Deny *Deny
	// Backend is the backend chosen by the first matching use_backend
	// rule; "" means the frontend's default backend.
	Backend string
	// SetHeader are request headers to set (replacing any value), in rule
	// order, and DelHeader request headers to remove. Names are in
	// canonical form (X-Forwarded-Proto). Eval has already resolved the
	// order between rules: a name is either only set or only deleted, so
	// the proxy applies DelHeader, then SetHeader in order (a later set
	// of the same name wins). Both are only meant for forwarded requests.
	SetHeader []HeaderOp
	DelHeader []string
	// SetResponseHeader and DelResponseHeader are the same for the
	// response; they also apply to a redirect or deny answer.
	SetResponseHeader []HeaderOp
	DelResponseHeader []string
	// PathPrefix goes in front of the path forwarded to the backend; ""
	// for none.
	PathPrefix string

	f frame
}

// HeaderOp sets header Name to Value.
type HeaderOp struct{ Name, Value string }

// Reset empties r, keeping the capacity of its lists.
func (r *Result) Reset() {
	r.Redirect, r.RedirectCode, r.Deny, r.Backend, r.PathPrefix = "", 0, nil, "", ""
	r.SetHeader = r.SetHeader[:0]
	r.DelHeader = r.DelHeader[:0]
	r.SetResponseHeader = r.SetResponseHeader[:0]
	r.DelResponseHeader = r.DelResponseHeader[:0]
}

// Final reports whether a final action (redirect, deny or use_backend)
// matched.
func (r *Result) Final() bool { return r.Redirect != "" || r.Deny != nil || r.Backend != "" }

// Eval runs the rules in order on req and fills res (resetting it first).
//
// A rule matches when its when expression is true. The header and path
// actions of every matching rule accumulate, in rule order; the first
// matching rule with a final action (redirect, deny or use_backend) applies
// its own header and path actions, then its final action, and stops the
// evaluation. A weighted use_backend list picks with rnd, which must be in
// [0, 1): the proxy passes a random number, tests pass fixed ones.
//
// An expression that fails at run time makes its rule not match; the
// evaluation goes on with the next rule, and Eval returns the first such
// failure as a *RuntimeError once res is complete. A redirect whose location
// is empty is such a failure. Expressions always see the request as it
// arrived: the actions of earlier rules do not change what later
// expressions read.
//
// A nil Program has no rules. Eval allocates nothing for conditions and actions that the native
// evaluator covers, except the strings an expression builds (a redirect's
// location, say).
func (p *Program) Eval(req *Request, res *Result, rnd float64) error {
	res.Reset()
	if p == nil {
		return nil
	}
	f := &res.f
	f.req, f.prog = req, p
	var first error
	for i := range p.rules {
		r := &p.rules[i]
		ok, err := r.when.eval(f)
		if err != nil {
			if first == nil {
				first = &RuntimeError{Rule: i, Field: "when", Err: err}
			}
			continue
		}
		if !ok {
			continue
		}
		var location string
		if r.final == finalRedirect {
			if location, err = r.redirect.eval(f); err == nil && location == "" {
				err = errors.New("the location is empty")
			}
			if err != nil {
				if first == nil {
					first = &RuntimeError{Rule: i, Field: "redirect", Err: err}
				}
				continue
			}
		}
		if r.modifies {
			r.modify(res)
		}
		switch r.final {
		case finalRedirect:
			res.Redirect, res.RedirectCode = location, r.code
		case finalDeny:
			res.Deny = r.deny
		case finalBackend:
			res.Backend = r.pick(rnd)
		default:
			continue
		}
		break // a final action ends the evaluation
	}
	f.release()
	return first
}

// pick chooses one of r's backends with rnd in [0, 1): backend i is chosen
// for rnd in [cum[i-1], cum[i]) / total, so a weight of 0 is never chosen.
func (r *rule) pick(rnd float64) string {
	if len(r.backends) == 1 {
		return r.backends[0]
	}
	total := r.cum[len(r.cum)-1]
	x := int(rnd * float64(total))
	x = max(0, min(x, total-1)) // rnd outside [0, 1) picks an end
	for i, c := range r.cum {
		if x < c {
			return r.backends[i]
		}
	}
	return r.backends[len(r.backends)-1]
}

// modify applies r's header and path actions to res.
func (r *rule) modify(res *Result) {
	res.DelHeader, res.SetHeader = deleteHeaders(res.DelHeader, res.SetHeader, r.delHeader)
	res.SetHeader, res.DelHeader = setHeaders(res.SetHeader, res.DelHeader, r.setHeader)
	res.DelResponseHeader, res.SetResponseHeader = deleteHeaders(res.DelResponseHeader, res.SetResponseHeader, r.delResponseHeader)
	res.SetResponseHeader, res.DelResponseHeader = setHeaders(res.SetResponseHeader, res.DelResponseHeader, r.setResponseHeader)
	if r.pathPrefix != "" {
		// Each rule prefixes the path as earlier rules left it.
		if res.PathPrefix == "" {
			res.PathPrefix = r.pathPrefix
		} else {
			res.PathPrefix = r.pathPrefix + res.PathPrefix
		}
	}
}

// deleteHeaders adds names to dels and drops earlier sets of those names.
func deleteHeaders(dels []string, sets []HeaderOp, names []string) ([]string, []HeaderOp) {
	for _, name := range names {
		sets = removeOps(sets, name)
		if !contains(dels, name) {
			dels = append(dels, name)
		}
	}
	return dels, sets
}

// setHeaders adds ops to sets and drops earlier deletions of their names.
func setHeaders(sets []HeaderOp, dels []string, ops []HeaderOp) ([]HeaderOp, []string) {
	for _, op := range ops {
		dels = removeNames(dels, op.Name)
		sets = append(sets, op)
	}
	return sets, dels
}

func removeOps(ops []HeaderOp, name string) []HeaderOp {
	out := ops[:0]
	for _, op := range ops {
		if op.Name != name {
			out = append(out, op)
		}
	}
	return out
}

func removeNames(names []string, name string) []string {
	out := names[:0]
	for _, n := range names {
		if n != name {
			out = append(out, n)
		}
	}
	return out
}

// eval evaluates a condition.
func (e *boolExpr) eval(f *frame) (bool, error) {
	if e.native != nil {
		f.err = nil
		v := e.native(f)
		if f.err != nil {
			return false, f.err
		}
		return v, nil
	}
	out, err := f.run(e.prog)
	if err != nil {
		return false, err
	}
	v, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("expected true or false, got %T", out)
	}
	return v, nil
}

// eval evaluates a string expression.
func (e *strExpr) eval(f *frame) (string, error) {
	if e.native != nil {
		f.err = nil
		v := e.native(f)
		if f.err != nil {
			return "", f.err
		}
		return v, nil
	}
	out, err := f.run(e.prog)
	if err != nil {
		return "", err
	}
	v, ok := out.(string)
	if !ok {
		return "", fmt.Errorf("expected a string, got %T", out)
	}
	return v, nil
}

// vmState is what running expressions on expr's VM needs, kept in a
// sync.Pool per Program: the VM (whose stacks are reused) and the
// environment filled from the request.
type vmState struct {
	vm  vm.VM
	env env
	req *Request
}

func newVMState() *vmState {
	s := &vmState{}
	// Method values, made once per state rather than per request.
	s.env.Header = s.header
	s.env.Cookie = s.cookie
	return s
}

func (s *vmState) header(name string) string { return s.req.header(name) }
func (s *vmState) cookie(name string) string { return s.req.cookie(name) }

// run runs prog on the VM, taking a state from the pool (and filling it
// from the request) on the first call of this Eval.
func (f *frame) run(prog *vm.Program) (any, error) {
	if f.st == nil {
		f.st = f.prog.states.Get().(*vmState)
		r := f.req
		f.st.req = r
		f.st.env.Scheme, f.st.env.Host, f.st.env.Port = r.Scheme, r.Host, r.Port
		f.st.env.Method, f.st.env.URI, f.st.env.Path, f.st.env.Query = r.Method, r.URI, r.Path, r.Query
		f.st.env.SSLSNI, f.st.env.SSLVersion, f.st.env.SSLALPN = r.SSLSNI, r.SSLVersion, r.SSLALPN
		f.st.env.SSLClientVerified, f.st.env.SSLClientCN, f.st.env.SSLClientSHA256 = r.SSLClientVerified, r.SSLClientCN, r.SSLClientSHA256
		if f.prog.vmSrc {
			f.st.env.Src = r.src()
		}
	}
	out, err := f.st.vm.Run(prog, &f.st.env)
	if err != nil {
		return nil, vmError(err)
	}
	return out, nil
}

// release returns the VM state to the pool and drops the frame's
// references to the request.
func (f *frame) release() {
	if st := f.st; st != nil {
		header, cookie := st.env.Header, st.env.Cookie
		st.env = env{Header: header, Cookie: cookie}
		st.req = nil
		f.prog.states.Put(st)
	}
	*f = frame{}
}
