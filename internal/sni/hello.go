package sni

import (
	"errors"
	"fmt"
	"strings"
)

// Errors. Each error that Parse, ParseClientHello and Peek return is one of
// these or wraps one, except read errors in Peek.
var (
	// ErrNotTLS means the data does not start with a TLS handshake record
	// (content type 22, major version 3): the client speaks something else.
	ErrNotTLS = errors.New("sni: not a TLS handshake")
	// ErrTooLarge means the records carrying the ClientHello exceed the
	// caller's limit.
	ErrTooLarge = errors.New("sni: ClientHello larger than the limit")
	// ErrMalformed means the data starts as TLS but breaks the protocol; the
	// wrapping error names the field.
	ErrMalformed = errors.New("sni: malformed ClientHello")
	// ErrIncomplete means the data is a valid beginning of a ClientHello but
	// not all of it: Parse needs more bytes.
	ErrIncomplete = errors.New("sni: incomplete ClientHello")
)

// malformed returns an error wrapping ErrMalformed; its message reads
// "sni: malformed ClientHello: <reason>".
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// Hello is what a ClientHello says about where the client wants to go.
type Hello struct {
	// ServerName is the host_name of the server_name extension (SNI),
	// lower-cased; "" when the client sent none (or an IP address only).
	ServerName string
	// ALPN lists the application protocols offered, in the client's order
	// of preference; nil without the extension.
	ALPN []string
	// LegacyVersion is the ClientHello's version field: 0x0303 for TLS 1.2
	// and 1.3 (whose real versions are in SupportedVersions), 0x0301 for
	// TLS 1.0.
	LegacyVersion uint16
	// SupportedVersions is the supported_versions extension as sent, GREASE
	// values included; nil without the extension.
	SupportedVersions []uint16
	// CipherSuites are the offered cipher suites as sent.
	CipherSuites []uint16
}

// The TLS protocol versions.
const (
	VersionTLS10 uint16 = 0x0301
	VersionTLS11 uint16 = 0x0302
	VersionTLS12 uint16 = 0x0303
	VersionTLS13 uint16 = 0x0304
)

// Version is the highest TLS version the client offers: the highest
// non-GREASE entry of SupportedVersions, or LegacyVersion without one.
func (h *Hello) Version() uint16 {
	var v uint16
	for _, s := range h.SupportedVersions {
		if !isGREASE(s) && s > v {
			v = s
		}
	}
	if v == 0 {
		return h.LegacyVersion
	}
	return v
}

// OffersALPN reports whether the client offers the protocol p.
func (h *Hello) OffersALPN(p string) bool {
	for _, a := range h.ALPN {
		if a == p {
			return true
		}
	}
	return false
}

// isGREASE reports whether v is one of the reserved values of RFC 8701
// (0x0a0a, 0x1a1a ... 0xfafa) clients send to keep servers tolerant.
func isGREASE(v uint16) bool {
	return v&0x0f0f == 0x0a0a && v>>8 == v&0xff
}

// TLS constants used by the parser.
const (
	recordHeaderLen        = 5
	maxRecordLen           = 1 << 14 // TLSPlaintext.length limit
	recordTypeHandshake    = 22
	handshakeHeaderLen     = 4
	typeClientHello        = 1
	extServerName          = 0
	extALPN                = 16
	extSupportedVersions   = 43
	serverNameTypeHostName = 0
	maxHostNameLen         = 255
)

