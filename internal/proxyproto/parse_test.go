package proxyproto

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

const payload = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"

// ap parses an address and port or fails the test.
func ap(t testing.TB, s string) netip.AddrPort {
	t.Helper()
	a, err := netip.ParseAddrPort(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// v2 builds a v2 header by hand: signature, verCmd, fam, the length of
// body, body.
func v2(verCmd, fam byte, body ...[]byte) []byte {
	b := []byte(v2Sig)
	b = append(b, verCmd, fam)
	all := bytes.Join(body, nil)
	b = binary.BigEndian.AppendUint16(b, uint16(len(all)))
	return append(b, all...)
}

// tlv encodes one TLV by hand.
func tlv(typ byte, v string) []byte {
	b := []byte{typ}
	b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
	return append(b, v...)
}

// withCRC fills the CRC32C value of h, a v2 header whose last TLV is a
// 4-byte CRC32C.
func withCRC(h []byte) []byte {
	at := len(h) - 4
	copy(h[at:], "\x00\x00\x00\x00")
	binary.BigEndian.PutUint32(h[at:], crc32c(h))
	return h
}

// inet4 is the address block of 10.1.2.3:1234 -> 192.0.2.9:443.
var inet4 = []byte{10, 1, 2, 3, 192, 0, 2, 9, 0x04, 0xd2, 0x01, 0xbb}

// inet6 is the address block of [2001:db8::1]:5000 -> [2001:db8::2]:443.
var inet6 = func() []byte {
	b := netip.MustParseAddr("2001:db8::1").AsSlice()
	b = append(b, netip.MustParseAddr("2001:db8::2").AsSlice()...)
	return append(b, 0x13, 0x88, 0x01, 0xbb)
}()

var ipv6Max = strings.Repeat("ffff:", 7) + "ffff"

type validCase struct {
	name string
	in   []byte
	want Header
}

func validCases(t testing.TB) []validCase {
	unix := make([]byte, 216)
	copy(unix, "/run/client.sock")
	copy(unix[108:], "/run/server.sock")
	ssl := "\x07\x00\x00\x00\x00" + string(tlv(subtypeSSLVersion, "TLSv1.3")) + string(tlv(subtypeSSLCN, "client.example"))
	return []validCase{
		{"v1 TCP4", []byte("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"),
			Header{Version: 1, Command: Proxy, Src: ap(t, "192.168.0.1:56324"), Dst: ap(t, "192.168.0.11:443")}},
		{"v1 TCP4 zero and max ports", []byte("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n"),
			Header{Version: 1, Command: Proxy, Src: ap(t, "0.0.0.0:0"), Dst: ap(t, "255.255.255.255:65535")}},
		{"v1 TCP6", []byte("PROXY TCP6 2001:db8::1 2001:DB8::2 65535 1\r\n"),
			Header{Version: 1, Command: Proxy, Src: ap(t, "[2001:db8::1]:65535"), Dst: ap(t, "[2001:db8::2]:1")}},
		{"v1 TCP6 longest", []byte("PROXY TCP6 " + ipv6Max + " " + ipv6Max + " 65535 65535\r\n"),
			Header{Version: 1, Command: Proxy, Src: ap(t, "["+ipv6Max+"]:65535"), Dst: ap(t, "["+ipv6Max+"]:65535")}},
		{"v1 TCP6 IPv4-mapped", []byte("PROXY TCP6 ::ffff:10.0.0.1 ::1 1 2\r\n"),
			Header{Version: 1, Command: Proxy, Src: ap(t, "[::ffff:10.0.0.1]:1"), Dst: ap(t, "[::1]:2")}},
		{"v1 UNKNOWN", []byte("PROXY UNKNOWN\r\n"), Header{Version: 1, Command: Proxy}},
		{"v1 UNKNOWN longest, rest ignored", []byte("PROXY UNKNOWN " + ipv6Max + " " + ipv6Max + " 65535 65535\r\n"),
			Header{Version: 1, Command: Proxy}},
		{"v2 TCP4", v2(0x21, 0x11, inet4),
			Header{Version: 2, Command: Proxy, Src: ap(t, "10.1.2.3:1234"), Dst: ap(t, "192.0.2.9:443")}},
		{"v2 TCP6", v2(0x21, 0x21, inet6),
			Header{Version: 2, Command: Proxy, Src: ap(t, "[2001:db8::1]:5000"), Dst: ap(t, "[2001:db8::2]:443")}},
		{"v2 UDP4", v2(0x21, 0x12, inet4),
			Header{Version: 2, Command: Proxy, Src: ap(t, "10.1.2.3:1234"), Dst: ap(t, "192.0.2.9:443"), Datagram: true}},
		{"v2 UDP6", v2(0x21, 0x22, inet6),
			Header{Version: 2, Command: Proxy, Src: ap(t, "[2001:db8::1]:5000"), Dst: ap(t, "[2001:db8::2]:443"), Datagram: true}},
		{"v2 LOCAL unspec", v2(0x20, 0x00), Header{Version: 2, Command: Local}},
		{"v2 LOCAL with addresses ignored", v2(0x20, 0x11, inet4, tlv(TypeNoop, "")),
			Header{Version: 2, Command: Local, TLVs: []TLV{{TypeNoop, []byte{}}}}},
		{"v2 PROXY unspec, block ignored", v2(0x21, 0x00, []byte("whatever\x00\xff")), Header{Version: 2, Command: Proxy}},
		{"v2 UNIX stream", v2(0x21, 0x31, unix, tlv(TypeAuthority, "a.example")),
			Header{Version: 2, Command: Proxy, TLVs: []TLV{{TypeAuthority, []byte("a.example")}}}},
		{"v2 UNIX datagram", v2(0x21, 0x32, unix), Header{Version: 2, Command: Proxy, Datagram: true}},
		{"v2 TLVs and CRC32C", withCRC(v2(0x21, 0x11, inet4,
			tlv(TypeALPN, "h2"), tlv(TypeAuthority, "www.example.com"), tlv(TypeUniqueID, strings.Repeat("u", 128)),
			tlv(TypeSSL, ssl), tlv(TypeNetNS, "blue"), tlv(0xE0, ""), tlv(TypeCRC32C, "...."))),
			Header{Version: 2, Command: Proxy, Src: ap(t, "10.1.2.3:1234"), Dst: ap(t, "192.0.2.9:443"), TLVs: []TLV{
				{TypeALPN, []byte("h2")}, {TypeAuthority, []byte("www.example.com")},
				{TypeUniqueID, []byte(strings.Repeat("u", 128))}, {TypeSSL, []byte(ssl)},
				{TypeNetNS, []byte("blue")}, {0xE0, []byte{}}, {TypeCRC32C, nil}, // value checked apart
			}}},
		{"v2 longest", v2(0x21, 0x11, inet4, tlv(TypeNoop, strings.Repeat("\x00", MaxHeaderLen-16-12-3))),
			Header{Version: 2, Command: Proxy, Src: ap(t, "10.1.2.3:1234"), Dst: ap(t, "192.0.2.9:443"),
				TLVs: []TLV{{TypeNoop, make([]byte, MaxHeaderLen-16-12-3)}}}},
	}
}

// sameHeader compares headers, ignoring the value of CRC32C TLVs.
func sameHeader(got, want *Header) bool {
	g := *got
	g.TLVs = append([]TLV(nil), got.TLVs...)
	for i := range g.TLVs {
		if g.TLVs[i].Type == TypeCRC32C {
			g.TLVs[i].Value = nil
		}
	}
	if len(g.TLVs) == 0 && len(want.TLVs) == 0 {
		g.TLVs = want.TLVs
	}
	return reflect.DeepEqual(&g, want)
}

// readers are the ways a test reads a header: whole, or a byte per read
// through a bufio.Reader, and without a buffer.
var readers = []struct {
	name string
	read func(in []byte) (h *Header, rest []byte, err error)
}{
	{"Read", func(in []byte) (*Header, []byte, error) {
		br := bufio.NewReader(bytes.NewReader(in))
		h, err := Read(br)
		rest, _ := io.ReadAll(br)
		return h, rest, err
	}},
	{"Read/one-byte", func(in []byte) (*Header, []byte, error) {
		br := bufio.NewReader(iotest.OneByteReader(bytes.NewReader(in)))
		h, err := Read(br)
		rest, _ := io.ReadAll(br)
		return h, rest, err
	}},
	{"ReadUnbuffered", func(in []byte) (*Header, []byte, error) {
		r := bytes.NewReader(in)
		h, err := ReadUnbuffered(r)
		rest, _ := io.ReadAll(r)
		return h, rest, err
	}},
	{"ReadUnbuffered/one-byte", func(in []byte) (*Header, []byte, error) {
		r := bytes.NewReader(in)
		h, err := ReadUnbuffered(iotest.OneByteReader(r))
		rest, _ := io.ReadAll(r)
		return h, rest, err
	}},
}

func TestReadValid(t *testing.T) {
	for _, c := range validCases(t) {
		for _, rd := range readers {
			t.Run(c.name+"/"+rd.name, func(t *testing.T) {
				h, rest, err := rd.read(append(append([]byte(nil), c.in...), payload...))
				if err != nil {
					t.Fatalf("error %v", err)
				}
				if !sameHeader(h, &c.want) {
					t.Errorf("header\n got %+v\nwant %+v", *h, c.want)
				}
				if string(rest) != payload {
					t.Errorf("bytes after the header: %q, want %q", rest, payload)
				}
			})
		}
	}
}

func TestReadValidAlone(t *testing.T) {
	// A header with nothing after it is complete: no reader waits for more.
	for _, c := range validCases(t) {
		for _, rd := range readers {
			h, rest, err := rd.read(c.in)
			if err != nil || !sameHeader(h, &c.want) || len(rest) != 0 {
				t.Errorf("%s/%s: %v %v %q", c.name, rd.name, h, err, rest)
			}
		}
	}
}

func TestReadInvalid(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want string // the exact error
	}{
		{"HTTP", []byte("GET / HTTP/1.1\r\n\r\n"), "proxyproto: no PROXY protocol header"},
		{"TLS", []byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03abcdefgh"), "proxyproto: no PROXY protocol header"},
		{"lower case", []byte("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), "proxyproto: no PROXY protocol header"},
		{"almost PROXY", []byte("PROXI TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), "proxyproto: no PROXY protocol header"},
		{"almost signature", []byte("\r\n\r\n\x00\r\nQUIX\n\x21\x11\x00\x0c"), "proxyproto: no PROXY protocol header"},
		{"v1 no space", []byte("PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n"), "proxyproto: invalid header: v1: no space after PROXY"},
		{"v1 bare LF", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), "proxyproto: invalid header: v1: line ends with LF without CR"},
		{"v1 bare CR", []byte("PROXY TCP4 1.2.3.4\r5.6.7.8 1 2\r\n"), "proxyproto: invalid header: v1: CR not followed by LF"},
		{"v1 CR at end then other", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX\n"), "proxyproto: invalid header: v1: CR not followed by LF"},
		{"v1 too short", []byte("PROXY TCP4\r\n"), "proxyproto: invalid header: v1: line shorter than 15 bytes"},
		{"v1 108 bytes", []byte("PROXY UNKNOWN " + ipv6Max + " " + ipv6Max + " 65535 655350\r\n"),
			"proxyproto: invalid header: v1: line longer than 107 bytes"},
		{"v1 no CRLF", []byte("PROXY UNKNOWN " + strings.Repeat("x", 200)), "proxyproto: invalid header: v1: line longer than 107 bytes"},
		{"v1 unknown protocol", []byte("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n"), `proxyproto: invalid header: v1: unknown protocol "TCP5"`},
		{"v1 UNKNOWN glued", []byte("PROXY UNKNOWNX\r\n"), `proxyproto: invalid header: v1: unknown protocol "UNKNOWNX"`},
		{"v1 empty protocol", []byte("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), `proxyproto: invalid header: v1: unknown protocol ""`},
		{"v1 double space", []byte("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n"), "proxyproto: invalid header: v1: 5 fields after TCP4, want 4"},
		{"v1 trailing space", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n"), "proxyproto: invalid header: v1: 5 fields after TCP4, want 4"},
		{"v1 three fields", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"), "proxyproto: invalid header: v1: 3 fields after TCP4, want 4"},
		{"v1 tab", []byte("PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n"), "proxyproto: invalid header: v1: 3 fields after TCP4, want 4"},
		{"v1 bad source", []byte("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n"), `proxyproto: invalid header: v1: bad source address "1.2.3"`},
		{"v1 leading zero in address", []byte("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n"), `proxyproto: invalid header: v1: bad source address "01.2.3.4"`},
		{"v1 bad destination", []byte("PROXY TCP4 1.2.3.4 5.6.7.256 1 2\r\n"), `proxyproto: invalid header: v1: bad destination address "5.6.7.256"`},
		{"v1 TCP4 with IPv6", []byte("PROXY TCP4 ::1 5.6.7.8 1 2\r\n"), `proxyproto: invalid header: v1: source address "::1" is not TCP4`},
		{"v1 TCP4 with mapped IPv6", []byte("PROXY TCP4 1.2.3.4 ::ffff:5.6.7.8 1 2\r\n"), `proxyproto: invalid header: v1: destination address "::ffff:5.6.7.8" is not TCP4`},
		{"v1 TCP6 with IPv4", []byte("PROXY TCP6 ::1 5.6.7.8 1 2\r\n"), `proxyproto: invalid header: v1: destination address "5.6.7.8" is not TCP6`},
		{"v1 zone", []byte("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n"), `proxyproto: invalid header: v1: bad source address "fe80::1%eth0"`},
		{"v1 port leading zero", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n"), `proxyproto: invalid header: v1: bad source port "080"`},
		{"v1 port too big", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n"), `proxyproto: invalid header: v1: bad destination port "65536"`},
		{"v1 port signed", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n"), `proxyproto: invalid header: v1: bad source port "+1"`},
		{"v1 port hex", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 0x1\r\n"), `proxyproto: invalid header: v1: bad destination port "0x1"`},
		{"v1 port six digits", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 000001 2\r\n"), `proxyproto: invalid header: v1: bad source port "000001"`},
		{"v1 port empty", []byte("PROXY TCP4 1.2.3.4 5.6.7.8  2\r\n"), `proxyproto: invalid header: v1: bad source port ""`},
		{"v2 version 1", v2(0x11, 0x11, inet4), "proxyproto: invalid header: v2: version 1, want 2"},
		{"v2 version 3", v2(0x31, 0x11, inet4), "proxyproto: invalid header: v2: version 3, want 2"},
		{"v2 command 2", v2(0x22, 0x11, inet4), "proxyproto: invalid header: v2: unknown command 0x2"},
		{"v2 command 15", v2(0x2f, 0x11, inet4), "proxyproto: invalid header: v2: unknown command 0xf"},
		{"v2 family 4", v2(0x21, 0x41, inet4), "proxyproto: invalid header: v2: unknown address family and protocol 0x41"},
		{"v2 protocol 3", v2(0x21, 0x13, inet4), "proxyproto: invalid header: v2: unknown address family and protocol 0x13"},
		{"v2 family without protocol", v2(0x21, 0x10, inet4), "proxyproto: invalid header: v2: unknown address family and protocol 0x10"},
		{"v2 short TCP4 block", v2(0x21, 0x11, inet4[:11]), "proxyproto: invalid header: v2: 11 bytes after the header, family 0x11 needs 12"},
		{"v2 short TCP6 block", v2(0x21, 0x21, inet4), "proxyproto: invalid header: v2: 12 bytes after the header, family 0x21 needs 36"},
		{"v2 short LOCAL block", v2(0x20, 0x11, inet4[:4]), "proxyproto: invalid header: v2: 4 bytes after the header, family 0x11 needs 12"},
		{"v2 short UNIX block", v2(0x21, 0x31, make([]byte, 215)), "proxyproto: invalid header: v2: 215 bytes after the header, family 0x31 needs 216"},
		{"v2 too long", []byte(v2Sig + "\x21\x11\xff\xff"), "proxyproto: invalid header: v2: header of 65551 bytes is longer than 4096"},
		{"v2 one too long", v2(0x21, 0x11, inet4, tlv(TypeNoop, strings.Repeat("\x00", MaxHeaderLen-16-12-3+1))),
			"proxyproto: invalid header: v2: header of 4097 bytes is longer than 4096"},
		{"v2 truncated TLV", v2(0x21, 0x11, inet4, []byte{TypeNoop, 0}), "proxyproto: invalid header: v2: truncated TLV at byte 28"},
		{"v2 TLV overrun", v2(0x21, 0x11, inet4, tlv(TypeALPN, "h2")[:4]), "proxyproto: invalid header: v2: TLV 0x01 at byte 28: 2 bytes of value overrun the header"},
		{"v2 second TLV overrun", v2(0x21, 0x11, inet4, tlv(TypeALPN, "h2"), []byte{TypeAuthority, 0xff, 0xff, 'a'}),
			"proxyproto: invalid header: v2: TLV 0x02 at byte 33: 65535 bytes of value overrun the header"},
		{"v2 CRC32C mismatch", v2(0x21, 0x11, inet4, tlv(TypeCRC32C, "\x00\x00\x00\x00")),
			"proxyproto: invalid header: v2: CRC32C 0x00000000 does not match the header's " + crcHex(v2(0x21, 0x11, inet4, tlv(TypeCRC32C, "\x00\x00\x00\x00")))},
		{"v2 CRC32C size", v2(0x21, 0x11, inet4, tlv(TypeCRC32C, "\x00\x00\x00")), "proxyproto: invalid header: v2: CRC32C TLV of 3 bytes, want 4"},
		{"v2 two CRC32C", v2(0x21, 0x11, inet4, tlv(TypeCRC32C, "\x00\x00\x00\x00"), tlv(TypeCRC32C, "\x00\x00\x00\x00")),
			"proxyproto: invalid header: v2: more than one CRC32C TLV"},
		{"v2 unique ID too long", v2(0x21, 0x11, inet4, tlv(TypeUniqueID, strings.Repeat("u", 129))),
			"proxyproto: invalid header: v2: unique ID of 129 bytes, at most 128 allowed"},
		{"v2 SSL too short", v2(0x21, 0x11, inet4, tlv(TypeSSL, "\x01\x00\x00\x00")), "proxyproto: invalid header: v2: SSL TLV of 4 bytes, at least 5 needed"},
		{"v2 SSL truncated sub-TLV", v2(0x21, 0x11, inet4, tlv(TypeSSL, "\x01\x00\x00\x00\x00\x21\x00")),
			"proxyproto: invalid header: v2: truncated sub-TLV in SSL TLV at byte 5"},
		{"v2 SSL sub-TLV overrun", v2(0x21, 0x11, inet4, tlv(TypeSSL, "\x01\x00\x00\x00\x00\x21\x00\x09TLSv1.3")),
			"proxyproto: invalid header: v2: sub-TLV 0x21 in SSL TLV: 9 bytes of value overrun the TLV"},
		{"v2 LOCAL bad TLV", v2(0x20, 0x11, inet4, []byte{TypeNoop}), "proxyproto: invalid header: v2: truncated TLV at byte 28"},
	}
	for _, c := range cases {
		for _, rd := range readers {
			t.Run(c.name+"/"+rd.name, func(t *testing.T) {
				h, _, err := rd.read(append(append([]byte(nil), c.in...), payload...))
				if err == nil {
					t.Fatalf("no error, header %+v", *h)
				}
				if err.Error() != c.want {
					t.Errorf("error\n got %s\nwant %s", err, c.want)
				}
				wantIs := ErrInvalid
				if strings.Contains(c.want, "no PROXY protocol header") {
					wantIs = ErrNotProxy
				}
				if !errors.Is(err, wantIs) {
					t.Errorf("error %v is not %v", err, wantIs)
				}
			})
		}
	}
}

// crc32c is the CRC32c of b.
func crc32c(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// crcHex is the CRC32C of h, as the error message prints it.
func crcHex(h []byte) string {
	var b bytes.Buffer
	b.WriteString("0x")
	const digits = "0123456789abcdef"
	c := crc32c(h)
	for i := 28; i >= 0; i -= 4 {
		b.WriteByte(digits[c>>uint(i)&0xf])
	}
	return b.String()
}

func TestReadTruncated(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"nothing", "", "proxyproto: reading header: EOF"},
		{"v1 part", "PROXY TCP4 1.2.3.4 ", "proxyproto: reading header: unexpected EOF"},
		{"v1 before CR", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2", "proxyproto: reading header: unexpected EOF"},
		{"v1 before LF", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r", "proxyproto: reading header: unexpected EOF"},
		{"v2 signature", v2Sig[:5], "proxyproto: reading header: unexpected EOF"},
		{"v2 block", string(v2(0x21, 0x11, inet4)[:20]), "proxyproto: reading header: unexpected EOF"},
	}
	for _, c := range cases {
		for _, rd := range readers {
			_, _, err := rd.read([]byte(c.in))
			if err == nil || err.Error() != c.want {
				t.Errorf("%s/%s: error %v, want %s", c.name, rd.name, err, c.want)
			}
			want := io.ErrUnexpectedEOF
			if c.in == "" {
				want = io.EOF
			}
			if !errors.Is(err, want) {
				t.Errorf("%s/%s: error %v is not %v", c.name, rd.name, err, want)
			}
		}
	}
}

func TestReadBufferTooSmall(t *testing.T) {
	in := v2(0x21, 0x11, inet4, tlv(TypeNoop, strings.Repeat("\x00", 100)))
	br := bufio.NewReaderSize(bytes.NewReader(in), 16) // bufio's minimum
	_, err := Read(br)
	if err == nil || err.Error() != "proxyproto: header longer than the 16-byte read buffer" {
		t.Errorf("error %v", err)
	}
}

func TestScanNeverOverReads(t *testing.T) {
	// For every prefix of a valid header, the lower bound scan returns must
	// not reach past the header's end.
	for _, c := range validCases(t) {
		for k := 0; k < len(c.in); k++ {
			n, more, err := scan(c.in[:k])
			if err != nil || n != 0 || more < 1 || k+more > len(c.in) {
				t.Fatalf("%s: scan(%q) = %d, %d, %v; header is %d bytes", c.name, c.in[:k], n, more, err, len(c.in))
			}
		}
		if n, _, err := scan(c.in); n != len(c.in) || err != nil {
			t.Errorf("%s: scan(all) = %d, %v", c.name, n, err)
		}
	}
}

func TestHeaderSSL(t *testing.T) {
	ssl := "\x07\x00\x00\x00\x01" + string(tlv(subtypeSSLVersion, "TLSv1.3")) + string(tlv(subtypeSSLCN, "client.example")) +
		string(tlv(subtypeSSLCipher, "TLS_AES_128_GCM_SHA256")) + string(tlv(subtypeSSLSigAlg, "RSA-SHA256")) +
		string(tlv(subtypeSSLKeyAlg, "RSA2048")) + string(tlv(0x2f, "other"))
	h, err := Read(bufio.NewReader(bytes.NewReader(v2(0x21, 0x11, inet4, tlv(TypeSSL, ssl)))))
	if err != nil {
		t.Fatal(err)
	}
	got, ok := h.SSL()
	want := SSL{Client: 7, Verify: 1, Version: "TLSv1.3", CN: "client.example", Cipher: "TLS_AES_128_GCM_SHA256", SigAlg: "RSA-SHA256", KeyAlg: "RSA2048"}
	if !ok || got != want {
		t.Errorf("SSL() = %+v, %v; want %+v", got, ok, want)
	}
	if _, ok := (&Header{}).SSL(); ok {
		t.Error("SSL() of a header without the TLV reports one")
	}
	if v, ok := h.TLV(TypeSSL); !ok || string(v) != ssl {
		t.Errorf("TLV(TypeSSL) = %q, %v", v, ok)
	}
	if _, ok := h.TLV(TypeALPN); ok {
		t.Error("TLV(TypeALPN) found")
	}
}

func TestTLVValuesDoNotAliasTheBuffer(t *testing.T) {
	in := v2(0x21, 0x11, inet4, tlv(TypeAuthority, "a.example"))
	br := bufio.NewReader(bytes.NewReader(in))
	h, err := Read(br)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		in[i] = 'X'
	}
	if v, _ := h.TLV(TypeAuthority); string(v) != "a.example" {
		t.Errorf("value %q changed with the input", v)
	}
}

func TestCommandString(t *testing.T) {
	for c, want := range map[Command]string{Local: "LOCAL", Proxy: "PROXY", 7: "Command(0x7)"} {
		if got := c.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", c, got, want)
		}
	}
}
