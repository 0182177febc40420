package proxyproto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// Errors. Every malformed header wraps ErrInvalid, with a message that says
// what is wrong; errors.Is tells the two kinds apart.
var (
	// ErrNotProxy means the first bytes are neither "PROXY" (version 1) nor
	// the 12-byte version 2 signature: the peer sent no header at all.
	ErrNotProxy = errors.New("proxyproto: no PROXY protocol header")
	// ErrInvalid means the bytes start like a header but break the
	// specification.
	ErrInvalid = errors.New("proxyproto: invalid header")
)

// invalid returns an error wrapping ErrInvalid; its message reads
// "proxyproto: invalid header: <reason>".
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// MaxHeaderLen is the longest header Read and ReadUnbuffered accept, in
// bytes, signature and TLVs included. A v1 line is at most 107 bytes by the
// specification; a v2 header may announce up to 65,551 but no sender needs
// more than a few hundred (addresses, ALPN, authority, a unique ID of at most
// 128 bytes, TLS details), and 4096 is the default size of a bufio.Reader.
const MaxHeaderLen = 4096

// Command is the v2 command: what the connection is.
type Command uint8

// The v2 commands. A v1 header is always Proxy.
const (
	// Local: the proxy opened the connection itself (a health check); the
	// connection's own addresses are the real ones.
	Local Command = 0x0
	// Proxy: the connection is relayed on behalf of the client whose
	// addresses the header carries.
	Proxy Command = 0x1
)

// String returns "LOCAL" or "PROXY".
func (c Command) String() string {
	switch c {
	case Local:
		return "LOCAL"
	case Proxy:
		return "PROXY"
	}
	return fmt.Sprintf("Command(%#x)", uint8(c))
}

// Header is a decoded PROXY protocol header.
type Header struct {
	// Version is 1 or 2.
	Version int
	// Command is Proxy, or Local for a v2 header of a connection the proxy
	// opened itself.
	Command Command
	// Src and Dst are the client's address and the address it connected to.
	// Both are zero (not IsValid) when the header carries no usable
	// addresses (v1 UNKNOWN, v2 LOCAL, AF_UNSPEC or AF_UNIX): the connection
	// then keeps its own. Addresses are as sent: an IPv4-mapped IPv6
	// address in a TCP6 header stays mapped.
	Src, Dst netip.AddrPort
	// Datagram is set when a v2 header describes a UDP (SOCK_DGRAM)
	// connection rather than a TCP one.
	Datagram bool
	// TLVs are the v2 type-length-values in the order sent, NOOP and CRC32C
	// included (a CRC32C has been verified). Their values do not alias the
	// reader's buffer.
	TLVs []TLV
}

// TLV is one v2 type-length-value.
type TLV struct {
	Type  byte
	Value []byte
}

// The registered TLV types.
const (
	TypeALPN      byte = 0x01 // the ALPN protocol in use, as in TLS
	TypeAuthority byte = 0x02 // the host name the client asked for (TLS SNI)
	TypeCRC32C    byte = 0x03 // CRC32c of the whole header, checked by Read
	TypeNoop      byte = 0x04 // padding, to ignore
	TypeUniqueID  byte = 0x05 // an opaque connection ID of at most 128 bytes
	TypeSSL       byte = 0x20 // TLS details of the client connection: see SSL
	TypeNetNS     byte = 0x30 // the network namespace's name
)

// The sub-TLV types inside a TypeSSL value.
const (
	subtypeSSLVersion byte = 0x21
	subtypeSSLCN      byte = 0x22
	subtypeSSLCipher  byte = 0x23
	subtypeSSLSigAlg  byte = 0x24
	subtypeSSLKeyAlg  byte = 0x25
)

// maxUniqueID is the longest TypeUniqueID value the specification allows.
const maxUniqueID = 128

// TLV returns the value of the first TLV of type typ, and whether there is
// one.
func (h *Header) TLV(typ byte) ([]byte, bool) {
	for _, t := range h.TLVs {
		if t.Type == typ {
			return t.Value, true
		}
	}
	return nil, false
}

// SSL is the content of a TypeSSL TLV: how the client reached the proxy
// that sent the header.
type SSL struct {
	// Client is a bit field: 0x01 the client used TLS, 0x02 it sent a
	// certificate on this connection, 0x04 on this TLS session.
	Client byte
	// Verify is 0 when the client's certificate was verified.
	Verify uint32
	// Version ("TLSv1.3"), CN (the client certificate's common name),
	// Cipher, SigAlg and KeyAlg are the sub-TLVs sent, "" when absent.
	Version, CN, Cipher, SigAlg, KeyAlg string
}

// SSL decodes the header's TypeSSL TLV, and reports whether there is one.
func (h *Header) SSL() (SSL, bool) {
	v, ok := h.TLV(TypeSSL)
	if !ok || len(v) < 5 { // a shorter one was refused by the parser
		return SSL{}, false
	}
	s := SSL{Client: v[0], Verify: binary.BigEndian.Uint32(v[1:5])}
	for p := v[5:]; len(p) >= 3; {
		n := int(binary.BigEndian.Uint16(p[1:3]))
		if 3+n > len(p) {
			break
		}
		val := string(p[3 : 3+n])
		switch p[0] {
		case subtypeSSLVersion:
			s.Version = val
		case subtypeSSLCN:
			s.CN = val
		case subtypeSSLCipher:
			s.Cipher = val
		case subtypeSSLSigAlg:
			s.SigAlg = val
		case subtypeSSLKeyAlg:
			s.KeyAlg = val
		}
		p = p[3+n:]
	}
	return s, true
}
