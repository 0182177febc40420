package sni

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Builders of ClientHello bytes for the table tests.

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func u8(v int) []byte  { return []byte{byte(v)} }
func u16(v int) []byte { return []byte{byte(v >> 8), byte(v)} }
func u24(v int) []byte { return []byte{byte(v >> 16), byte(v >> 8), byte(v)} }

func vec8(parts ...[]byte) []byte {
	b := cat(parts...)
	return cat(u8(len(b)), b)
}

func vec16(parts ...[]byte) []byte {
	b := cat(parts...)
	return cat(u16(len(b)), b)
}

// ext is one extension.
func ext(typ int, data ...[]byte) []byte { return cat(u16(typ), vec16(data...)) }

// sniExt is a server_name extension with one host_name per name.
func sniExt(names ...string) []byte {
	var list [][]byte
	for _, n := range names {
		list = append(list, u8(0), vec16([]byte(n)))
	}
	return ext(extServerName, vec16(list...))
}

// alpnExt is an ALPN extension.
func alpnExt(protos ...string) []byte {
	var list [][]byte
	for _, p := range protos {
		list = append(list, vec8([]byte(p)))
	}
	return ext(extALPN, vec16(list...))
}

// versionsExt is a supported_versions extension.
func versionsExt(vs ...int) []byte {
	var list [][]byte
	for _, v := range vs {
		list = append(list, u16(v))
	}
	return ext(extSupportedVersions, vec8(list...))
}

var (
	random    = bytes.Repeat([]byte{0xab}, 32)
	sessionID = vec8(bytes.Repeat([]byte{0x5e}, 32))
	suites    = vec16(u16(0x1301), u16(0x1302), u16(0xc02f))
	noComp    = vec8(u8(0))
)

// msg wraps a ClientHello body in its handshake header.
func msg(body ...[]byte) []byte {
	b := cat(body...)
	return cat(u8(typeClientHello), u24(len(b)), b)
}

// hello is a TLS 1.2-framed ClientHello with the given extensions.
func hello(exts ...[]byte) []byte {
	return msg(u16(0x0303), random, sessionID, suites, noComp, vec16(exts...))
}

// records frames a handshake message into records of at most size bytes.
func records(m []byte, size int) []byte {
	var b []byte
	for len(m) > 0 {
		k := min(size, len(m))
		b = append(b, cat(u8(recordTypeHandshake), u16(0x0301), u16(k), m[:k])...)
		m = m[k:]
	}
	return b
}

func TestParseClientHelloValid(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want Hello
		ver  uint16
	}{
		{"everything", hello(ext(0x0a0a), sniExt("WWW.Example.COM"), alpnExt("h2", "http/1.1"), versionsExt(0x3a3a, 0x0304, 0x0303), ext(0x1a1a, []byte{0})),
			Hello{ServerName: "www.example.com", ALPN: []string{"h2", "http/1.1"}, LegacyVersion: 0x0303,
				SupportedVersions: []uint16{0x3a3a, 0x0304, 0x0303}, CipherSuites: []uint16{0x1301, 0x1302, 0xc02f}}, VersionTLS13},
		{"no extensions", msg(u16(0x0301), random, vec8(), vec16(u16(0x002f)), noComp),
			Hello{LegacyVersion: 0x0301, CipherSuites: []uint16{0x002f}}, VersionTLS10},
		{"empty extensions", hello(), Hello{LegacyVersion: 0x0303, CipherSuites: []uint16{0x1301, 0x1302, 0xc02f}}, VersionTLS12},
		{"unknown extensions only", hello(ext(0xff01, []byte{0}), ext(23), ext(0xfe0d, bytes.Repeat([]byte{1}, 300))),
			Hello{LegacyVersion: 0x0303, CipherSuites: []uint16{0x1301, 0x1302, 0xc02f}}, VersionTLS12},
		{"other name types skipped", hello(ext(extServerName, vec16(u8(7), vec16([]byte("x")), u8(0), vec16([]byte("a.b")), u8(9), vec16()))),
			Hello{ServerName: "a.b", LegacyVersion: 0x0303, CipherSuites: []uint16{0x1301, 0x1302, 0xc02f}}, VersionTLS12},
		{"one ALPN", hello(alpnExt("http/1.1")),
			Hello{ALPN: []string{"http/1.1"}, LegacyVersion: 0x0303, CipherSuites: []uint16{0x1301, 0x1302, 0xc02f}}, VersionTLS12},
		{"only GREASE versions", hello(versionsExt(0x0a0a)),
			Hello{LegacyVersion: 0x0303, SupportedVersions: []uint16{0x0a0a}, CipherSuites: []uint16{0x1301, 0x1302, 0xc02f}}, VersionTLS12},
		{"longest names", hello(sniExt(strings.Repeat("a", 255)), alpnExt(strings.Repeat("p", 255))),
			Hello{ServerName: strings.Repeat("a", 255), ALPN: []string{strings.Repeat("p", 255)}, LegacyVersion: 0x0303,
				CipherSuites: []uint16{0x1301, 0x1302, 0xc02f}}, VersionTLS12},
	}
	for _, c := range cases {
		h, err := ParseClientHello(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !reflect.DeepEqual(*h, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, *h, c.want)
		}
		if v := h.Version(); v != c.ver {
			t.Errorf("%s: Version() = %#04x, want %#04x", c.name, v, c.ver)
		}
	}
}

