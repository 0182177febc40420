package proxyproto

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"net/netip"
	"strings"
)

const (
	// v1Prefix starts every v1 line.
	v1Prefix = "PROXY"
	// v1MaxLen is the longest v1 line, CRLF included.
	v1MaxLen = 107
	// v1MinLen is the shortest v1 line, "PROXY UNKNOWN\r\n".
	v1MinLen = 15
	// v2HeaderLen is the fixed part of a v2 header: signature, version and
	// command, family and protocol, length.
	v2HeaderLen = 16
	// minHeaderLen is the shortest header of either version.
	minHeaderLen = v1MinLen
)

// v2Sig is the 12-byte signature that starts every v2 header.
const v2Sig = "\r\n\r\n\x00\r\nQUIT\n"

// castagnoli is the CRC32c table of TypeCRC32C; it is never written after
// initialisation.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// scan looks at b, the first bytes received on a connection, and reports
// either the length n of the complete header b starts with, or a lower bound
// more (at least 1) on how many bytes the header still needs, or the error
// that makes b the prefix of no valid header. Because more never exceeds what
// a valid header still needs, a reader that reads exactly more bytes at a
// time never reads past the header.
func scan(b []byte) (n, more int, err error) {
	if len(b) == 0 {
		return 0, minHeaderLen, nil
	}
	if b[0] == v1Prefix[0] {
		return scanV1(b)
	}
	return scanV2(b)
}

// scanV1 is scan for a line starting with 'P'.
func scanV1(b []byte) (n, more int, err error) {
	k := min(len(b), len(v1Prefix))
	if string(b[:k]) != v1Prefix[:k] {
		return 0, 0, ErrNotProxy
	}
	if len(b) > len(v1Prefix) && b[len(v1Prefix)] != ' ' {
		return 0, 0, invalid("v1: no space after PROXY")
	}
	for i, c := range b[:min(len(b), v1MaxLen)] {
		switch c {
		case '\n':
			return 0, 0, invalid("v1: line ends with LF without CR")
		case '\r':
			if i+2 > v1MaxLen {
				return 0, 0, invalid("v1: line longer than %d bytes", v1MaxLen)
			}
			if i+1 == len(b) {
				return 0, 1, nil
			}
			if b[i+1] != '\n' {
				return 0, 0, invalid("v1: CR not followed by LF")
			}
			if i+2 < v1MinLen {
				return 0, 0, invalid("v1: line shorter than %d bytes", v1MinLen)
			}
			return i + 2, 0, nil
		}
	}
	if len(b) >= v1MaxLen {
		return 0, 0, invalid("v1: line longer than %d bytes", v1MaxLen)
	}
	return 0, v1Remaining(b), nil
}

// v1MinTCP4 and v1MinTCP6 are the shortest valid lengths of the fields after
// "PROXY " (protocol, source, destination, source port, destination port) of
// a TCP4 and a TCP6 line: addresses "0.0.0.0" and "::", ports "0".
var (
	v1MinTCP4 = [5]int{4, 7, 7, 1, 1}
	v1MinTCP6 = [5]int{4, 2, 2, 1, 1}
)

// v1Remaining is a lower bound on the bytes a valid v1 line starting with b
// (which holds no CR) still needs, CRLF included.
func v1Remaining(b []byte) int {
	if len(b) <= len(v1Prefix) {
		return v1MinLen - len(b)
	}
	fields := strings.Split(string(b[len(v1Prefix)+1:]), " ")
	cur := len(fields) - 1 // the field being received
	var mins [5]int
	switch {
	case cur == 0:
		// The protocol itself: complete it the shortest way.
		p := fields[0]
		best := 2 // anything may end here (then the line is invalid)
		if strings.HasPrefix("UNKNOWN", p) {
			best = len("UNKNOWN") - len(p) + 2
		} else if strings.HasPrefix("TCP", p) || p == "TCP4" || p == "TCP6" {
			best = 4 - len(p) + 1 + 2 + 1 + 2 + 1 + 1 + 1 + 1 + 2
		}
		return best
	case fields[0] == "TCP4":
		mins = v1MinTCP4
	case fields[0] == "TCP6":
		mins = v1MinTCP6
	default: // UNKNOWN and anything after it, or an invalid protocol
		return 2
	}
	if cur >= len(mins) {
		return 2 // too many fields: invalid, but only the CRLF is certain
	}
	need := max(0, mins[cur]-len(fields[cur]))
	for _, m := range mins[cur+1:] {
		need += 1 + m
	}
	return need + 2
}

