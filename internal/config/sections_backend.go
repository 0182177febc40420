package config

import (
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/fulcrum-lb/fulcrum/internal/balance"
)

// This file lists the keys of a backend and of its sections (servers,
// balance, health, agent, passive, persist); sections.go has the others.

func backendFields(b *Backend) fields {
	return fields{
		"name":    str(&b.Name),
		"balance": balanceField(&b.Balance),
		"servers": func(d *decoder, v *yaml.Node, p string) {
			b.Servers = []Server{}
			d.list(v, p, "servers", func(e *yaml.Node, p string) {
				s := Server{Pos: pos(e), Weight: DefaultWeight}
				d.mapping(e, p, serverFields(&s))
				b.Servers = append(b.Servers, s)
			})
		},
		"health":          healthField(&b.Health),
		"agent":           agentField(&b.Agent),
		"passive":         func(d *decoder, v *yaml.Node, p string) { d.mapping(v, p, passiveFields(&b.Passive)) },
		"timeout_connect": duration(&b.TimeoutConnect, true),
		"timeout_server":  duration(&b.TimeoutServer, true),
		"timeout_queue":   duration(&b.TimeoutQueue, false),
		"retries": func(d *decoder, v *yaml.Node, p string) {
			if n, ok := d.integer(v, p, 0, math.MaxInt); ok {
				b.Retries = &n
			}
		},
		"proto": enum("proto", []string{"h1", "h2", "h2c"}, func(s string) { b.Proto = s }),
		"retry_on": func(d *decoder, v *yaml.Node, p string) {
			b.RetryOn = []string{}
			d.list(v, p, "conditions", func(e *yaml.Node, p string) {
				enum("retry_on condition", RetryOnChoices, func(s string) { b.RetryOn = append(b.RetryOn, s) })(d, e, p)
			})
		},
		"pool": func(d *decoder, v *yaml.Node, p string) {
			d.mapping(v, p, fields{
				"max_idle":     nonNegative(&b.Pool.MaxIdle),
				"idle_timeout": duration(&b.Pool.IdleTimeout, true),
			})
		},
		"persist":    persistField(&b.Persist),
		"ssl":        backendSSLField(&b.SSL),
		"send_proxy": enum("PROXY protocol version", SendProxyVersions, func(s string) { b.SendProxy = s }),
	}
}

// persistField decodes a persistence type alone (persist: cookie) or a
// mapping of persistFields.
func persistField(dst **Persist) field {
	return func(d *decoder, v *yaml.Node, path string) {
		ps := &Persist{}
		*dst = ps
		switch v.Kind {
		case yaml.ScalarNode:
			d.seen[path+".type"] = v
			persistType(ps)(d, v, path)
		case yaml.MappingNode:
			d.mapping(v, path, persistFields(ps))
		default:
			d.expected(v, path, "a persistence type or a mapping {type, cookie, header, expire, max_entries, ipv4_prefix, ipv6_prefix}")
		}
	}
}

func persistType(ps *Persist) field {
	return enum("persistence type", PersistTypes, func(s string) { ps.Type = s })
}

func persistFields(ps *Persist) fields {
	return fields{
		"type": persistType(ps),
		"cookie": func(d *decoder, v *yaml.Node, p string) {
			d.mapping(v, p, cookieFields(&ps.Cookie))
		},
		"header":      tokenField(&ps.Header, "a header name, such as X-Session-ID"),
		"expire":      duration(&ps.Expire, true),
		"max_entries": positive(&ps.MaxEntries),
		"ipv4_prefix": intIn(&ps.IPv4Prefix, 0, 32),
		"ipv6_prefix": intIn(&ps.IPv6Prefix, 0, 128),
	}
}

func cookieFields(c *CookieSettings) fields {
	return fields{
		"name":     tokenField(&c.Name, "a cookie name: letters, digits and any of !#$%&'*+-.^_`|~"),
		"secure":   boolean(&c.Secure),
		"httponly": boolean(&c.HTTPOnly),
		"samesite": enum("samesite value", SameSiteValues, func(s string) { c.SameSite = s }),
		"max_age":  duration(&c.MaxAge, false),
		"path": func(d *decoder, v *yaml.Node, p string) {
			const what = "a path starting with /, of printable ASCII characters but ';'"
			if s, ok := d.scalar(v, p, what); ok {
				if !strings.HasPrefix(s, "/") || strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r > '~' || r == ';' }) {
					d.expected(v, p, what)
					return
				}
				c.Path = s
			}
		},
		"domain": func(d *decoder, v *yaml.Node, p string) {
			const what = "a domain name, such as example.com"
			if s, ok := d.scalar(v, p, what); ok {
				if !hostname(strings.TrimPrefix(s, ".")) {
					d.expected(v, p, what)
					return
				}
				c.Domain = s
			}
		},
	}
}

// tokenField decodes an HTTP token (a header or cookie name); what says
// what is expected.
func tokenField(dst *string, what string) field {
	return func(d *decoder, v *yaml.Node, path string) {
		if s, ok := d.scalar(v, path, what); ok {
			if !token(s) {
				d.expected(v, path, what)
				return
			}
			*dst = s
		}
	}
}

// algorithms returns the names of balance.Algorithms.
func algorithms() []string {
	names := make([]string, len(balance.Algorithms))
	for i, a := range balance.Algorithms {
		names[i] = string(a)
	}
	return names
}

