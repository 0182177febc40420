// Package tlsconf builds the *tls.Config values of fulcrum's TLS: the
// termination of a frontend (Server) and the connections to a backend's
// servers (NewClient). It imports nothing from fulcrum; the config package
// uses its names (Versions, CipherSuiteID, CurveID, VerifyModes) to
// validate a file, so that what `fulcrum check` accepts, NewServer builds.
//
// # Control plane
//
// NewServer reads certificates, keys and the client CA once, off the hot
// path, and indexes certificates by their DNS SANs. Reload (on SIGHUP)
// and Watch (polling file sizes and modification times) read them again
// and publish the new set with one atomic pointer swap; on any error the
// previous set stays. Listeners are never restarted and established
// connections are never touched. A goroutine owned by the Server rotates
// session ticket keys (Close stops it).
//
// # Data plane
//
// A handshake reads the current set through Server.Config's
// GetConfigForClient: one atomic load, then a map lookup of the server
// name (SNI). Exact names win over wildcards; a wildcard *.example.com
// covers one label (a.example.com, not a.b.example.com nor example.com).
// Among the certificates for a name, the first the client supports is
// served (an RSA and an ECDSA certificate may serve the same names). A
// client without SNI, or asking for a name no certificate has, gets the
// first certificate it supports, else the first one (the default).
//
// Info turns a connection's tls.ConnectionState into the values rules and
// headers read (ssl_sni, ssl_version, ssl_alpn, ssl_client_verified,
// ssl_client_cn, SANs, fingerprint). IsHandshakeRecord tells a TLS
// ClientHello from plain text by its first byte. NameMatcher routes server
// names as a tcp frontend's sni_routes say (exact names, then the longest
// wildcard, which unlike a certificate's covers any depth).
//
// The tlstest subpackage makes CAs and certificates for tests.
package tlsconf
