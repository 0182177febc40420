package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tlsFiles makes placeholder files a.crt, a.key, b.crt, b.key, ca.pem and
// a directory certs/ holding x.pem in a temporary directory (config only
// checks that they are readable), and returns the directory.
func tlsFiles(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "certs"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"a.crt", "a.key", "b.crt", "b.key", "ca.pem", "certs/x.pem"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("fixture\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// parseIn parses text as dir/fulcrum.yaml.
func parseIn(t *testing.T, dir, text string) *Config {
	t.Helper()
	c, err := Parse(filepath.Join(dir, "fulcrum.yaml"), []byte(text))
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	return c
}

func TestFrontendSSL(t *testing.T) {
	t.Parallel()
	dir := tlsFiles(t)
	c := parseIn(t, dir, `
frontend:
  - name: full
    mode: http
    bind: [{addr_port: ":443"}]
    use_backend: app
    ssl:
      cert: a.crt
      key: a.key
      certs:
        - {cert: b.crt, key: b.key}
      cert_dir: certs
      ca: ca.pem
      verify: optional
      versions: [TLSv1.2, TLSv1.3]
      alpn: [h2, http/1.1]
      ciphers: "ECDHE-RSA-AES128-GCM-SHA256:TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
      curves: [X25519MLKEM768, X25519, prime256v1]
      ticket_rotation: 10m
      plain_http: off
  - name: defaults_http
    mode: http
    bind: [{addr_port: ":8443"}]
    use_backend: app
    ssl: {certs: [{cert: a.crt, key: a.key}], ca: ca.pem}
  - name: defaults_tcp
    mode: tcp
    bind: [{addr_port: ":9443"}]
    use_backend: app
    ssl: {cert_dir: certs, session_tickets: false, plain_http: false, alpn: [imap]}
backend:
  - name: app
    servers: [{addr_port: "127.0.0.1:9000"}]
`)
	abs := func(name string) string { return filepath.Join(dir, name) }
	check(t, "full", *c.Frontends[0].SSL, SSL{
		Cert: abs("a.crt"), Key: abs("a.key"),
		Certs:   []CertPair{{Cert: abs("b.crt"), Key: abs("b.key"), Pos: Pos{Line: 11, Col: 11}}},
		CertDir: abs("certs"), CA: abs("ca.pem"), Verify: VerifyOptional,
		Versions: []string{"TLSv1.2", "TLSv1.3"}, ALPN: []string{"h2", "http/1.1"},
		Ciphers:        []string{"ECDHE-RSA-AES128-GCM-SHA256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
		Curves:         []string{"X25519MLKEM768", "X25519", "prime256v1"},
		SessionTickets: true, TicketRotation: Duration(10 * time.Minute), PlainHTTP: PlainHTTPOff,
	})
	check(t, "http defaults", *c.Frontends[1].SSL, SSL{
		Certs:  []CertPair{{Cert: abs("a.crt"), Key: abs("a.key"), Pos: Pos{Line: 25, Col: 19}}},
		CA:     abs("ca.pem"),
		Verify: VerifyRequire, Versions: []string{"TLSv1.2", "TLSv1.3"},
		SessionTickets: true, TicketRotation: DefaultTicketRotation, PlainHTTP: PlainHTTPAuto,
	})
	check(t, "tcp defaults", *c.Frontends[2].SSL, SSL{
		CertDir: abs("certs"), Versions: []string{"TLSv1.2", "TLSv1.3"}, ALPN: []string{"imap"},
		SessionTickets: false, TicketRotation: 0, PlainHTTP: PlainHTTPOff,
	})
}

// TestTLSDefaults pins the built-in values docs/configuration.md lists.
func TestTLSDefaults(t *testing.T) {
	t.Parallel()
	check(t, "ticket_rotation", DefaultTicketRotation, Duration(time.Hour))
	check(t, "session_tickets", DefaultSessionTickets, true)
	check(t, "versions", defaultTLSVersions(), []string{"TLSv1.2", "TLSv1.3"})
	check(t, "verify modes", VerifyModes, []string{"require", "optional", "none"})
	check(t, "TLS versions", TLSVersions, []string{"TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"})
}

func TestAcceptProxy(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		yaml string
		want []string
	}{
		{"", nil},
		{"accept_proxy: 10.0.0.0/8", []string{"10.0.0.0/8"}},
		{"accept_proxy: [192.0.2.7, \"2001:db8::/32\", \"::ffff:10.1.0.0/112\", \"::1\"]",
			[]string{"192.0.2.7/32", "2001:db8::/32", "10.1.0.0/16", "::1/128"}},
		{"accept_proxy: [0.0.0.0/0, \"::/0\"]", []string{"0.0.0.0/0", "::/0"}},
	} {
		c := mustParse(t, strings.Replace(base, "    use_backend: app\n", "    use_backend: app\n    "+tt.yaml+"\n", 1))
		var want []netip.Prefix
		for _, s := range tt.want {
			want = append(want, netip.MustParsePrefix(s))
		}
		if tt.want == nil {
			want = nil
		}
		check(t, tt.yaml, c.Frontends[0].AcceptProxy, want)
	}
}

func TestSNIRoutes(t *testing.T) {
	t.Parallel()
	c := mustParse(t, `
frontend:
  - name: passthrough
    mode: tcp
    bind: [{addr_port: ":443"}]
    sni_routes:
      - {sni: A.Example.com., use_backend: a}
      - sni: ["*.b.example.com", b.example.com]
        use_backend: b
backend:
  - name: a
    servers: [{addr_port: "10.0.0.1:443"}]
  - name: b
    servers: [{addr_port: "10.0.0.2:443"}]
`)
	f := c.Frontends[0]
	check(t, "sni_routes", f.SNIRoutes, []SNIRoute{
		{SNI: []string{"a.example.com"}, UseBackend: "a", Pos: Pos{Line: 7, Col: 9}},
		{SNI: []string{"*.b.example.com", "b.example.com"}, UseBackend: "b", Pos: Pos{Line: 8, Col: 9}},
	})
	check(t, "no default backend", f.UseBackend, "")
	check(t, "no ssl", f.SSL, (*SSL)(nil))
}

func TestBackendSSLAndProxy(t *testing.T) {
	t.Parallel()
	dir := tlsFiles(t)
	c := parseIn(t, dir, `
frontend:
  - name: web
    mode: http
    bind: [{addr_port: ":80"}]
    use_backend: full
backend:
  - name: full
    ssl: {verify: ca.pem, sni: api.example.com, cert: a.crt, key: a.key, alpn: [h2, http/1.1]}
    send_proxy: v2
    servers: [{addr_port: "10.0.0.1:443"}]
  - name: system_roots
    ssl: true
    send_proxy: v1
    servers: [{addr_port: "10.0.0.1:443"}]
  - name: insecure
    ssl: {verify: none}
    servers: [{addr_port: "10.0.0.1:443"}]
  - name: plain
    ssl: false
    servers: [{addr_port: "10.0.0.1:80"}]
`)
	b := c.Backends
	check(t, "full", b[0].SSL, &BackendSSL{Verify: filepath.Join(dir, "ca.pem"), SNI: "api.example.com",
		Cert: filepath.Join(dir, "a.crt"), Key: filepath.Join(dir, "a.key"), ALPN: []string{"h2", "http/1.1"}})
	check(t, "send_proxy v2", b[0].SendProxy, SendProxyV2)
	check(t, "ssl: true", b[1].SSL, &BackendSSL{})
	check(t, "send_proxy v1", b[1].SendProxy, SendProxyV1)
	check(t, "verify none", b[2].SSL, &BackendSSL{Verify: VerifyNone})
	check(t, "ssl: false", b[3].SSL, (*BackendSSL)(nil))
	check(t, "no send_proxy", b[3].SendProxy, "")
}

// TestTLSHints checks the hints for keys written in the wrong place.
func TestTLSHints(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ yaml, want string }{
		{"    cert_dir: /x", `frontend[0].cert_dir: unknown key here; it belongs in ssl`},
		{"    sni: a.example.com", `frontend[0].sni: unknown key here; it belongs in sni_routes, backend ssl`},
		{"    send_proxy: v1", `frontend[0].send_proxy: unknown key here; it belongs in backend`},
		{"    acept_proxy: 10.0.0.0/8", `frontend[0].acept_proxy: unknown key; did you mean "accept_proxy"?`},
	} {
		_, err := Parse("t.yaml", []byte(strings.Replace(base, "    use_backend: app\n", "    use_backend: app\n"+tt.yaml+"\n", 1)))
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Count(err.Error(), "\n") != 0 {
			t.Errorf("%s: error = %v, want exactly one, containing %q", tt.yaml, err, tt.want)
		}
	}
}