// ParseClientHello decodes msg, one complete ClientHello handshake message:
// the 4-byte handshake header (type 1 and 24-bit length) and its body. The
// message must hold exactly that: any byte short or in excess is an error.
func ParseClientHello(msg []byte) (*Hello, error) {
	r := reader{b: msg}
	typ, _ := r.u8()
	if typ != typeClientHello {
		if len(msg) == 0 {
			return nil, malformed("empty handshake message")
		}
		return nil, malformed("handshake message type %d, want ClientHello (1)", typ)
	}
	n, ok := r.u24()
	if !ok {
		return nil, malformed("truncated handshake header")
	}
	if int(n) != len(r.b) {
		return nil, malformed("handshake length %d, but %d bytes follow", n, len(r.b))
	}
	h := &Hello{}
	if h.LegacyVersion, ok = r.u16(); !ok {
		return nil, malformed("truncated at legacy_version")
	}
	if _, ok = r.bytes(32); !ok {
		return nil, malformed("truncated at random")
	}
	sid, ok := r.vec8()
	if !ok {
		return nil, malformed("truncated at legacy_session_id")
	}
	if len(sid) > 32 {
		return nil, malformed("legacy_session_id of %d bytes, at most 32", len(sid))
	}
	suites, ok := r.vec16()
	if !ok {
		return nil, malformed("truncated at cipher_suites")
	}
	if len(suites) < 2 || len(suites)%2 != 0 {
		return nil, malformed("cipher_suites of %d bytes, want a positive even number", len(suites))
	}
	h.CipherSuites = make([]uint16, len(suites)/2)
	for i := range h.CipherSuites {
		h.CipherSuites[i] = uint16(suites[2*i])<<8 | uint16(suites[2*i+1])
	}
	comp, ok := r.vec8()
	if !ok {
		return nil, malformed("truncated at legacy_compression_methods")
	}
	if len(comp) == 0 {
		return nil, malformed("no compression method")
	}
	if len(r.b) == 0 {
		return h, nil // TLS 1.2 and older may send no extensions at all
	}
	exts, ok := r.vec16()
	if !ok {
		return nil, malformed("truncated at extensions")
	}
	if len(r.b) != 0 {
		return nil, malformed("%d bytes after the extensions", len(r.b))
	}
	if err := h.parseExtensions(exts); err != nil {
		return nil, err
	}
	return h, nil
}

