package tlsconf

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
)

// ConnInfo is what rules, headers and logs may read of a terminated TLS
// connection (ssl_sni, ssl_version, ssl_alpn, ssl_client_* ...).
type ConnInfo struct {
	// SNI is the server name the client asked for, "" without SNI.
	SNI string
	// Version is the negotiated version, e.g. "TLSv1.3".
	Version string
	// ALPN is the negotiated application protocol, "" when none.
	ALPN string
	// Cipher is the cipher suite's IANA name.
	Cipher string
	// Resumed is true when the session was resumed from a ticket.
	Resumed bool
	// ClientVerified is true when the client sent a certificate that
	// verified against the frontend's CA.
	ClientVerified bool
	// ClientCN is the subject common name of the client's certificate, and
	// ClientSANs its subject alternative names (DNS names, IP addresses,
	// e-mail addresses, URIs, in that order); empty without a certificate.
	ClientCN   string
	ClientSANs []string
	// ClientFingerprint is the SHA-256 of the client certificate (DER),
	// in lower-case hex; "" without a certificate.
	ClientFingerprint string
}

// Info extracts ConnInfo from a handshake's state. Call it once per
// connection, after the handshake: it allocates.
func Info(cs tls.ConnectionState) ConnInfo {
	ci := ConnInfo{
		SNI:            cs.ServerName,
		Version:        VersionName(cs.Version),
		ALPN:           cs.NegotiatedProtocol,
		Resumed:        cs.DidResume,
		ClientVerified: len(cs.VerifiedChains) > 0,
	}
	if cs.CipherSuite != 0 {
		ci.Cipher = tls.CipherSuiteName(cs.CipherSuite)
	}
	if len(cs.PeerCertificates) == 0 {
		return ci
	}
	c := cs.PeerCertificates[0]
	ci.ClientCN = c.Subject.CommonName
	ci.ClientSANs = append(ci.ClientSANs, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		ci.ClientSANs = append(ci.ClientSANs, ip.String())
	}
	ci.ClientSANs = append(ci.ClientSANs, c.EmailAddresses...)
	for _, u := range c.URIs {
		ci.ClientSANs = append(ci.ClientSANs, u.String())
	}
	sum := sha256.Sum256(c.Raw)
	ci.ClientFingerprint = hex.EncodeToString(sum[:])
	return ci
}
