package tlsconf

import (
	"crypto/tls"
	"errors"
	"fmt"
	"sort"
)

// This file holds the names the configuration uses for TLS versions,
// cipher suites, curves and client verification, and their translation to
// crypto/tls values. The config package validates names with these
// functions, so that a name accepted by `fulcrum check` is always accepted
// by NewServer.

// Versions are the TLS version names, oldest first, as configuration
// writes them (Noxy's spelling).
var Versions = []string{"TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"}

var versionIDs = map[string]uint16{
	"TLSv1.0": tls.VersionTLS10,
	"TLSv1.1": tls.VersionTLS11,
	"TLSv1.2": tls.VersionTLS12,
	"TLSv1.3": tls.VersionTLS13,
}

// VersionID returns the crypto/tls constant of a version name, and false
// for a name not in Versions.
func VersionID(name string) (uint16, bool) {
	v, ok := versionIDs[name]
	return v, ok
}

// VersionName returns the name of a crypto/tls version constant, e.g.
// "TLSv1.3", or "" for an unknown value.
func VersionName(v uint16) string {
	for name, id := range versionIDs {
		if id == v {
			return name
		}
	}
	return ""
}

// VersionRange returns the lowest and highest of the named versions. Go
// allows one range of versions (MinVersion to MaxVersion), so the names
// must leave no gap: [TLSv1.0, TLSv1.3] without the two between is an
// error. An empty list gives TLS 1.2 to TLS 1.3.
func VersionRange(names []string) (lo, hi uint16, err error) {
	if len(names) == 0 {
		return tls.VersionTLS12, tls.VersionTLS13, nil
	}
	have := make(map[uint16]bool, len(names))
	for _, n := range names {
		v, ok := VersionID(n)
		if !ok {
			return 0, 0, fmt.Errorf("unknown TLS version %q", n)
		}
		have[v] = true
		if lo == 0 || v < lo {
			lo = v
		}
		hi = max(hi, v)
	}
	for v := lo; v <= hi; v++ {
		if !have[v] {
			return 0, 0, fmt.Errorf("TLS versions must form a range without gaps, as Go allows only a lowest and a highest version: add %s", VersionName(v))
		}
	}
	return lo, hi, nil
}

// The client certificate verification modes of a frontend with a CA.
const (
	// VerifyRequire refuses, at the handshake, a client without a
	// certificate signed by the CA.
	VerifyRequire = "require"
	// VerifyOptional asks for a certificate and accepts a client without
	// one; a certificate that is sent must be signed by the CA.
	VerifyOptional = "optional"
	// VerifyNone does not ask clients for a certificate.
	VerifyNone = "none"
)

// VerifyModes are the values of ServerSpec.Verify.
var VerifyModes = []string{VerifyRequire, VerifyOptional, VerifyNone}

// clientAuth returns the crypto/tls client authentication of a mode; ""
// means require when there is a CA.
func clientAuth(mode, ca string) (tls.ClientAuthType, error) {
	if ca == "" {
		if mode != "" && mode != VerifyNone {
			return 0, fmt.Errorf("verify %s needs a ca", mode)
		}
		return tls.NoClientCert, nil
	}
	switch mode {
	case "", VerifyRequire:
		return tls.RequireAndVerifyClientCert, nil
	case VerifyOptional:
		return tls.VerifyClientCertIfGiven, nil
	case VerifyNone:
		return tls.NoClientCert, nil
	}
	return 0, fmt.Errorf("unknown verify mode %q", mode)
}

// Errors CipherSuiteID returns, to tell why a name is refused.
var (
	ErrUnknownSuite  = errors.New("unknown cipher suite")
	ErrTLS13Suite    = errors.New("a TLS 1.3 cipher suite: Go always enables every TLS 1.3 suite, and ciphers chooses the TLS 1.0 to 1.2 suites only")
	ErrInsecureSuite = errors.New("an insecure cipher suite (no forward secrecy, or a broken cipher); fulcrum does not offer it")
)