func TestParseClientHelloInvalid(t *testing.T) {
	body := func(exts ...[]byte) []byte {
		return cat(u16(0x0303), random, sessionID, suites, noComp, vec16(exts...))
	}
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "empty handshake message"},
		{"ServerHello", cat(u8(2), u24(2), u16(0x0303)), "handshake message type 2, want ClientHello (1)"},
		{"short header", []byte{1, 0, 0}, "truncated handshake header"},
		{"length too long", cat(u8(1), u24(100), body()), "handshake length 100, but 79 bytes follow"},
		{"length too short", cat(u8(1), u24(10), body()), "handshake length 10, but 79 bytes follow"},
		{"no version", msg(u8(3)), "truncated at legacy_version"},
		{"short random", msg(u16(0x0303), random[:31]), "truncated at random"},
		{"no session ID", msg(u16(0x0303), random), "truncated at legacy_session_id"},
		{"session ID overrun", msg(u16(0x0303), random, u8(5), []byte{1, 2}), "truncated at legacy_session_id"},
		{"session ID too long", msg(u16(0x0303), random, vec8(make([]byte, 33)), suites, noComp), "legacy_session_id of 33 bytes, at most 32"},
		{"no suites", msg(u16(0x0303), random, sessionID, u8(0)), "truncated at cipher_suites"},
		{"empty suites", msg(u16(0x0303), random, sessionID, vec16(), noComp), "cipher_suites of 0 bytes, want a positive even number"},
		{"odd suites", msg(u16(0x0303), random, sessionID, vec16([]byte{0x13, 0x01, 0x13}), noComp), "cipher_suites of 3 bytes, want a positive even number"},
		{"no compression", msg(u16(0x0303), random, sessionID, suites), "truncated at legacy_compression_methods"},
		{"empty compression", msg(u16(0x0303), random, sessionID, suites, vec8()), "no compression method"},
		{"extensions truncated", msg(u16(0x0303), random, sessionID, suites, noComp, u8(0)), "truncated at extensions"},
		{"extensions overrun", msg(u16(0x0303), random, sessionID, suites, noComp, u16(10), ext(23)), "truncated at extensions"},
		{"after extensions", msg(body(), []byte{0}), "1 bytes after the extensions"},
		{"extension type truncated", msg(u16(0x0303), random, sessionID, suites, noComp, vec16([]byte{0})), "truncated extension type"},
		{"extension overrun", msg(u16(0x0303), random, sessionID, suites, noComp, vec16(u16(23), u16(5), []byte{1})), "extension 23 overruns the extensions block"},
		{"duplicate extension", msg(body(ext(23), ext(23))), "extension 23 sent twice"},
		{"duplicate SNI", msg(body(sniExt("a"), sniExt("b"))), "extension 0 sent twice"},
		{"SNI list short", msg(body(ext(extServerName, u16(10), u8(0)))), "server_name list length does not match the extension"},
		{"SNI list long", msg(body(ext(extServerName, vec16(u8(0), vec16([]byte("a"))), []byte{0}))), "server_name list length does not match the extension"},
		{"SNI empty list", msg(body(ext(extServerName, vec16()))), "empty server_name list"},
		{"SNI empty extension", msg(body(ext(extServerName))), "server_name list length does not match the extension"},
		{"SNI entry overrun", msg(body(ext(extServerName, vec16(u8(0), u16(9), []byte("abc"))))), "server_name entry overruns the list"},
		{"SNI two host names", msg(body(ext(extServerName, vec16(u8(0), vec16([]byte("a")), u8(0), vec16([]byte("b")))))), "more than one host_name in server_name"},
		{"SNI empty name", msg(body(sniExt(""))), "empty host_name"},
		{"SNI too long", msg(body(sniExt(strings.Repeat("a", 256)))), "host_name of 256 bytes, at most 255"},
		{"SNI NUL", msg(body(sniExt("a\x00b"))), "host_name byte 1 is 0x00"},
		{"SNI space", msg(body(sniExt("a b"))), "host_name byte 1 is 0x20"},
		{"SNI UTF-8", msg(body(sniExt("caf\xc3\xa9"))), "host_name byte 3 is 0xc3"},
		{"ALPN list short", msg(body(ext(extALPN, u16(3), vec8([]byte("h2"))[:1]))), "ALPN list length does not match the extension"},
		{"ALPN empty list", msg(body(ext(extALPN, vec16()))), "empty ALPN list"},
		{"ALPN protocol overrun", msg(body(ext(extALPN, vec16(u8(5), []byte("h2"))))), "ALPN protocol overruns the list"},
		{"ALPN empty protocol", msg(body(ext(extALPN, vec16(vec8([]byte("h2")), vec8())))), "empty ALPN protocol name"},
		{"versions overrun", msg(body(ext(extSupportedVersions, u8(4), u16(0x0304)))), "supported_versions length does not match the extension"},
		{"versions trailing", msg(body(ext(extSupportedVersions, vec8(u16(0x0304)), u8(0)))), "supported_versions length does not match the extension"},
		{"versions odd", msg(body(ext(extSupportedVersions, vec8(u16(0x0304), u8(3))))), "supported_versions of 3 bytes, want a positive even number"},
		{"versions empty", msg(body(ext(extSupportedVersions, vec8()))), "supported_versions of 0 bytes, want a positive even number"},
	}
	for _, c := range cases {
		h, err := ParseClientHello(c.in)
		if err == nil {
			t.Errorf("%s: no error, %+v", c.name, *h)
			continue
		}
		if want := "sni: malformed ClientHello: " + c.want; err.Error() != want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, err, want)
		}
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v is not ErrMalformed", c.name, err)
		}
	}
}

