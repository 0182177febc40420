// Package sni reads the ClientHello that opens a TLS connection without
// terminating TLS, for tcp frontends that route TLS passthrough traffic by
// server name (SNI) and ALPN. It is part of the data plane and knows nothing
// of fulcrum's configuration.
//
// Peek reads, under a deadline and a size limit, the TLS records that carry
// the ClientHello, however they are split over TCP reads and over records,
// and returns the decoded Hello with every byte it read. The caller picks a
// backend from the Hello, writes those bytes to the server first and then
// copies the rest of the connection both ways, so the server sees the
// client's original bytes and completes the handshake itself. After Peek
// the client connection is untouched: still a *net.TCPConn, so the copy
// keeps splice(2).
//
// A connection whose first byte does not open a TLS handshake record gives
// ErrNotTLS, with the bytes read, so a frontend that serves plain and TLS
// traffic on one port can hand them to its plain-text path instead. Parse
// does the same work on bytes already buffered (after a PROXY protocol
// header read through a bufio.Reader, say) and ParseClientHello decodes one
// handshake message.
//
// Parsing is strict and bounds-checked everywhere: record types, versions
// and lengths, every length-prefixed vector of the ClientHello (session ID,
// cipher suites, compression methods, extensions), no duplicate extension,
// and the server_name, ALPN and supported_versions extensions to the last
// byte. Malformed input gives an error wrapping ErrMalformed that names the
// faulty field.
package sni
