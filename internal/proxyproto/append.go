package proxyproto

import (
	"encoding/binary"
	"hash/crc32"
	"net/netip"
	"strconv"
)

// AppendV1 appends the v1 line announcing a connection from src to dst and
// returns the extended buffer. Two IPv4 addresses (IPv4-mapped ones
// included) give a TCP4 line; otherwise both are written as IPv6 (an IPv4
// one mapped) in a TCP6 line. Zones are dropped. If either address is
// invalid the line is "PROXY UNKNOWN\r\n", which tells the receiver to keep
// the connection's own addresses.
func AppendV1(b []byte, src, dst netip.AddrPort) []byte {
	if !src.IsValid() || !dst.IsValid() {
		return append(b, "PROXY UNKNOWN\r\n"...)
	}
	s, d, v4 := family(src.Addr(), dst.Addr())
	if v4 {
		b = append(b, "PROXY TCP4 "...)
	} else {
		b = append(b, "PROXY TCP6 "...)
	}
	b = s.AppendTo(b)
	b = append(b, ' ')
	b = d.AppendTo(b)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(src.Port()), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(dst.Port()), 10)
	return append(b, "\r\n"...)
}

// family returns s and d in one family without zones: both IPv4 (v4 true)
// when both are IPv4 or IPv4-mapped, else both IPv6.
func family(s, d netip.Addr) (netip.Addr, netip.Addr, bool) {
	s, d = s.Unmap().WithZone(""), d.Unmap().WithZone("")
	if s.Is4() && d.Is4() {
		return s, d, true
	}
	return netip.AddrFrom16(s.As16()), netip.AddrFrom16(d.As16()), false
}

// AppendV2 appends the v2 header (command PROXY) announcing a TCP
// connection from src to dst, followed by tlvs, and returns the extended
// buffer. Addresses are encoded as AppendV1 chooses them (AF_INET, or
// AF_INET6 with IPv4 mapped); if either is invalid the family is AF_UNSPEC,
// with no address block and no TLVs, which tells the receiver to keep the
// connection's own addresses. A TLV of type TypeCRC32C, whatever its value,
// is written as the checksum of the whole header.
//
// AppendV2 panics if the TLVs do not fit in a header (65,535 bytes after
// the fixed 16): only a programming error can make them that large.
func AppendV2(b []byte, src, dst netip.AddrPort, tlvs ...TLV) []byte {
	start := len(b)
	b = append(b, v2Sig...)
	b = append(b, 0x20|byte(Proxy))
	if !src.IsValid() || !dst.IsValid() {
		return append(b, 0x00, 0, 0)
	}
	s, d, v4 := family(src.Addr(), dst.Addr())
	if v4 {
		b = append(b, 0x11, 0, 0)
		s4, d4 := s.As4(), d.As4()
		b = append(b, s4[:]...)
		b = append(b, d4[:]...)
	} else {
		b = append(b, 0x21, 0, 0)
		s16, d16 := s.As16(), d.As16()
		b = append(b, s16[:]...)
		b = append(b, d16[:]...)
	}
	b = binary.BigEndian.AppendUint16(b, src.Port())
	b = binary.BigEndian.AppendUint16(b, dst.Port())
	return finishV2(b, start, tlvs)
}

// AppendLocal appends a v2 header with the LOCAL command and family
// AF_UNSPEC, followed by tlvs: what a proxy sends on a connection it opens
// itself, such as a health check. TLVs are written as by AppendV2.
func AppendLocal(b []byte, tlvs ...TLV) []byte {
	start := len(b)
	b = append(b, v2Sig...)
	b = append(b, 0x20|byte(Local), 0x00, 0, 0)
	return finishV2(b, start, tlvs)
}

// finishV2 appends tlvs to the v2 header that starts at b[start], sets its
// length and its CRC32C if it has one.
func finishV2(b []byte, start int, tlvs []TLV) []byte {
	crcAt := -1
	for _, t := range tlvs {
		v := t.Value
		if t.Type == TypeCRC32C {
			v = []byte{0, 0, 0, 0}
			crcAt = len(b) + 3
		}
		if len(v) > 0xffff {
			panic("proxyproto: TLV value longer than 65535 bytes")
		}
		b = append(b, t.Type)
		b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
		b = append(b, v...)
	}
	n := len(b) - start - v2HeaderLen
	if n > 0xffff {
		panic("proxyproto: v2 header longer than 65551 bytes")
	}
	binary.BigEndian.PutUint16(b[start+14:], uint16(n))
	if crcAt >= 0 {
		binary.BigEndian.PutUint32(b[crcAt:], crc32.Checksum(b[start:], castagnoli))
	}
	return b
}