// parseExtensions decodes the extensions block of a ClientHello.
func (h *Hello) parseExtensions(b []byte) error {
	er := reader{b: b}
	var seen extSet
	for len(er.b) > 0 {
		typ, ok := er.u16()
		if !ok {
			return malformed("truncated extension type")
		}
		data, ok := er.vec16()
		if !ok {
			return malformed("extension %d overruns the extensions block", typ)
		}
		if !seen.add(typ) {
			return malformed("extension %d sent twice", typ)
		}
		var err error
		switch typ {
		case extServerName:
			err = h.parseServerName(data)
		case extALPN:
			err = h.parseALPN(data)
		case extSupportedVersions:
			err = h.parseSupportedVersions(data)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// extSet is a set of extension types: a bitmap for the registered range
// (below 256, where nearly all are), a short list for the rest (GREASE,
// renegotiation_info, ECH ...), and a map past that, so that a ClientHello
// made of thousands of empty extensions costs linear time.
type extSet struct {
	low  [4]uint64
	high []uint16
	many map[uint16]bool
}

// add adds typ to the set and reports whether it was absent.
func (s *extSet) add(typ uint16) bool {
	if typ < 256 {
		w, bit := typ/64, uint64(1)<<(typ%64)
		if s.low[w]&bit != 0 {
			return false
		}
		s.low[w] |= bit
		return true
	}
	if s.many != nil {
		if s.many[typ] {
			return false
		}
		s.many[typ] = true
		return true
	}
	for _, t := range s.high {
		if t == typ {
			return false
		}
	}
	s.high = append(s.high, typ)
	if len(s.high) > 16 {
		s.many = make(map[uint16]bool, 2*len(s.high))
		for _, t := range s.high {
			s.many[t] = true
		}
	}
	return true
}

// parseServerName decodes the server_name extension (RFC 6066).
func (h *Hello) parseServerName(data []byte) error {
	r := reader{b: data}
	list, ok := r.vec16()
	if !ok || len(r.b) != 0 {
		return malformed("server_name list length does not match the extension")
	}
	if len(list) == 0 {
		return malformed("empty server_name list")
	}
	lr := reader{b: list}
	found := false
	for len(lr.b) > 0 {
		typ, _ := lr.u8()
		name, ok := lr.vec16()
		if !ok {
			return malformed("server_name entry overruns the list")
		}
		if typ != serverNameTypeHostName {
			continue
		}
		if found {
			return malformed("more than one host_name in server_name")
		}
		found = true
		if err := checkHostName(name); err != nil {
			return err
		}
		h.ServerName = strings.ToLower(string(name))
	}
	return nil
}

// checkHostName checks a host_name: 1 to 255 printable ASCII characters
// without spaces (A-labels for internationalised names).
func checkHostName(name []byte) error {
	if len(name) == 0 {
		return malformed("empty host_name")
	}
	if len(name) > maxHostNameLen {
		return malformed("host_name of %d bytes, at most %d", len(name), maxHostNameLen)
	}
	for i, c := range name {
		if c <= ' ' || c >= 0x7f {
			return malformed("host_name byte %d is %#02x", i, c)
		}
	}
	return nil
}

// parseALPN decodes the application_layer_protocol_negotiation extension
// (RFC 7301).
func (h *Hello) parseALPN(data []byte) error {
	r := reader{b: data}
	list, ok := r.vec16()
	if !ok || len(r.b) != 0 {
		return malformed("ALPN list length does not match the extension")
	}
	if len(list) == 0 {
		return malformed("empty ALPN list")
	}
	lr := reader{b: list}
	h.ALPN = make([]string, 0, 2)
	for len(lr.b) > 0 {
		p, ok := lr.vec8()
		if !ok {
			return malformed("ALPN protocol overruns the list")
		}
		if len(p) == 0 {
			return malformed("empty ALPN protocol name")
		}
		h.ALPN = append(h.ALPN, string(p))
	}
	return nil
}

// parseSupportedVersions decodes the ClientHello form of the
// supported_versions extension (RFC 8446 4.2.1).
func (h *Hello) parseSupportedVersions(data []byte) error {
	r := reader{b: data}
	list, ok := r.vec8()
	if !ok || len(r.b) != 0 {
		return malformed("supported_versions length does not match the extension")
	}
	if len(list) < 2 || len(list)%2 != 0 {
		return malformed("supported_versions of %d bytes, want a positive even number", len(list))
	}
	h.SupportedVersions = make([]uint16, len(list)/2)
	for i := range h.SupportedVersions {
		h.SupportedVersions[i] = uint16(list[2*i])<<8 | uint16(list[2*i+1])
	}
	return nil
}

// reader consumes big-endian integers and length-prefixed vectors from b;
// each method reports false, consuming nothing more, when b is too short.
type reader struct{ b []byte }

// u8 reads one byte.
func (r *reader) u8() (byte, bool) {
	if len(r.b) < 1 {
		return 0, false
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v, true
}

// u16 reads a 2-byte integer.
func (r *reader) u16() (uint16, bool) {
	if len(r.b) < 2 {
		return 0, false
	}
	v := uint16(r.b[0])<<8 | uint16(r.b[1])
	r.b = r.b[2:]
	return v, true
}

// u24 reads a 3-byte integer.
func (r *reader) u24() (uint32, bool) {
	if len(r.b) < 3 {
		return 0, false
	}
	v := uint32(r.b[0])<<16 | uint32(r.b[1])<<8 | uint32(r.b[2])
	r.b = r.b[3:]
	return v, true
}

// bytes reads n bytes, returned with their capacity capped.
func (r *reader) bytes(n int) ([]byte, bool) {
	if n < 0 || len(r.b) < n {
		return nil, false
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v, true
}

// vec8 reads a vector with a 1-byte length prefix.
func (r *reader) vec8() ([]byte, bool) {
	if len(r.b) < 1 || len(r.b)-1 < int(r.b[0]) {
		return nil, false
	}
	n := int(r.b[0])
	r.b = r.b[1:]
	return r.bytes(n)
}

// vec16 reads a vector with a 2-byte length prefix.
func (r *reader) vec16() ([]byte, bool) {
	if len(r.b) < 2 {
		return nil, false
	}
	n := int(r.b[0])<<8 | int(r.b[1])
	if len(r.b)-2 < n {
		return nil, false
	}
	r.b = r.b[2:]
	return r.bytes(n)
}
