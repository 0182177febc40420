package tlsconf

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"

	"github.com/fulcrum-lb/fulcrum/internal/tlsconf/tlstest"
)

func TestSNISelection(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	addr := echo(t, newServer(t, p.spec(t)).Config()).addr
	for _, tt := range []struct{ sni, want string }{
		{"a.example.com", "a.example.com"},
		{"WWW.A.Example.com", "a.example.com"}, // names are case-insensitive
		{"x.b.example.com", "wild.b.example.com"},
		{"b.example.com", "default.example.com"},     // a wildcard does not cover its parent
		{"y.x.b.example.com", "default.example.com"}, // nor two labels
		{"unknown.example.org", "default.example.com"},
		{"", "default.example.com"}, // no SNI: the default
	} {
		cfg := p.clientConfig(tt.sni)
		cfg.InsecureSkipVerify = true // the default cannot verify for unknown names
		c, err := dial(t, addr, cfg)
		if err != nil {
			t.Fatalf("SNI %q: %v", tt.sni, err)
		}
		if got := servedCN(c); got != tt.want {
			t.Errorf("SNI %q: served %q, want %q", tt.sni, got, tt.want)
		}
		if got := Info(c.ConnectionState()).SNI; tt.sni != "" && got == "" {
			t.Errorf("SNI %q: client state has no server name", tt.sni)
		}
	}
	// The wildcard certificate verifies for a name it covers.
	if _, err := dial(t, addr, p.clientConfig("x.b.example.com")); err != nil {
		t.Errorf("verified wildcard: %v", err)
	}
}

// TestKeyTypeChoice serves an RSA and an ECDSA certificate for the same
// name: a client that accepts only RSA signatures gets the RSA one.
func TestKeyTypeChoice(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	ec := p.ca.Issue(t, tlstest.Options{CN: "ec", DNS: []string{"dual.example.com"}})
	rsa := p.ca.Issue(t, tlstest.Options{CN: "rsa", DNS: []string{"dual.example.com"}, Key: tlstest.RSA})
	spec := ServerSpec{Certs: p.files(t, map[string]*tlstest.Leaf{"ec": ec, "rsa": rsa}, "ec", "rsa")}
	addr := echo(t, newServer(t, spec).Config()).addr
	for _, tt := range []struct {
		suites []uint16
		want   string
	}{
		{nil, "ec"},
		{[]uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, "rsa"},
	} {
		cfg := p.clientConfig("dual.example.com")
		if tt.suites != nil {
			cfg.MaxVersion, cfg.CipherSuites = tls.VersionTLS12, tt.suites
		}
		c, err := dial(t, addr, cfg)
		if err != nil {
			t.Fatalf("%s: %v", tt.want, err)
		}
		if got := servedCN(c); got != tt.want {
			t.Errorf("suites %v: served %q, want %q", tt.suites, got, tt.want)
		}
	}
}

