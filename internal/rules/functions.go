package rules

import (
	"fmt"
	"net/netip"
	"strings"
)

// function is one function of the expression language. fn is what expr's
// VM calls (its arguments arrive already checked against typ, so the type
// assertions cannot fail); native.go calls the Go functions below directly.
type function struct {
	name string
	fn   func(args ...any) (any, error)
	typ  any // a pointer to a func type: the signature expr checks calls against
}

// functions are the language's functions besides header and cookie (which
// read the request and are therefore env fields). expr's own builtins are
// all disabled: this list is the whole library, and every entry has a
// native implementation. contains, matches, startsWith and endsWith are
// operators (host endsWith '.example.com'), not functions.
var functions = []function{
	{"sprintf", func(a ...any) (any, error) { return fmt.Sprintf(a[0].(string), a[1:]...), nil }, new(func(string, ...any) string)},
	{"hasPrefix", func(a ...any) (any, error) { return strings.HasPrefix(a[0].(string), a[1].(string)), nil }, new(func(string, string) bool)},
	{"hasSuffix", func(a ...any) (any, error) { return strings.HasSuffix(a[0].(string), a[1].(string)), nil }, new(func(string, string) bool)},
	{"lower", func(a ...any) (any, error) { return strings.ToLower(a[0].(string)), nil }, new(func(string) string)},
	{"upper", func(a ...any) (any, error) { return strings.ToUpper(a[0].(string)), nil }, new(func(string) string)},
	{"trim", func(a ...any) (any, error) { return strings.TrimSpace(a[0].(string)), nil }, new(func(string) string)},
	{"trimPrefix", func(a ...any) (any, error) { return strings.TrimPrefix(a[0].(string), a[1].(string)), nil }, new(func(string, string) string)},
	{"trimSuffix", func(a ...any) (any, error) { return strings.TrimSuffix(a[0].(string), a[1].(string)), nil }, new(func(string, string) string)},
	{"replace", func(a ...any) (any, error) { return replace(a[0].(string), a[1].(string), a[2].(string)) }, new(func(string, string, string) string)},
	{"len", func(a ...any) (any, error) { return len(a[0].(string)), nil }, new(func(string) int)},
	{"inCIDR", vmInCIDR, new(func(string, string, ...string) bool)},
}

// maxReplace bounds the length of replace's result. replace is the one
// function whose result can grow faster than its arguments: replacing the
// empty string with a header inserts the header between every two bytes.
const maxReplace = 1 << 20

// replace is strings.ReplaceAll, failing rather than building a result
// longer than maxReplace bytes.
func replace(s, old, new string) (string, error) {
	if len(new) > len(old) {
		n := strings.Count(s, old)
		if n > 0 && len(new)-len(old) > (maxReplace-len(s))/n {
			return "", fmt.Errorf("replace: the result would be longer than %d bytes", maxReplace)
		}
	}
	return strings.ReplaceAll(s, old, new), nil
}

// functionNames are the names expressions may call, for messages.
func functionNames() []string {
	names := []string{"header", "cookie"}
	for _, f := range functions {
		names = append(names, f.name)
	}
	return names
}

// vmInCIDR is inCIDR for the VM: it parses its networks on every call
// (native.go parses literal networks once, at compile time).
func vmInCIDR(a ...any) (any, error) {
	addr, _ := netip.ParseAddr(a[0].(string))
	var ps [1]netip.Prefix
	for _, s := range a[1:] {
		p, err := parseNetwork(s.(string))
		if err != nil {
			return nil, err
		}
		ps[0] = p
		if inNetworks(addr, ps[:]) {
			return true, nil
		}
	}
	return false, nil
}

// parseNetwork parses an inCIDR network: a CIDR prefix such as
// "10.0.0.0/8" or "2001:db8::/32" (host bits are ignored), or a single
// address, which is a network of one.
func parseNetwork(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, networkError(s)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, networkError(s)
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// networkError is the error for an inCIDR network that does not parse.
func networkError(s string) *Error {
	return &Error{
		Msg:  fmt.Sprintf("inCIDR: invalid network %q", s),
		Hint: "expected a CIDR prefix such as 10.0.0.0/8 or 2001:db8::/32, or an address",
	}
}

// inNetworks reports whether a is in one of ps. IPv4 addresses that arrive
// IPv4-mapped (::ffff:10.0.0.1) match IPv4 networks; zones are ignored. An
// invalid a matches nothing.
func inNetworks(a netip.Addr, ps []netip.Prefix) bool {
	if !a.IsValid() {
		return false
	}
	a = a.WithZone("").Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