// balanceField decodes an algorithm name or {algorithm, key, ipv4_prefix,
// ipv6_prefix}.
func balanceField(dst *Balance) field {
	return func(d *decoder, v *yaml.Node, path string) {
		alg := enum("algorithm", algorithms(), func(s string) { dst.Algorithm = s })
		switch v.Kind {
		case yaml.ScalarNode:
			alg(d, v, path)
			return
		case yaml.SequenceNode:
			d.expected(v, path, "an algorithm name or a mapping {algorithm, key, ipv4_prefix, ipv6_prefix}")
			return
		}
		d.mapping(v, path, fields{
			"algorithm":   alg,
			"key":         balanceKey(&dst.Key),
			"ipv4_prefix": intIn(&dst.IPv4Prefix, 0, 32),
			"ipv6_prefix": intIn(&dst.IPv6Prefix, 0, 128),
		})
	}
}

// balanceKey decodes "src", "uri", "header:NAME" or "cookie:NAME".
func balanceKey(dst *string) field {
	return func(d *decoder, v *yaml.Node, path string) {
		const what = `"src", "uri", "header:NAME" or "cookie:NAME"`
		s, ok := d.scalar(v, path, what)
		if !ok {
			return
		}
		kind, name, named := strings.Cut(s, ":")
		switch {
		case !named && (s == KeySource || s == KeyURI):
		case named && (kind == "header" || kind == "cookie") && token(name):
		default:
			d.expected(v, path, what)
			return
		}
		*dst = s
	}
}

func serverFields(s *Server) fields {
	return fields{
		"name":      str(&s.Name),
		"addr_port": str(&s.AddrPort),
		"weight":    intIn(&s.Weight, 0, MaxWeight),
		"backup":    boolean(&s.Backup),
		"maxconn":   nonNegative(&s.MaxConn),
		"disabled":  boolean(&s.Disabled),
	}
}

// healthField decodes a health mapping; true asks for the default check
// and false for none.
func healthField(dst **Health) field {
	return func(d *decoder, v *yaml.Node, path string) {
		if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!bool" {
			var on bool
			_ = v.Decode(&on)
			if on {
				*dst = &Health{}
			}
			return
		}
		h := &Health{}
		d.mapping(v, path, fields{
			"type":          enum("check type", []string{HealthTCP, HealthHTTP}, func(s string) { h.Type = s }),
			"interval":      duration(&h.Interval, true),
			"fast_interval": duration(&h.FastInterval, true),
			"down_interval": duration(&h.DownInterval, true),
			"timeout":       duration(&h.Timeout, true),
			"rise":          positive(&h.Rise),
			"fall":          positive(&h.Fall),
			"initial":       enum("initial state", []string{InitialUp, InitialDown}, func(s string) { h.Initial = s }),
			"port":          intIn(&h.Port, 0, 65535),
			"method":        method(&h.Method),
			"path":          str(&h.Path),
			"host":          str(&h.Host),
			"expect":        expect(&h.Expect),
			"expect_body":   str(&h.ExpectBody),
		})
		*dst = h
	}
}

// method decodes an HTTP method: upper-case letters.
func method(dst *string) field {
	return func(d *decoder, v *yaml.Node, path string) {
		s, ok := d.scalar(v, path, "an HTTP method")
		if !ok {
			return
		}
		if s == "" || strings.TrimFunc(s, func(r rune) bool { return r >= 'A' && r <= 'Z' }) != "" {
			d.expected(v, path, "an HTTP method in capitals, such as GET or HEAD")
			return
		}
		*dst = s
	}
}

// expect decodes a status, a "lo-hi" range, or a list of them.
func expect(dst *[]StatusRange) field {
	one := func(d *decoder, v *yaml.Node, path string) {
		const what = `a status from 100 to 599 or a range such as "200-399"`
		s, ok := d.scalar(v, path, what)
		if !ok {
			return
		}
		lo, hi, isRange := strings.Cut(s, "-")
		if !isRange {
			hi = lo
		}
		l, err1 := strconv.Atoi(strings.TrimSpace(lo))
		h, err2 := strconv.Atoi(strings.TrimSpace(hi))
		if err1 != nil || err2 != nil || l < 100 || h > 599 || l > h {
			d.expected(v, path, what)
			return
		}
		*dst = append(*dst, StatusRange{Lo: l, Hi: h})
	}
	return func(d *decoder, v *yaml.Node, path string) {
		*dst = []StatusRange{}
		if v.Kind == yaml.SequenceNode {
			d.list(v, path, "statuses", func(e *yaml.Node, p string) { one(d, e, p) })
			return
		}
		one(d, v, path)
	}
}

func agentField(dst **Agent) field {
	return func(d *decoder, v *yaml.Node, path string) {
		a := &Agent{}
		d.mapping(v, path, fields{
			"port":     intIn(&a.Port, 1, 65535),
			"interval": duration(&a.Interval, true),
			"timeout":  duration(&a.Timeout, true),
			"send":     str(&a.Send),
		})
		*dst = a
	}
}

func passiveFields(p *Passive) fields {
	return fields{
		"fall": nonNegative(&p.Fall),
		"hold": duration(&p.Hold, true),
	}
}
