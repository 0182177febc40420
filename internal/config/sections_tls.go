package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/fulcrum-lb/fulcrum/internal/tlsconf"
)

// This file decodes the TLS and PROXY protocol keys: a frontend's ssl,
// accept_proxy and sni_routes, a backend's ssl. Names (versions, cipher
// suites, curves) are checked against package tlsconf's, so that what
// loads here, the runtime can build.

func sslFields(s *SSL) fields {
	return fields{
		"cert":     str(&s.Cert),
		"key":      str(&s.Key),
		"ca":       str(&s.CA),
		"versions": strList(&s.Versions),
		"alpn":     strList(&s.ALPN),
		"certs": func(d *decoder, v *yaml.Node, p string) {
			s.Certs = []CertPair{}
			d.list(v, p, "{cert, key}", func(e *yaml.Node, p string) {
				c := CertPair{Pos: pos(e)}
				d.mapping(e, p, fields{"cert": str(&c.Cert), "key": str(&c.Key)})
				s.Certs = append(s.Certs, c)
			})
		},
		"cert_dir":        str(&s.CertDir),
		"verify":          enum("verify mode", VerifyModes, func(v string) { s.Verify = v }),
		"ciphers":         ciphers(&s.Ciphers),
		"curves":          curves(&s.Curves),
		"session_tickets": boolean(&s.SessionTickets),
		"ticket_rotation": duration(&s.TicketRotation, true),
		"plain_http":      plainHTTP(&s.PlainHTTP),
	}
}

// ciphers decodes a list of cipher suite names, or one string of names
// separated by colons as HAProxy and NGINX write them.
func ciphers(dst *[]string) field {
	return func(d *decoder, v *yaml.Node, path string) {
		var names []string
		if v.Kind == yaml.ScalarNode && strings.Contains(v.Value, ":") {
			names = strings.Split(v.Value, ":")
		} else {
			strList(&names)(d, v, path)
		}
		*dst = []string{}
		for i, name := range names {
			at := path
			if v.Kind == yaml.SequenceNode {
				at = index(path, i)
			}
			_, err := tlsconf.CipherSuiteID(name)
			switch {
			case errors.Is(err, tlsconf.ErrUnknownSuite):
				known := tlsconf.CipherSuiteNames()
				if strings.Contains(name, "-") { // OpenSSL's spelling
					known = tlsconf.OpenSSLCipherSuiteNames()
				}
				d.errorAt(at, "unknown cipher suite %q%s", name, didYouMean(name, known))
			case err != nil:
				d.errorAt(at, "%v", err)
			default:
				*dst = append(*dst, name)
			}
		}
	}
}

// curves decodes a list of curve (key exchange group) names.
func curves(dst *[]string) field {
	return func(d *decoder, v *yaml.Node, path string) {
		var names []string
		strList(&names)(d, v, path)
		*dst = []string{}
		for i, name := range names {
			at := path
			if v.Kind == yaml.SequenceNode {
				at = index(path, i)
			}
			if _, ok := tlsconf.CurveID(name); !ok {
				d.errorAt(at, "unknown curve %q%s", name, didYouMean(name, tlsconf.CurveNames()))
				continue
			}
			*dst = append(*dst, name)
		}
	}
}

// plainHTTP decodes auto or off; true and false are taken for them.
func plainHTTP(dst *string) field {
	choices := []string{PlainHTTPAuto, PlainHTTPOff}
	return func(d *decoder, v *yaml.Node, path string) {
		if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!bool" {
			*dst = PlainHTTPOff
			if v.Value == "true" {
				*dst = PlainHTTPAuto
			}
			return
		}
		enum("plain_http value", choices, func(s string) { *dst = s })(d, v, path)
	}
}

// acceptProxy decodes a list of networks (CIDR prefixes or addresses); a
// single string is a list of one.
func acceptProxy(dst *[]netip.Prefix) field {
	return func(d *decoder, v *yaml.Node, path string) {
		var nets []string
		strList(&nets)(d, v, path)
		*dst = []netip.Prefix{}
		for i, s := range nets {
			at := path
			if v.Kind == yaml.SequenceNode {
				at = index(path, i)
			}
			p, msg := parseNetwork(s)
			if msg != "" {
				d.errorAt(at, "%s", msg)
				continue
			}
			*dst = append(*dst, p)
		}
	}
}

// parseNetwork parses a CIDR prefix ("10.0.0.0/8") or an address (a
// prefix of its full length). IPv4-mapped IPv6 forms are taken as IPv4.
// It returns a message saying what is wrong, or "".
func parseNetwork(s string) (netip.Prefix, string) {
	const what = "a network such as 10.0.0.0/8, fd00::/8 or 192.0.2.7"
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, fmt.Sprintf("expected %s, got %q", what, s)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), ""
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Sprintf("expected %s, got %q", what, s)
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Sprintf("%q has bits set past its /%d; did you mean %q?", s, p.Bits(), m.String())
	}
	return p, ""
}

// sniRoutes decodes a list of {sni, use_backend}.
func sniRoutes(dst *[]SNIRoute) field {
	return func(d *decoder, v *yaml.Node, path string) {
		*dst = []SNIRoute{}
		d.list(v, path, "{sni, use_backend}", func(e *yaml.Node, p string) {
			r := SNIRoute{Pos: pos(e)}
			d.mapping(e, p, sniRouteFields(&r))
			*dst = append(*dst, r)
		})
	}
}

func sniRouteFields(r *SNIRoute) fields {
	return fields{
		"sni": func(d *decoder, v *yaml.Node, p string) {
			var names []string
			strList(&names)(d, v, p)
			r.SNI = []string{}
			for i, n := range names {
				at := p
				if v.Kind == yaml.SequenceNode {
					at = index(p, i)
				}
				if !serverNamePattern(n) {
					d.errorAt(at, "expected a server name such as a.example.com, or a wildcard such as *.example.com, got %q", n)
					continue
				}
				r.SNI = append(r.SNI, strings.TrimSuffix(strings.ToLower(n), "."))
			}
		},
		"use_backend": str(&r.UseBackend),
	}
}

// serverNamePattern reports whether s is a DNS name, or "*." and a DNS
// name, and not an IP address (SNI carries names only).
func serverNamePattern(s string) bool {
	name := strings.TrimPrefix(s, "*.")
	if _, err := netip.ParseAddr(name); err == nil {
		return false
	}
	return hostname(name)
}

// backendSSLField decodes a backend's ssl: a mapping, or true (TLS with
// the defaults) or false (none).
func backendSSLField(dst **BackendSSL) field {
	return func(d *decoder, v *yaml.Node, path string) {
		if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!bool" {
			if v.Value == "true" {
				*dst = &BackendSSL{}
			}
			return
		}
		if v.Kind != yaml.MappingNode {
			d.expected(v, path, "true, false or a mapping {verify, sni, cert, key, alpn}")
			return
		}
		s := &BackendSSL{}
		d.mapping(v, path, backendSSLFields(s))
		*dst = s
	}
}

func backendSSLFields(s *BackendSSL) fields {
	return fields{
		"verify": str(&s.Verify),
		"sni": func(d *decoder, v *yaml.Node, p string) {
			const what = "a server name such as api.example.com (SNI carries no address)"
			if n, ok := d.scalar(v, p, what); ok {
				if _, err := netip.ParseAddr(n); err == nil || !hostname(n) {
					d.expected(v, p, what)
					return
				}
				s.SNI = n
			}
		},
		"cert": str(&s.Cert),
		"key":  str(&s.Key),
		"alpn": strList(&s.ALPN),
	}
}
