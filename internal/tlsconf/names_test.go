package tlsconf

import (
	"crypto/tls"
	"errors"
	"testing"
)

func TestVersionRange(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		names   []string
		lo, hi  uint16
		wantErr bool
	}{
		{nil, tls.VersionTLS12, tls.VersionTLS13, false},
		{[]string{"TLSv1.3"}, tls.VersionTLS13, tls.VersionTLS13, false},
		{[]string{"TLSv1.3", "TLSv1.2"}, tls.VersionTLS12, tls.VersionTLS13, false},
		{[]string{"TLSv1.0", "TLSv1.1", "TLSv1.2"}, tls.VersionTLS10, tls.VersionTLS12, false},
		{[]string{"TLSv1.0", "TLSv1.3"}, 0, 0, true},
		{[]string{"SSLv3"}, 0, 0, true},
	} {
		lo, hi, err := VersionRange(tt.names)
		if lo != tt.lo || hi != tt.hi || (err != nil) != tt.wantErr {
			t.Errorf("VersionRange(%v) = %x, %x, %v", tt.names, lo, hi, err)
		}
	}
	for _, name := range Versions {
		if v, ok := VersionID(name); !ok || VersionName(v) != name {
			t.Errorf("VersionID/VersionName(%q) do not round-trip", name)
		}
	}
}

func TestCipherSuiteID(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		id   uint16
		err  error
	}{
		{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, nil},
		{"ECDHE-RSA-AES128-GCM-SHA256", tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, nil},
		{"ECDHE-ECDSA-CHACHA20-POLY1305", tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, nil},
		{"TLS_AES_128_GCM_SHA256", 0, ErrTLS13Suite},
		{"TLS_RSA_WITH_AES_128_GCM_SHA256", 0, ErrInsecureSuite},
		{"TLS_ECDHE_RSA_WITH_RC4_128_SHA", 0, ErrInsecureSuite},
		{"AES128-SHA", 0, ErrUnknownSuite},
	} {
		id, err := CipherSuiteID(tt.name)
		if id != tt.id || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("CipherSuiteID(%q) = %x, %v; want %x, %v", tt.name, id, err, tt.id, tt.err)
		}
	}
	names := CipherSuiteNames()
	if len(names) != 10 {
		t.Errorf("CipherSuiteNames() = %v, want the 10 secure TLS 1.0-1.2 suites", names)
	}
	for iana := range openSSLSuites {
		if _, err := CipherSuiteID(iana); err != nil {
			t.Errorf("OpenSSL name %q: %v", iana, err)
		}
	}
}

func TestCurveID(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]tls.CurveID{
		"X25519": tls.X25519, "P-256": tls.CurveP256, "prime256v1": tls.CurveP256, "secp384r1": tls.CurveP384,
		"P-521": tls.CurveP521, "X25519MLKEM768": tls.X25519MLKEM768,
	} {
		if id, ok := CurveID(name); !ok || id != want {
			t.Errorf("CurveID(%q) = %v, %v; want %v", name, id, ok, want)
		}
	}
	if _, ok := CurveID("P-224"); ok {
		t.Error("CurveID(P-224) is accepted")
	}
	for _, name := range CurveNames() {
		if _, ok := CurveID(name); !ok {
			t.Errorf("CurveNames lists %q, which CurveID refuses", name)
		}
	}
}

func TestClientAuth(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		mode, ca string
		want     tls.ClientAuthType
		wantErr  bool
	}{
		{"", "", tls.NoClientCert, false},
		{"none", "", tls.NoClientCert, false},
		{"require", "", 0, true},
		{"", "ca.pem", tls.RequireAndVerifyClientCert, false},
		{"require", "ca.pem", tls.RequireAndVerifyClientCert, false},
		{"optional", "ca.pem", tls.VerifyClientCertIfGiven, false},
		{"none", "ca.pem", tls.NoClientCert, false},
		{"maybe", "ca.pem", 0, true},
	} {
		got, err := clientAuth(tt.mode, tt.ca)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("clientAuth(%q, %q) = %v, %v", tt.mode, tt.ca, got, err)
		}
	}
}

func TestIsHandshakeRecord(t *testing.T) {
	t.Parallel()
	for b, want := range map[byte]bool{0x16: true, 'G': false, 'P': false, 0x80: false, 0x15: false} {
		if IsHandshakeRecord(b) != want {
			t.Errorf("IsHandshakeRecord(%#x) = %v", b, !want)
		}
	}
}

func TestNameMatcher(t *testing.T) {
	t.Parallel()
	m := NewNameMatcher(map[string]string{
		"a.example.com": "exact", "*.example.com": "wild", "*.b.example.com": "deeper", "Upper.Example.org.": "upper",
	})
	for name, want := range map[string]string{
		"a.example.com":      "exact",
		"A.EXAMPLE.COM.":     "exact",
		"x.example.com":      "wild",
		"x.y.example.com":    "wild",
		"b.example.com":      "wild",
		"x.b.example.com":    "deeper", // the longest wildcard wins
		"z.x.b.example.com":  "deeper",
		"example.com":        "",
		".example.com":       "",
		"upper.example.org":  "upper",
		"other.org":          "",
		"":                   "",
		"com":                "",
		"a.example.com.evil": "",
	} {
		got, ok := m.Match(name)
		if got != want || ok != (want != "") {
			t.Errorf("Match(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
}

// TestNameMatcherAllocs is not parallel: AllocsPerRun needs the process.
func TestNameMatcherAllocs(t *testing.T) {
	m := NewNameMatcher(map[string]int{"a.example.com": 1, "*.example.com": 2})
	if got := testing.AllocsPerRun(100, func() { m.Match("z.x.b.example.com") }); got != 0 {
		t.Errorf("Match allocates %v times per call", got)
	}
}