func TestParseRecords(t *testing.T) {
	m := hello(sniExt("a.example"), alpnExt("h2"), ext(0xfe0d, bytes.Repeat([]byte{1}, 500)))
	for _, size := range []int{1, 2, 3, 4, 5, 7, 100, len(m) - 1, len(m), maxRecordLen} {
		in := records(m, size)
		for _, tail := range []string{"", "\x17\x03\x03\x00\x05early", "\x16\x03\x03"} {
			h, n, err := Parse(append(append([]byte(nil), in...), tail...), 0)
			if err != nil || n != len(in) || h.ServerName != "a.example" {
				t.Errorf("records of %d, tail %q: %v, %d (want %d), %v", size, tail, h, n, len(in), err)
			}
		}
		// Every prefix is incomplete.
		for k := 0; k < len(in); k += 1 + k/8 {
			if _, _, err := Parse(in[:k], 0); err != ErrIncomplete {
				t.Fatalf("records of %d, prefix %d: %v", size, k, err)
			}
		}
	}
}

func TestParseRecordErrors(t *testing.T) {
	m := hello(sniExt("a.example"))
	rec := records(m, len(m))
	two := records(m, 20)
	cases := []struct {
		name string
		in   []byte
		max  int
		want error
		msg  string
	}{
		{"HTTP", []byte("GET / HTTP/1.1\r\n"), 0, ErrNotTLS, "sni: not a TLS handshake"},
		{"SSH", []byte("SSH-2.0-OpenSSH_9.2\r\n"), 0, ErrNotTLS, ""},
		{"PROXY", []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), 0, ErrNotTLS, ""},
		{"SSLv2", []byte{0x80, 0x2e, 0x01, 0x03, 0x01}, 0, ErrNotTLS, ""},
		{"alert", []byte{21, 3, 3, 0, 2, 2, 40}, 0, ErrNotTLS, ""},
		{"0x16 not TLS", []byte{22, 0, 1}, 0, ErrNotTLS, ""},
		{"one byte", []byte{22}, 0, ErrIncomplete, "sni: incomplete ClientHello"},
		{"empty", nil, 0, ErrIncomplete, ""},
		{"bad second record version", cat(two[:25], []byte{22, 2, 1}, two[28:]), 0, ErrMalformed, "sni: malformed ClientHello: record version 0x0201"},
		{"alert in between", cat(two[:25], []byte{21, 3, 3, 0, 2, 2, 40}), 0, ErrMalformed, "sni: malformed ClientHello: record of type 21 before the end of the ClientHello"},
		{"CCS in between", cat(two[:25], []byte{20, 3, 3, 0, 1, 1}), 0, ErrMalformed, "sni: malformed ClientHello: record of type 20 before the end of the ClientHello"},
		{"empty record", cat([]byte{22, 3, 1, 0, 0}, rec), 0, ErrMalformed, "sni: malformed ClientHello: empty handshake record"},
		{"record too long", cat([]byte{22, 3, 1, 0x40, 0x01}, m, make([]byte, 16385-len(m))), 100000, ErrMalformed, "sni: malformed ClientHello: record of 16385 bytes, at most 16384"},
		{"ServerHello", records(cat(u8(2), m[1:]), 200), 0, ErrMalformed, "sni: malformed ClientHello: handshake message type 2, want ClientHello (1)"},
		{"ServerHello header alone", []byte{22, 3, 1, 0, 200, 2, 0, 0, 196}, 0, ErrMalformed, "sni: malformed ClientHello: handshake message type 2, want ClientHello (1)"},
		{"bytes after the hello", records(cat(m, []byte{1, 0}), 1000), 0, ErrMalformed, "sni: malformed ClientHello: 2 handshake bytes after the ClientHello"},
		{"bad hello", records(cat(m[:len(m)-1], []byte{0xff}), 1000), 0, ErrMalformed, ""},
		{"record over max", rec, len(rec) - 1, ErrTooLarge, "sni: ClientHello larger than the limit"},
		{"record header over max", cat(two[:25], two[25:27]), 27, ErrTooLarge, ""},
		{"message over max, known early", two[:10], len(rec), ErrTooLarge, ""},
		{"message over max, big length", []byte{22, 3, 1, 0, 4, 1, 0x01, 0x00, 0x00}, 0, ErrTooLarge, ""},
		{"fits exactly", rec[:len(rec)-1], len(rec), ErrIncomplete, ""},
	}
	for _, c := range cases {
		h, n, err := Parse(c.in, c.max)
		if !errors.Is(err, c.want) || h != nil || n != 0 {
			t.Errorf("%s: %v, %d, %v; want %v", c.name, h, n, err, c.want)
			continue
		}
		if c.msg != "" && err.Error() != c.msg {
			t.Errorf("%s:\n got %s\nwant %s", c.name, err, c.msg)
		}
	}
	if _, n, err := Parse(two, len(two)); err != nil || n != len(two) {
		t.Errorf("exactly max: %d %v", n, err)
	}
}