// scanV2 is scan for bytes that do not start with 'P'.
func scanV2(b []byte) (n, more int, err error) {
	k := min(len(b), len(v2Sig))
	if string(b[:k]) != v2Sig[:k] {
		return 0, 0, ErrNotProxy
	}
	if len(b) > 12 {
		if err := checkVerCmd(b[12]); err != nil {
			return 0, 0, err
		}
	}
	if len(b) > 13 {
		if _, err := addrLen(b[13]); err != nil {
			return 0, 0, err
		}
	}
	if len(b) < v2HeaderLen {
		return 0, v2HeaderLen - len(b), nil
	}
	total := v2HeaderLen + int(binary.BigEndian.Uint16(b[14:16]))
	if total > MaxHeaderLen {
		return 0, 0, invalid("v2: header of %d bytes is longer than %d", total, MaxHeaderLen)
	}
	if len(b) < total {
		return 0, total - len(b), nil
	}
	return total, 0, nil
}

// checkVerCmd checks the 13th byte of a v2 header.
func checkVerCmd(c byte) error {
	if v := c >> 4; v != 2 {
		return invalid("v2: version %d, want 2", v)
	}
	if cmd := Command(c & 0xf); cmd != Local && cmd != Proxy {
		return invalid("v2: unknown command %#x", uint8(cmd))
	}
	return nil
}

// addrLen returns the size of the address block of a v2 family and protocol
// byte, or an error for a combination the specification does not define.
func addrLen(fam byte) (int, error) {
	switch fam {
	case 0x00: // AF_UNSPEC
		return 0, nil
	case 0x11, 0x12: // TCP, UDP over IPv4
		return 12, nil
	case 0x21, 0x22: // TCP, UDP over IPv6
		return 36, nil
	case 0x31, 0x32: // UNIX stream, datagram
		return 216, nil
	}
	return 0, invalid("v2: unknown address family and protocol %#02x", fam)
}

// parse decodes b, a complete header as delimited by scan. The returned
// Header does not alias b.
func parse(b []byte) (*Header, error) {
	if b[0] == v1Prefix[0] {
		return parseV1(b)
	}
	return parseV2(b)
}

// parseV1 decodes a complete v1 line, CRLF included.
func parseV1(b []byte) (*Header, error) {
	line := string(b[len(v1Prefix)+1 : len(b)-2])
	h := &Header{Version: 1, Command: Proxy}
	proto, rest, _ := strings.Cut(line, " ")
	var v6 bool
	switch proto {
	case "UNKNOWN":
		return h, nil // the receiver must ignore the rest of the line
	case "TCP4":
	case "TCP6":
		v6 = true
	default:
		return nil, invalid("v1: unknown protocol %q", proto)
	}
	f := strings.Split(rest, " ")
	if len(f) != 4 {
		return nil, invalid("v1: %d fields after %s, want 4", len(f), proto)
	}
	src, err := parseV1Addr(f[0], v6, "source")
	if err != nil {
		return nil, err
	}
	dst, err := parseV1Addr(f[1], v6, "destination")
	if err != nil {
		return nil, err
	}
	sport, ok := parsePort(f[2])
	if !ok {
		return nil, invalid("v1: bad source port %q", f[2])
	}
	dport, ok := parsePort(f[3])
	if !ok {
		return nil, invalid("v1: bad destination port %q", f[3])
	}
	h.Src = netip.AddrPortFrom(src, sport)
	h.Dst = netip.AddrPortFrom(dst, dport)
	return h, nil
}

// parseV1Addr parses an address of a TCP4 (v6 false) or TCP6 line.
func parseV1Addr(s string, v6 bool, what string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, invalid("v1: bad %s address %q", what, s)
	}
	if a.Is6() != v6 {
		fam := "TCP4"
		if v6 {
			fam = "TCP6"
		}
		return netip.Addr{}, invalid("v1: %s address %q is not %s", what, s, fam)
	}
	return a, nil
}

// parsePort parses a decimal port in [0, 65535] without leading zeros.
func parsePort(s string) (uint16, bool) {
	if len(s) == 0 || len(s) > 5 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if n > 0xffff {
		return 0, false
	}
	return uint16(n), true
}

