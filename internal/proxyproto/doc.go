// Package proxyproto reads and writes the HAProxy PROXY protocol, versions 1
// (a text line) and 2 (binary, with TLVs), which carries a client's original
// addresses across a chain of proxies and load balancers. It is part of the
// data plane and knows nothing of fulcrum's configuration.
//
// # Receiving
//
// A frontend with accept_proxy reads a header only from trusted sources
// (the specification forbids guessing whether a header is there, so a source
// is either trusted and must send one, or untrusted and is never asked). Accept does the whole job for a freshly accepted connection: it
// checks the peer against the trusted prefixes, reads the header under a
// deadline with ReadUnbuffered, which consumes exactly the header's bytes
// and not one more, and returns a *Conn whose RemoteAddr and LocalAddr are the
// header's addresses. Because nothing is ever read ahead, the bytes that
// follow the header are still in the kernel: Conn.Unwrap gives back the
// *net.TCPConn, and Conn's ReadFrom and WriteTo delegate to it, so tcp mode
// keeps splice(2) either way.
//
// A caller that already reads through a buffer (http mode's parser) uses Read
// on its *bufio.Reader instead: Read never consumes past the header, so the
// request that follows stays in the buffer. NewConn wraps a connection with a
// header and bytes already read, which its Read and WriteTo return first.
//
// The header's command decides what the addresses mean: PROXY with TCP over
// IPv4 or IPv6 replaces the connection's addresses; a v1 UNKNOWN line, a v2
// LOCAL command (health checks from the proxy itself), an AF_UNSPEC or an
// AF_UNIX family leave Header.Src and Header.Dst zero, and the connection keeps
// its own addresses.
//
// # Sending
//
// A backend with send_proxy writes AppendV1 or AppendV2 (with TLVs such as
// TypeAuthority or TypeCRC32C) to the server before the first byte of the
// client's data; AppendLocal writes the v2 header of a health check.
//
// # Strictness
//
// Parsing follows the specification to the letter: a v1 line is at most 107
// bytes and ends in CRLF (a bare CR or LF is an error), fields are separated
// by exactly one space, addresses match the announced family, ports have no
// leading zeros; a v2 header has version 2, a known command and family, an
// address block as long as its family needs, well-formed TLVs within the
// announced length, a valid CRC32C when one is sent, and is at most
// MaxHeaderLen bytes in all. Every malformed header is reported as an error
// wrapping ErrInvalid that says what is wrong; bytes that are no header at
// all give ErrNotProxy.
package proxyproto