func TestVersionsALPNCiphersCurves(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	spec := p.spec(t)
	spec.Versions = []string{"TLSv1.3"}
	spec.ALPN = []string{"h2", "http/1.1"}
	addr := echo(t, newServer(t, spec).Config()).addr

	cfg := p.clientConfig("a.example.com")
	cfg.MaxVersion = tls.VersionTLS12
	if _, err := dial(t, addr, cfg); err == nil || !strings.Contains(err.Error(), "protocol version") {
		t.Errorf("TLS 1.2 client of a TLS 1.3 frontend: err = %v, want a protocol version alert", err)
	}
	cfg = p.clientConfig("a.example.com")
	cfg.NextProtos = []string{"http/1.1", "h2"}
	c, err := dial(t, addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := Info(c.ConnectionState()); got.Version != "TLSv1.3" || got.ALPN != "h2" {
		t.Errorf("Info = %+v, want TLSv1.3 and h2 (the server's preference)", got)
	}
	cfg.NextProtos = []string{"spdy/3"}
	if _, err := dial(t, addr, cfg); err == nil {
		t.Error("a client offering no protocol of alpn was accepted")
	}

	spec = p.spec(t)
	spec.Versions = []string{"TLSv1.2"}
	spec.Ciphers = []string{"ECDHE-ECDSA-CHACHA20-POLY1305", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"}
	spec.Curves = []string{"P-384"}
	addr = echo(t, newServer(t, spec).Config()).addr
	c, err = dial(t, addr, p.clientConfig("a.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	cs := c.ConnectionState()
	if cs.CipherSuite != tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 || cs.CurveID != tls.CurveP384 {
		t.Errorf("negotiated %s over %v, want the configured suite over P-384", tls.CipherSuiteName(cs.CipherSuite), cs.CurveID)
	}
	cfg = p.clientConfig("a.example.com")
	cfg.CurvePreferences = []tls.CurveID{tls.X25519}
	if _, err := dial(t, addr, cfg); err == nil {
		t.Error("a client without a configured curve was accepted")
	}
}

func TestClientCertificates(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	none := func() *tls.Config { return p.clientConfig("a.example.com") }
	with := func(l *tlstest.Leaf) *tls.Config {
		c := none()
		// Certificates would let the Go client hold back a certificate
		// the server's CA list does not name; send it regardless.
		cert := l.TLS(t)
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
		return c
	}
	for _, tt := range []struct {
		verify   string
		cfg      *tls.Config
		ok       bool
		verified bool
	}{
		{"", none(), false, false}, // require by default
		{"require", none(), false, false},
		{"require", with(p.stranger), false, false},
		{"require", with(p.client), true, true},
		{"optional", none(), true, false},
		{"optional", with(p.stranger), false, false},
		{"optional", with(p.client), true, true},
		{"none", with(p.stranger), true, false},
	} {
		spec := p.spec(t)
		spec.CA, spec.Verify = p.caFile, tt.verify
		srv := echo(t, newServer(t, spec).Config())
		_, err := dial(t, srv.addr, tt.cfg)
		if (err == nil) != tt.ok {
			t.Errorf("verify %q, client cert %v: err = %v, want ok %v", tt.verify, tt.cfg.GetClientCertificate != nil, err, tt.ok)
			continue
		}
		if err != nil {
			continue
		}
		info := Info(srv.lastState(t))
		if info.ClientVerified != tt.verified {
			t.Errorf("verify %q: ClientVerified = %v, want %v", tt.verify, info.ClientVerified, tt.verified)
		}
		if !tt.verified {
			continue
		}
		cert, _ := tt.cfg.GetClientCertificate(nil)
		leaf := cert.Leaf
		sum := sha256.Sum256(leaf.Raw)
		want := ConnInfo{SNI: "a.example.com", Version: "TLSv1.3", Cipher: info.Cipher, ClientVerified: true,
			ClientCN: "admin", ClientSANs: []string{"admin.example.com"}, ClientFingerprint: hex.EncodeToString(sum[:])}
		if !reflect.DeepEqual(info, want) || info.Cipher == "" {
			t.Errorf("Info = %+v\nwant %+v", info, want)
		}
	}
}

func TestClientSpecErrors(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	spec := p.spec(t)
	spec.Verify = "require"
	if _, err := NewServer(spec, nil); err == nil || !strings.Contains(err.Error(), "needs a ca") {
		t.Errorf("verify without ca: %v", err)
	}
	spec = p.spec(t)
	spec.Versions = []string{"TLSv1.0", "TLSv1.3"}
	if _, err := NewServer(spec, nil); err == nil || !strings.Contains(err.Error(), "add TLSv1.1") {
		t.Errorf("versions with a gap: %v", err)
	}
	if _, err := NewServer(ServerSpec{}, nil); err == nil || !strings.Contains(err.Error(), "no certificate") {
		t.Errorf("no certificate: %v", err)
	}
	spec = p.spec(t)
	spec.Certs[1].Key = spec.Certs[0].Key
	if _, err := NewServer(spec, nil); err == nil || !strings.Contains(err.Error(), spec.Certs[1].Cert) {
		t.Errorf("mismatched key: %v, want the file named", err)
	}
}
