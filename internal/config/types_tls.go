package config

// SSL is a frontend's TLS settings (Noxy's ssl block and fulcrum's
// extensions). File names are absolute after loading (relative ones are
// taken from the configuration file's directory), and the files were
// readable at load time; their content is checked when the runtime builds
// the frontend (tlsconf.NewServer). After loading every field holds its
// effective value.
type SSL struct {
	// Cert and Key are PEM files: a certificate chain and its key. They
	// are the first certificate, the default, when set.
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
	// Certs are more certificates, chosen by the client's server name
	// (SNI) against their DNS names, in order after Cert.
	Certs []CertPair `yaml:"certs"`
	// CertDir is a directory whose *.pem files each hold a certificate
	// chain and its key; they come after Certs, in file name order.
	CertDir string `yaml:"cert_dir"`
	// CA, when set, is a PEM bundle of the CAs that sign client
	// certificates (mutual TLS).
	CA string `yaml:"ca"`
	// Verify is how client certificates are checked: one of VerifyModes;
	// "require" when CA is set and verify is not, "" without CA.
	Verify string `yaml:"verify"`
	// Versions are the TLS versions allowed, each one of TLSVersions, a
	// range without gaps; TLSv1.2 and TLSv1.3 when not set.
	Versions []string `yaml:"versions"`
	// ALPN are the protocols offered in the handshake, e.g. h2, http/1.1.
	ALPN []string `yaml:"alpn"`
	// Ciphers are TLS 1.0–1.2 cipher suites in preference order, by their
	// IANA or OpenSSL name as written; Go's defaults when empty.
	Ciphers []string `yaml:"ciphers"`
	// Curves are key exchange groups in preference order; Go's defaults
	// when empty.
	Curves []string `yaml:"curves"`
	// SessionTickets turns session resumption by tickets on (the default).
	SessionTickets bool `yaml:"session_tickets"`
	// TicketRotation is how often the ticket key changes; the previous key
	// still decrypts tickets for one more period.
	TicketRotation Duration `yaml:"ticket_rotation"`
	// PlainHTTP is PlainHTTPAuto (the default in http mode: a connection
	// whose first byte does not start a TLS handshake is served as plain
	// HTTP) or PlainHTTPOff (the default in tcp mode: such a connection is
	// closed).
	PlainHTTP string `yaml:"plain_http"`
}

// CertPair is one certificate of ssl.certs.
type CertPair struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
	Pos  Pos    `yaml:"-"`
}

// BackendSSL is a backend's TLS to its servers. File names are absolute
// after loading.
type BackendSSL struct {
	// Verify is a PEM CA bundle to verify servers' certificates against,
	// VerifyNone not to verify them, or "" (the default) for the system's
	// CA roots.
	Verify string `yaml:"verify"`
	// SNI is the server name sent and verified; "" sends each server's
	// host name (and verifies an IP address against IP SANs).
	SNI string `yaml:"sni"`
	// Cert and Key are a client certificate for servers that require one.
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
	// ALPN are the protocols offered to the servers.
	ALPN []string `yaml:"alpn"`
}

// SNIRoute is one entry of a tcp frontend's sni_routes: connections whose
// ClientHello names one of SNI go to UseBackend. The SNI is read without
// terminating TLS when the frontend has no ssl (passthrough), or is the
// one of the terminated handshake when it has.
type SNIRoute struct {
	// SNI are lower-case server names: exact ("a.example.com") or
	// wildcards ("*.example.com", any name ending in ".example.com"). An
	// exact name wins, then the longest wildcard (tlsconf.NameMatcher).
	SNI []string `yaml:"sni"`
	// UseBackend is the backend's name.
	UseBackend string `yaml:"use_backend"`
	Pos        Pos    `yaml:"-"`
}
