package config

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/fulcrum-lb/fulcrum/internal/persist"
)

// This file lists, section by section, the keys valid in each mapping and
// how each value is decoded (a backend's sections are in
// sections_backend.go, TLS and PROXY protocol keys in sections_tls.go). It
// checks types, ranges and enumerations, which need one value only;
// defaults.go and the validate files do the rest.

func pos(n *yaml.Node) Pos { return Pos{Line: n.Line, Col: n.Column} }

// document decodes the top-level mapping into c.
// Top-level keys starting with "x-" are ignored, as in Compose files: they
// are a place to define YAML anchors for use further down.
func (d *decoder) document(root *yaml.Node, c *Config) {
	d.seen[""] = root
	fs := fields{
		"global": func(d *decoder, v *yaml.Node, p string) {
			d.mapping(v, p, globalFields(&c.Global))
		},
		"defaults": func(d *decoder, v *yaml.Node, p string) {
			d.mapping(v, p, defaultsFields(&c.Defaults))
		},
		"frontend": func(d *decoder, v *yaml.Node, p string) {
			d.list(v, p, "frontends", func(e *yaml.Node, p string) {
				f := Frontend{Pos: pos(e)}
				d.mapping(e, p, frontendFields(&f))
				c.Frontends = append(c.Frontends, f)
			})
		},
		"backend": func(d *decoder, v *yaml.Node, p string) {
			d.list(v, p, "backends", func(e *yaml.Node, p string) {
				b := Backend{Pos: pos(e)}
				d.mapping(e, p, backendFields(&b))
				c.Backends = append(c.Backends, b)
			})
		},
	}
	if root.Kind == yaml.MappingNode {
		for i := 0; i < len(root.Content); i += 2 {
			if k := root.Content[i]; strings.HasPrefix(k.Value, "x-") {
				fs[k.Value] = func(*decoder, *yaml.Node, string) {}
			}
		}
	}
	d.mapping(root, "", fs)
}

func globalFields(g *Global) fields {
	return fields{
		"maxconn":          nonNegative(&g.MaxConn),
		"threads":          threads(&g.Threads),
		"health_check":     duration(&g.HealthCheck, true),
		"resolve_interval": duration(&g.ResolveInterval, true),
		"timeout_shutdown": duration(&g.TimeoutShutdown, false),
		"access_log": func(d *decoder, v *yaml.Node, p string) {
			if v.Kind == yaml.ScalarNode { // a target alone
				if t, ok := d.scalar(v, p, `"stdout", "stderr", "off" or a file path`); ok {
					g.AccessLog.Target = t
				}
				return
			}
			d.mapping(v, p, fields{
				"target": str(&g.AccessLog.Target),
				"format": enum("format", []string{"text", "json"}, func(s string) { g.AccessLog.Format = s }),
			})
		},
		"cookie_secret": func(d *decoder, v *yaml.Node, p string) {
			s, ok := d.scalar(v, p, "a string")
			if !ok {
				return
			}
			if len(s) < persist.MinSecretLen {
				// The secret itself is never repeated in a message.
				d.errorf(v, p, "expected a secret of at least %d bytes, got %d; use e.g. the output of openssl rand -base64 32",
					persist.MinSecretLen, len(s))
				return
			}
			g.CookieSecret = s
		},
	}
}

// threads decodes an integer ≥ 1, or "max" (stored as 0: every CPU).
func threads(dst *int) field {
	return func(d *decoder, v *yaml.Node, path string) {
		var n int64
		switch {
		case v.Kind == yaml.ScalarNode && v.Value == ThreadsMax:
			*dst = 0
		case v.Kind == yaml.ScalarNode && v.ShortTag() == "!!int" && v.Decode(&n) == nil && n >= 1:
			*dst = int(n)
		default:
			d.expected(v, path, `a positive integer or "max"`)
		}
	}
}

func defaultsFields(df *Defaults) fields {
	return fields{
		"mode":            mode(&df.Mode),
		"maxconn":         nonNegative(&df.MaxConn),
		"timeout_connect": duration(&df.TimeoutConnect, true),
		"timeout_client":  duration(&df.TimeoutClient, true),
		"timeout_server":  duration(&df.TimeoutServer, true),
		"timeout_queue":   duration(&df.TimeoutQueue, false),
		"retries":         nonNegative(&df.Retries),
	}
}

func mode(dst *Mode) field {
	return enum("mode", []string{string(ModeTCP), string(ModeHTTP)}, func(s string) { *dst = Mode(s) })
}