func TestHelloMethods(t *testing.T) {
	h := &Hello{ALPN: []string{"h2", "http/1.1"}, LegacyVersion: VersionTLS12, SupportedVersions: []uint16{0xfafa, VersionTLS13, VersionTLS12}}
	if !h.OffersALPN("h2") || !h.OffersALPN("http/1.1") || h.OffersALPN("h3") {
		t.Error("OffersALPN")
	}
	if h.Version() != VersionTLS13 {
		t.Errorf("Version %#x", h.Version())
	}
	for v, want := range map[uint16]bool{0x0a0a: true, 0xfafa: true, 0x1a2a: false, 0x0304: false, 0x0b0b: false} {
		if isGREASE(v) != want {
			t.Errorf("isGREASE(%#04x) = %v", v, !want)
		}
	}
}

func TestExtSet(t *testing.T) {
	var s extSet
	types := []uint16{0, 63, 64, 255, 256, 0x0a0a, 0xfafa, 0xff01, 0xfe0d}
	for i := 0; i < 40; i++ {
		types = append(types, uint16(1000+i))
	}
	for _, typ := range types {
		if !s.add(typ) {
			t.Fatalf("add(%d) new: false", typ)
		}
	}
	for _, typ := range types {
		if s.add(typ) {
			t.Fatalf("add(%d) again: true", typ)
		}
	}
	if s.many == nil {
		t.Error("no map after 40 high types")
	}
}

func TestManyExtensions(t *testing.T) {
	// Thousands of distinct empty extensions parse (in linear time); one
	// repeated at the end is refused.
	var exts [][]byte
	for i := 0; i < 3000; i++ {
		exts = append(exts, ext(300+i))
	}
	if _, err := ParseClientHello(hello(exts...)); err != nil {
		t.Fatal(err)
	}
	exts = append(exts, ext(1000))
	if _, err := ParseClientHello(hello(exts...)); err == nil || err.Error() != "sni: malformed ClientHello: extension 1000 sent twice" {
		t.Errorf("error %v", err)
	}
}
