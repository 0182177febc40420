package tlsconf

import (
	"crypto/tls"
	"errors"
	"net/netip"
)

// VerifyNoneBackend is ClientSpec.Verify's value that turns server
// certificate verification off.
const VerifyNoneBackend = "none"

// ClientSpec is what the TLS fulcrum speaks to a backend's servers is
// built from. File names should be absolute.
type ClientSpec struct {
	// Verify is how the server's certificate is checked: "" against the
	// system's CA roots, a file name against the CAs of that PEM bundle,
	// or VerifyNoneBackend ("none") not at all. "none" sets
	// InsecureSkipVerify: the connection is encrypted but anyone on the
	// path can pose as the server; use it only on a trusted network.
	Verify string
	// SNI is the server name sent and verified. When "", ForServer sets
	// each server's host: its name is sent and verified, an IP address is
	// verified against the certificate's IP SANs and not sent (SNI holds
	// names only).
	SNI string
	// Cert and Key are a client certificate and its key, for servers that
	// require mutual TLS; both or neither.
	Cert, Key string
	// ALPN are the application protocols offered, e.g. h2 or http/1.1.
	ALPN []string
}

// NewClient builds the TLS configuration of connections to a backend's
// servers: TLS 1.2 or later, verified as spec says. Pass it through
// ForServer for each server. An error names the file at fault.
func NewClient(spec ClientSpec) (*tls.Config, error) {
	c := &tls.Config{
		MinVersion: tls.VersionTLS12,
		ServerName: spec.SNI,
		NextProtos: append([]string(nil), spec.ALPN...),
		// Resume sessions with servers: a new connection per request
		// (pool.max_idle 0) or a burst of them then skips a full handshake.
		ClientSessionCache: tls.NewLRUClientSessionCache(0),
	}
	switch spec.Verify {
	case "":
	case VerifyNoneBackend:
		c.InsecureSkipVerify = true
	default:
		pool, err := loadCA(spec.Verify)
		if err != nil {
			return nil, err
		}
		c.RootCAs = pool
	}
	switch {
	case spec.Cert != "" && spec.Key != "":
		cert, err := loadPair(CertFiles{Cert: spec.Cert, Key: spec.Key})
		if err != nil {
			return nil, err
		}
		c.Certificates = []tls.Certificate{*cert}
	case spec.Cert != "" || spec.Key != "":
		return nil, errors.New("a client certificate needs both cert and key")
	}
	return c, nil
}

// ForServer returns the configuration for one server whose address has the
// given host (a name or an IP address, without port): cfg itself when cfg
// names a server already (ClientSpec.SNI) or host is empty, else a copy
// whose ServerName is host. Call it once per server when building a
// snapshot, not per connection: it allocates.
func ForServer(cfg *tls.Config, host string) *tls.Config {
	if cfg.ServerName != "" || host == "" {
		return cfg
	}
	c := cfg.Clone()
	if a, err := netip.ParseAddr(host); err == nil {
		host = a.Unmap().String() // Go sends no SNI for an address
	}
	c.ServerName = host
	return c
}