func frontendFields(f *Frontend) fields {
	return fields{
		"name": str(&f.Name),
		"mode": mode(&f.Mode),
		"bind": func(d *decoder, v *yaml.Node, p string) {
			f.Bind = []Bind{}
			d.list(v, p, "binds", func(e *yaml.Node, p string) {
				b := Bind{Pos: pos(e)}
				d.mapping(e, p, fields{"addr_port": str(&b.AddrPort)})
				f.Bind = append(f.Bind, b)
			})
		},
		"ssl": func(d *decoder, v *yaml.Node, p string) {
			f.SSL = &SSL{}
			d.mapping(v, p, sslFields(f.SSL))
		},
		"accept_proxy": acceptProxy(&f.AcceptProxy),
		"sni_routes":   sniRoutes(&f.SNIRoutes),
		"use_backend":  str(&f.UseBackend),
		"http_condition": func(d *decoder, v *yaml.Node, p string) {
			d.list(v, p, "rules", func(e *yaml.Node, p string) {
				r := HTTPRule{Pos: pos(e)}
				d.mapping(e, p, ruleFields(&r))
				f.HTTPCondition = append(f.HTTPCondition, r)
			})
		},
		"maxconn":         nonNegative(&f.MaxConn),
		"timeout_connect": duration(&f.TimeoutConnect, true),
		"timeout_client":  duration(&f.TimeoutClient, true),
		"timeout_server":  duration(&f.TimeoutServer, true),
		"timeout_queue":   duration(&f.TimeoutQueue, false),
		"retries":         nonNegative(&f.Retries),
		"request_id": func(d *decoder, v *yaml.Node, p string) {
			if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!bool" && v.Value == "false" {
				f.RequestID = ""
				return
			}
			if s, ok := d.scalar(v, p, "a header name, or false"); ok {
				if !token(s) {
					d.expected(v, p, "a header name, or false")
					return
				}
				f.RequestID = s
			}
		},
		"forwarded":           boolean(&f.Forwarded),
		"h2c":                 boolean(&f.H2C),
		"forward_client_cert": boolean(&f.ForwardClientCert),
		"error_pages": func(d *decoder, v *yaml.Node, p string) {
			var m map[string]string
			strMap(&m)(d, v, p)
			f.ErrorPages = map[int]string{}
			for k, file := range m {
				code, err := strconv.Atoi(k)
				if err != nil || code < 400 || code > 599 {
					d.errorAt(join(p, k), "expected an error status from 400 to 599 as the key, got %q", k)
					continue
				}
				f.ErrorPages[code] = file
			}
		},
		"server_header": str(&f.ServerHeader),
	}
}

func ruleFields(r *HTTPRule) fields {
	return fields{
		"when":                str(&r.When),
		"redirect":            str(&r.Redirect),
		"code":                redirectCode(&r.Code),
		"use_backend":         weightedBackends(&r.UseBackend),
		"set_header":          strMap(&r.SetHeader),
		"del_header":          strList(&r.DelHeader),
		"set_response_header": strMap(&r.SetResponseHeader),
		"del_response_header": strList(&r.DelResponseHeader),
		"deny":                deny(&r.Deny),
		"path_prefix":         str(&r.PathPrefix),
	}
}

// redirectCode decodes one of RedirectCodes.
func redirectCode(dst *int) field {
	return func(d *decoder, v *yaml.Node, path string) {
		var n int
		if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!int" && v.Decode(&n) == nil {
			for _, c := range RedirectCodes {
				if n == c {
					*dst = n
					return
				}
			}
		}
		d.expected(v, path, "301, 302, 303, 307 or 308")
	}
}

// weightedBackends decodes a backend name (weight 1), or a list of
// {name, weight} where weight defaults to 1.
func weightedBackends(dst *[]WeightedBackend) field {
	return func(d *decoder, v *yaml.Node, path string) {
		if v.Kind == yaml.ScalarNode {
			*dst = []WeightedBackend{{Name: v.Value, Weight: DefaultWeight}}
			return
		}
		if v.Kind != yaml.SequenceNode {
			d.expected(v, path, "a backend name or a list of {name, weight}")
			return
		}
		*dst = []WeightedBackend{}
		d.list(v, path, "{name, weight}", func(e *yaml.Node, p string) {
			w := WeightedBackend{Weight: DefaultWeight}
			d.mapping(e, p, fields{
				"name":   str(&w.Name),
				"weight": nonNegative(&w.Weight),
			})
			*dst = append(*dst, w)
		})
	}
}

// deny decodes {status, body}, true (status 403), false (no deny) or a
// status alone.
func deny(dst **Deny) field {
	return func(d *decoder, v *yaml.Node, path string) {
		switch {
		case v.Kind == yaml.ScalarNode && v.ShortTag() == "!!bool":
			var on bool
			_ = v.Decode(&on)
			if on {
				*dst = &Deny{}
			}
		case v.Kind == yaml.ScalarNode && v.ShortTag() == "!!int":
			if n, ok := d.integer(v, path, 400, 599); ok {
				*dst = &Deny{Status: n}
			}
		case v.Kind == yaml.MappingNode:
			dn := &Deny{}
			d.mapping(v, path, fields{
				"status": intIn(&dn.Status, 400, 599),
				"body":   str(&dn.Body),
			})
			*dst = dn
		default:
			d.expected(v, path, "true, a status or a mapping {status, body}")
		}
	}
}

// sectionsWithKey names the sections where key is valid, e.g. "backend" or
// "defaults, frontend", or "" if none.
func sectionsWithKey(key string) string {
	sections := []struct {
		name string
		keys fields
	}{
		{"global", globalFields(new(Global))},
		{"defaults", defaultsFields(new(Defaults))},
		{"frontend", frontendFields(new(Frontend))},
		{"ssl", sslFields(new(SSL))},
		{"http_condition", ruleFields(new(HTTPRule))},
		{"sni_routes", sniRouteFields(new(SNIRoute))},
		{"backend", backendFields(new(Backend))},
		{"backend ssl", backendSSLFields(new(BackendSSL))},
		{"servers", serverFields(new(Server))},
		{"passive", passiveFields(new(Passive))},
		{"persist", persistFields(new(Persist))},
	}
	var in []string
	for _, s := range sections {
		if _, ok := s.keys[key]; ok {
			in = append(in, s.name)
		}
	}
	return strings.Join(in, ", ")
}

// token reports whether s is a non-empty HTTP token (RFC 9110 5.6.2), as
// header names and cookie names must be.
func token(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '!' || c > '~' || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