// parseV2 decodes a complete v2 header.
func parseV2(b []byte) (*Header, error) {
	if err := checkVerCmd(b[12]); err != nil {
		return nil, err
	}
	fam := b[13]
	alen, err := addrLen(fam)
	if err != nil {
		return nil, err
	}
	h := &Header{Version: 2, Command: Command(b[12] & 0xf)}
	if fam == 0x00 {
		// Unspecified: no address block to decode and, the layout being
		// unknown, no TLVs to find either; the receiver ignores it all.
		return h, nil
	}
	body := b[v2HeaderLen:]
	if len(body) < alen {
		return nil, invalid("v2: %d bytes after the header, family %#02x needs %d", len(body), fam, alen)
	}
	h.Datagram = fam&0xf == 0x2
	if h.Command == Proxy {
		switch fam >> 4 {
		case 0x1:
			h.Src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(body[0:4])), binary.BigEndian.Uint16(body[8:10]))
			h.Dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(body[4:8])), binary.BigEndian.Uint16(body[10:12]))
		case 0x2:
			h.Src = netip.AddrPortFrom(netip.AddrFrom16([16]byte(body[0:16])), binary.BigEndian.Uint16(body[32:34]))
			h.Dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(body[16:32])), binary.BigEndian.Uint16(body[34:36]))
		}
		// AF_UNIX: paths are no network addresses; keep the connection's.
	}
	if h.TLVs, err = parseTLVs(b, v2HeaderLen+alen); err != nil {
		return nil, err
	}
	return h, nil
}

// parseTLVs decodes and checks the TLVs of the complete v2 header hdr,
// starting at byte off. The values are copied out of hdr.
func parseTLVs(hdr []byte, off int) ([]TLV, error) {
	if off == len(hdr) {
		return nil, nil
	}
	count, crcAt := 0, -1
	for p := off; p < len(hdr); count++ {
		if len(hdr)-p < 3 {
			return nil, invalid("v2: truncated TLV at byte %d", p)
		}
		typ, n := hdr[p], int(binary.BigEndian.Uint16(hdr[p+1:p+3]))
		if n > len(hdr)-p-3 {
			return nil, invalid("v2: TLV %#02x at byte %d: %d bytes of value overrun the header", typ, p, n)
		}
		v := hdr[p+3 : p+3+n]
		switch typ {
		case TypeCRC32C:
			if n != 4 {
				return nil, invalid("v2: CRC32C TLV of %d bytes, want 4", n)
			}
			if crcAt >= 0 {
				return nil, invalid("v2: more than one CRC32C TLV")
			}
			crcAt = p + 3
		case TypeUniqueID:
			if n > maxUniqueID {
				return nil, invalid("v2: unique ID of %d bytes, at most %d allowed", n, maxUniqueID)
			}
		case TypeSSL:
			if err := checkSSL(v); err != nil {
				return nil, err
			}
		}
		p += 3 + n
	}
	if crcAt >= 0 {
		want := binary.BigEndian.Uint32(hdr[crcAt : crcAt+4])
		c := crc32.Update(0, castagnoli, hdr[:crcAt])
		c = crc32.Update(c, castagnoli, []byte{0, 0, 0, 0})
		c = crc32.Update(c, castagnoli, hdr[crcAt+4:])
		if c != want {
			return nil, invalid("v2: CRC32C 0x%08x does not match the header's 0x%08x", want, c)
		}
	}
	data := bytes.Clone(hdr[off:])
	tlvs := make([]TLV, 0, count)
	for p := 0; p < len(data); {
		n := int(binary.BigEndian.Uint16(data[p+1 : p+3]))
		tlvs = append(tlvs, TLV{Type: data[p], Value: data[p+3 : p+3+n : p+3+n]})
		p += 3 + n
	}
	return tlvs, nil
}

// checkSSL checks the layout of a TypeSSL value: client flags, verify
// result, then well-formed sub-TLVs filling the rest exactly.
func checkSSL(v []byte) error {
	if len(v) < 5 {
		return invalid("v2: SSL TLV of %d bytes, at least 5 needed", len(v))
	}
	for p := 5; p < len(v); {
		if len(v)-p < 3 {
			return invalid("v2: truncated sub-TLV in SSL TLV at byte %d", p)
		}
		n := int(binary.BigEndian.Uint16(v[p+1 : p+3]))
		if n > len(v)-p-3 {
			return invalid("v2: sub-TLV %#02x in SSL TLV: %d bytes of value overrun the TLV", v[p], n)
		}
		p += 3 + n
	}
	return nil
}
