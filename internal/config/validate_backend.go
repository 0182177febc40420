package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/fulcrum-lb/fulcrum/internal/balance"
	"github.com/fulcrum-lb/fulcrum/internal/persist"
)

// validateBackend checks b's servers, balance options and checks.
func (d *decoder) validateBackend(b *Backend, p string) {
	d.needList(p+".servers", len(b.Servers), `{addr_port: "host:port"}`)
	switch {
	case b.Proto == "h2" && b.SSL == nil:
		d.errorAt(p+".proto", "h2 is HTTP/2 over TLS and needs ssl; use h2c for HTTP/2 in clear")
	case b.Proto == "h2c" && b.SSL != nil:
		d.errorAt(p+".proto", "h2c is HTTP/2 in clear and cannot go with ssl; use h2")
	}
	names := make(map[string]int, len(b.Servers))
	for i, s := range b.Servers {
		sp := index(p+".servers", i)
		if s.AddrPort == "" {
			d.missing(sp+".addr_port", `expected "host:port", such as "10.0.0.1:80"`)
		} else if _, msg := checkAddr(s.AddrPort, true); msg != "" {
			d.errorAt(sp+".addr_port", "%s", msg)
		}
		if s.Name == "" {
			continue
		}
		if j, dup := names[s.Name]; dup {
			at := sp + ".name"
			if !d.has(at) {
				at = sp + ".addr_port" // the name came from addr_port
			}
			d.errorAt(at, "duplicate server name %q (also servers[%d]); give each server a distinct name", s.Name, j)
			continue
		}
		names[s.Name] = i
	}

	d.validateChecks(b, p)
	d.validateBalance(b, p)
	d.validatePersist(b.Persist, p+".persist")
}

// validatePersist checks that the persistence options suit the type.
func (d *decoder) validatePersist(ps *Persist, p string) {
	if ps == nil || d.attempted(p+".type") {
		return // no persistence, or a wrong type: its options cannot be judged
	}
	if ps.Type == "" {
		d.missing(p+".type", "expected the persistence type: cookie, header or source")
		return
	}
	table := ps.Type == PersistHeader || ps.Type == PersistSource
	for _, k := range []struct {
		key, types string // types names the types the key applies to
		ok         bool
	}{
		{"cookie", "type cookie", ps.Type == PersistCookie},
		{"header", "type header", ps.Type == PersistHeader},
		{"expire", "types header and source", table},
		{"max_entries", "types header and source", table},
		{"ipv4_prefix", "type source", ps.Type == PersistSource},
		{"ipv6_prefix", "type source", ps.Type == PersistSource},
	} {
		if kp := p + "." + k.key; d.has(kp) && !d.attempted(kp) && !k.ok {
			d.errorAt(kp, "applies only to %s, not %s", k.types, ps.Type)
		}
	}
	switch ps.Type {
	case PersistHeader:
		if ps.Header == "" {
			d.missing(p+".header", "type header needs the request header whose value sticks to a server, such as X-Session-ID")
		}
	case PersistCookie:
		if c := ps.Cookie; c.SameSite == persist.SameSiteNone && !c.Secure {
			d.errorAt(p+".cookie.samesite", "none needs secure: true; browsers refuse a SameSite=None cookie that is not Secure")
		}
	}
}

// checkTCPPersist checks that a backend used by a tcp frontend persists by
// nothing an HTTP request would be needed for. It reports a backend once,
// however many tcp frontends use it.
func (d *decoder) checkTCPPersist(b *Backend, p, frontend string) {
	ps := b.Persist
	if ps == nil || (ps.Type != PersistCookie && ps.Type != PersistHeader) || d.attempted(p+".persist.type") {
		return
	}
	d.errorAt(p+".persist.type", "%s needs mode http, but tcp frontend %q uses this backend; only %s works in tcp mode",
		ps.Type, frontend, PersistSource)
}

// validateBalance checks that the balance options suit the algorithm.
func (d *decoder) validateBalance(b *Backend, p string) {
	alg := b.Balance.Algorithm
	if d.attempted(p+".balance") || d.attempted(p+".balance.algorithm") {
		return // the algorithm is wrong: its options cannot be judged
	}
	if d.has(p+".balance.key") && !usesKey(alg) {
		d.errorAt(p+".balance.key", "applies only to the %s and %s algorithms, not %s",
			balance.Hash, balance.Consistent, alg)
	}
	for _, k := range []string{"ipv4_prefix", "ipv6_prefix"} {
		if d.has(p+".balance."+k) && alg != string(balance.Source) {
			d.errorAt(p+".balance."+k, "applies only to the %s algorithm, not %s", balance.Source, alg)
		}
	}
}

// validateChecks checks the active and agent checks.
func (d *decoder) validateChecks(b *Backend, p string) {
	if h := b.Health; h != nil && h.Type != HealthHTTP {
		for _, k := range []string{"method", "path", "host", "expect", "expect_body"} {
			if d.has(p + ".health." + k) {
				d.errorAt(p+".health."+k, "needs type http; this check's type is %s", h.Type)
			}
		}
	}
	if h := b.Health; h != nil && h.Type == HealthHTTP && !strings.HasPrefix(h.Path, "/") {
		d.errorAt(p+".health.path", "expected a path starting with /, got %q", h.Path)
	}
	if a := b.Agent; a != nil && a.Port == 0 {
		d.missing(p+".agent.port", "expected the agent's port, from 1 to 65535")
	}
}

// checkAddr checks a "host:port" address. The port must be a number from 1
// (0 for a bind, which then gets a free port) to 65535; the host may be an IP address or a DNS name (not resolved
// here), or empty (all addresses) unless needHost. It returns the address
// normalised for comparison, or a message saying what is wrong.
func checkAddr(s string, needHost bool) (norm, msg string) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", fmt.Sprintf(`expected "host:port", such as "0.0.0.0:80" or "[::1]:8080", got %q`, s)
	}
	// A bind may ask for port 0: any free port, as the kernel chooses.
	lo := 1
	if !needHost {
		lo = 0
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < lo || n > 65535 || strings.Trim(port, "0123456789") != "" {
		return "", fmt.Sprintf("expected a port from %d to 65535 in %q, got %q", lo, s, port)
	}
	switch {
	case host == "" && needHost:
		return "", fmt.Sprintf("expected a host before the port in %q", s)
	case host == "":
	case strings.Contains(host, ":"): // IPv6, perhaps with a zone
		a, err := netip.ParseAddr(host)
		if err != nil {
			return "", fmt.Sprintf("invalid IPv6 address %q in %q", host, s)
		}
		host = a.String()
	case !hostname(host):
		return "", fmt.Sprintf("invalid host %q in %q: expected an IP address or a DNS name", host, s)
	}
	return net.JoinHostPort(strings.ToLower(host), strconv.Itoa(n)), ""
}

// hostname reports whether s looks like a DNS name (or an IPv4 address):
// dot-separated labels of letters, digits, '-' and '_', at most 253 bytes.
func hostname(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