// openSSLSuites maps the OpenSSL names HAProxy and NGINX configurations use
// to the IANA names crypto/tls uses.
var openSSLSuites = map[string]string{
	"ECDHE-ECDSA-AES128-SHA":        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
	"ECDHE-ECDSA-AES256-SHA":        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
	"ECDHE-RSA-AES128-SHA":          "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
	"ECDHE-RSA-AES256-SHA":          "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
	"ECDHE-ECDSA-AES128-GCM-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
	"ECDHE-ECDSA-AES256-GCM-SHA384": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
	"ECDHE-RSA-AES128-GCM-SHA256":   "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
	"ECDHE-RSA-AES256-GCM-SHA384":   "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
	"ECDHE-RSA-CHACHA20-POLY1305":   "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
	"ECDHE-ECDSA-CHACHA20-POLY1305": "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
}

// CipherSuiteID returns the ID of a TLS 1.0–1.2 cipher suite named as Go's
// tls.CipherSuiteName does ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256") or as
// OpenSSL does ("ECDHE-RSA-AES128-GCM-SHA256"). The error wraps
// ErrUnknownSuite, ErrTLS13Suite or ErrInsecureSuite.
func CipherSuiteID(name string) (uint16, error) {
	if iana, ok := openSSLSuites[name]; ok {
		name = iana
	}
	for _, s := range tls.CipherSuites() {
		if s.Name != name {
			continue
		}
		for _, v := range s.SupportedVersions {
			if v < tls.VersionTLS13 {
				return s.ID, nil
			}
		}
		return 0, fmt.Errorf("%q is %w", name, ErrTLS13Suite)
	}
	for _, s := range tls.InsecureCipherSuites() {
		if s.Name == name {
			return 0, fmt.Errorf("%q is %w", name, ErrInsecureSuite)
		}
	}
	return 0, fmt.Errorf("%w %q", ErrUnknownSuite, name)
}

// CipherSuiteNames returns the names CipherSuiteID accepts for its IANA
// spelling, sorted: the secure TLS 1.0–1.2 suites of crypto/tls.
func CipherSuiteNames() []string {
	var names []string
	for _, s := range tls.CipherSuites() {
		if _, err := CipherSuiteID(s.Name); err == nil {
			names = append(names, s.Name)
		}
	}
	sort.Strings(names)
	return names
}

// OpenSSLCipherSuiteNames returns the OpenSSL names CipherSuiteID accepts,
// sorted.
func OpenSSLCipherSuiteNames() []string {
	names := make([]string, 0, len(openSSLSuites))
	for n := range openSSLSuites {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// curves maps the curve (key exchange group) names configuration accepts
// to their IDs. The hybrid post-quantum groups work with TLS 1.3 only.
var curves = map[string]tls.CurveID{
	"X25519":             tls.X25519,
	"P-256":              tls.CurveP256,
	"P-384":              tls.CurveP384,
	"P-521":              tls.CurveP521,
	"X25519MLKEM768":     tls.X25519MLKEM768,
	"SecP256r1MLKEM768":  tls.SecP256r1MLKEM768,
	"SecP384r1MLKEM1024": tls.SecP384r1MLKEM1024,
}

// curveAliases are other spellings of the same curves (OpenSSL's, Go's).
var curveAliases = map[string]string{
	"x25519": "X25519", "prime256v1": "P-256", "secp256r1": "P-256", "CurveP256": "P-256",
	"secp384r1": "P-384", "CurveP384": "P-384", "secp521r1": "P-521", "CurveP521": "P-521",
}

// CurveID returns the ID of a curve named as in CurveNames, or by its
// OpenSSL name (prime256v1, secp384r1 ...), and false for an unknown name.
func CurveID(name string) (tls.CurveID, bool) {
	if canon, ok := curveAliases[name]; ok {
		name = canon
	}
	id, ok := curves[name]
	return id, ok
}

// CurveNames returns the curve names CurveID accepts, sorted (aliases
// aside).
func CurveNames() []string {
	names := make([]string, 0, len(curves))
	for n := range curves {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// IsHandshakeRecord reports whether b, the first byte a client sent, starts
// a TLS handshake record (content type 22). A frontend that serves plain
// HTTP beside TLS on the same address tells the two apart with it: no
// HTTP/1.x request line nor HTTP/2 preface starts with that byte.
func IsHandshakeRecord(b byte) bool { return b == 0x16 }
