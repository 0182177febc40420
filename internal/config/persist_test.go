package config

import (
	"strings"
	"testing"
	"time"
)

func TestPersist(t *testing.T) {
	t.Parallel()
	defaultCookie := CookieSettings{Name: DefaultCookieName, HTTPOnly: true, SameSite: "lax", Path: "/"}
	for _, tt := range []struct {
		yaml string
		want *Persist
	}{
		{"", nil},
		{"persist:", nil},
		{"persist: cookie", &Persist{Type: "cookie", Cookie: defaultCookie}},
		{"persist: {type: cookie}", &Persist{Type: "cookie", Cookie: defaultCookie}},
		{"persist: {type: cookie, cookie: {}}", &Persist{Type: "cookie", Cookie: defaultCookie}},
		{"persist: {type: cookie, cookie: {name: SRV, secure: true, httponly: true, samesite: lax, max_age: 1h, path: /, domain: example.com}}",
			&Persist{Type: "cookie", Cookie: CookieSettings{Name: "SRV", Secure: true, HTTPOnly: true, SameSite: "lax",
				MaxAge: Duration(time.Hour), Path: "/", Domain: "example.com"}}},
		{"persist: {type: cookie, cookie: {httponly: false, samesite: strict, path: /app, max_age: 90000}}",
			&Persist{Type: "cookie", Cookie: CookieSettings{Name: "SRVID", SameSite: "strict", Path: "/app",
				MaxAge: Duration(90 * time.Second)}}},
		{"persist: {type: cookie, cookie: {secure: true, samesite: none, domain: .example.com}}",
			&Persist{Type: "cookie", Cookie: CookieSettings{Name: "SRVID", Secure: true, HTTPOnly: true, SameSite: "none",
				Path: "/", Domain: ".example.com"}}},
		{"persist: {type: header, header: X-Session-ID}",
			&Persist{Type: "header", Header: "X-Session-ID", Expire: DefaultPersistExpire, MaxEntries: DefaultPersistMaxEntries}},
		{"persist: {type: header, header: x-user, expire: 5m, max_entries: 10}",
			&Persist{Type: "header", Header: "x-user", Expire: Duration(5 * time.Minute), MaxEntries: 10}},
		{"persist: source", &Persist{Type: "source", Expire: Duration(30 * time.Minute), MaxEntries: 100000,
			IPv4Prefix: 32, IPv6Prefix: 128}},
		{"persist: {type: source, ipv4_prefix: 0, ipv6_prefix: 64, expire: 10s, max_entries: 1}",
			&Persist{Type: "source", Expire: Duration(10 * time.Second), MaxEntries: 1, IPv4Prefix: 0, IPv6Prefix: 64}},
	} {
		c := mustParse(t, base+"    "+tt.yaml+"\n")
		check(t, tt.yaml, c.Backends[0].Persist, tt.want)
	}
}

// TestPersistDefaults pins the built-in values docs/configuration.md lists.
func TestPersistDefaults(t *testing.T) {
	t.Parallel()
	check(t, "cookie name", DefaultCookieName, "SRVID")
	check(t, "cookie httponly", DefaultCookieHTTPOnly, true)
	check(t, "cookie samesite", DefaultCookieSameSite, "lax")
	check(t, "cookie path", DefaultCookiePath, "/")
	check(t, "expire", DefaultPersistExpire, Duration(30*time.Minute))
	check(t, "max_entries", DefaultPersistMaxEntries, 100000)
	check(t, "prefixes", [2]int{DefaultPersistIPv4Prefix, DefaultPersistIPv6Prefix}, [2]int{32, 128})
}

func TestPersistSourceInTCP(t *testing.T) {
	t.Parallel()
	tcp := strings.Replace(base, "mode: http", "mode: tcp", 1)
	c := mustParse(t, tcp+"    persist: {type: source, ipv4_prefix: 24}\n")
	check(t, "source in tcp mode", c.Backends[0].Persist.IPv4Prefix, 24)
}

func TestCookieSecret(t *testing.T) {
	t.Parallel()
	c := mustParse(t, base)
	check(t, "unset", c.Global.CookieSecret, "")
	c = mustParse(t, "global: {cookie_secret: \"0123456789abcdef\"}\n"+base)
	check(t, "16 bytes", c.Global.CookieSecret, "0123456789abcdef")
}

func TestPersistHints(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ yaml, want string }{
		{"    expire: 10m", `backend[0].expire: unknown key here; it belongs in persist`},
		{"    persist: {type: cookie, cookie: {secure: yes}}", `backend[0].persist.cookie.secure: expected true or false, got "yes"`},
		{"    persist: {typ: source}", `backend[0].persist.typ: unknown key; did you mean "type"?`},
		{"    persist: {type: source, max_entries: many}", `backend[0].persist.max_entries: expected a positive integer, got "many"`},
	} {
		_, err := Parse("t.yaml", []byte(base+tt.yaml+"\n"))
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Count(err.Error(), "\n") != 0 {
			t.Errorf("%s: error = %v, want exactly one, containing %q", tt.yaml, err, tt.want)
		}
	}
}
