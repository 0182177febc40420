package proxyproto

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"net/netip"
	"testing"
)

func TestAppendV1(t *testing.T) {
	cases := []struct {
		name     string
		src, dst netip.AddrPort
		want     string
	}{
		{"TCP4", ap(t, "192.168.0.1:56324"), ap(t, "192.168.0.11:443"), "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"},
		{"TCP6", ap(t, "[2001:db8::1]:65535"), ap(t, "[2001:db8::2]:0"), "PROXY TCP6 2001:db8::1 2001:db8::2 65535 0\r\n"},
		{"mapped both", ap(t, "[::ffff:10.0.0.1]:1"), ap(t, "[::ffff:10.0.0.2]:2"), "PROXY TCP4 10.0.0.1 10.0.0.2 1 2\r\n"},
		{"mixed", ap(t, "10.0.0.1:1"), ap(t, "[2001:db8::2]:2"), "PROXY TCP6 ::ffff:10.0.0.1 2001:db8::2 1 2\r\n"},
		{"zone dropped", netip.AddrPortFrom(netip.MustParseAddr("fe80::1%eth0"), 7), ap(t, "[fe80::2]:8"), "PROXY TCP6 fe80::1 fe80::2 7 8\r\n"},
		{"no source", netip.AddrPort{}, ap(t, "10.0.0.2:2"), "PROXY UNKNOWN\r\n"},
		{"no destination", ap(t, "10.0.0.2:2"), netip.AddrPort{}, "PROXY UNKNOWN\r\n"},
	}
	for _, c := range cases {
		got := AppendV1([]byte("pre"), c.src, c.dst)
		if string(got) != "pre"+c.want {
			t.Errorf("%s: %q, want %q", c.name, got, "pre"+c.want)
		}
	}
}

func TestAppendV2Golden(t *testing.T) {
	cases := []struct {
		name string
		got  []byte
		want string // hex
	}{
		{"TCP4", AppendV2(nil, ap(t, "10.1.2.3:1234"), ap(t, "192.0.2.9:443")),
			"0d0a0d0a000d0a515549540a" + "21" + "11" + "000c" + "0a010203" + "c0000209" + "04d2" + "01bb"},
		{"TCP6", AppendV2(nil, ap(t, "[2001:db8::1]:5000"), ap(t, "[2001:db8::2]:443")),
			"0d0a0d0a000d0a515549540a" + "21" + "21" + "0024" + "20010db8000000000000000000000001" + "20010db8000000000000000000000002" + "1388" + "01bb"},
		{"mixed", AppendV2(nil, ap(t, "10.0.0.1:1"), ap(t, "[::1]:2")),
			"0d0a0d0a000d0a515549540a" + "21" + "21" + "0024" + "00000000000000000000ffff0a000001" + "00000000000000000000000000000001" + "0001" + "0002"},
		{"TLV", AppendV2(nil, ap(t, "10.1.2.3:1234"), ap(t, "192.0.2.9:443"), TLV{TypeALPN, []byte("h2")}),
			"0d0a0d0a000d0a515549540a" + "21" + "11" + "0011" + "0a010203" + "c0000209" + "04d2" + "01bb" + "01" + "0002" + "6832"},
		{"unspec", AppendV2(nil, netip.AddrPort{}, ap(t, "10.0.0.1:1"), TLV{TypeALPN, []byte("h2")}),
			"0d0a0d0a000d0a515549540a" + "21" + "00" + "0000"},
		{"LOCAL", AppendLocal(nil), "0d0a0d0a000d0a515549540a" + "20" + "00" + "0000"},
		{"LOCAL TLV", AppendLocal(nil, TLV{TypeNoop, nil}), "0d0a0d0a000d0a515549540a" + "20" + "00" + "0003" + "04" + "0000"},
	}
	for _, c := range cases {
		if got := hex.EncodeToString(c.got); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
}

func TestAppendV2CRC(t *testing.T) {
	b := AppendV2([]byte("prefix"), ap(t, "10.1.2.3:1234"), ap(t, "192.0.2.9:443"),
		TLV{TypeAuthority, []byte("www.example.com")}, TLV{TypeCRC32C, []byte("ignored")}, TLV{TypeUniqueID, []byte("id")})
	h := b[len("prefix"):]
	at := bytes.Index(h, []byte{TypeCRC32C, 0, 4}) + 3
	got := append([]byte(nil), h[at:at+4]...)
	copy(h[at:], "\x00\x00\x00\x00")
	want := crc32c(h)
	if g := uint32(got[0])<<24 | uint32(got[1])<<16 | uint32(got[2])<<8 | uint32(got[3]); g != want {
		t.Errorf("CRC32C %08x, want %08x", g, want)
	}
}

func TestAppendRoundTrip(t *testing.T) {
	pairs := [][2]string{
		{"192.168.0.1:56324", "192.168.0.11:443"},
		{"0.0.0.0:0", "255.255.255.255:65535"},
		{"[2001:db8::1]:1", "[2001:db8::ff]:65535"},
		{"[::]:0", "[" + ipv6Max + "]:65535"},
	}
	tlvs := []TLV{{TypeAuthority, []byte("a.example")}, {TypeCRC32C, nil}, {TypeNoop, []byte{}}}
	for _, p := range pairs {
		src, dst := ap(t, p[0]), ap(t, p[1])
		for _, enc := range []struct {
			name string
			b    []byte
			tlvs int
		}{
			{"v1", AppendV1(nil, src, dst), 0},
			{"v2", AppendV2(nil, src, dst), 0},
			{"v2+TLVs", AppendV2(nil, src, dst, tlvs...), len(tlvs)},
		} {
			h, err := Read(bufio.NewReader(bytes.NewReader(enc.b)))
			if err != nil {
				t.Fatalf("%s %s: %v", p, enc.name, err)
			}
			if h.Src != src || h.Dst != dst || h.Command != Proxy || len(h.TLVs) != enc.tlvs {
				t.Errorf("%s %s: read back %+v", p, enc.name, *h)
			}
		}
	}
	h, err := Read(bufio.NewReader(bytes.NewReader(AppendLocal(nil, tlvs...))))
	if err != nil || h.Command != Local || h.Src.IsValid() {
		t.Errorf("LOCAL: %+v %v", h, err)
	}
}

func TestAppendV2Panics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for a 65536-byte TLV")
		}
	}()
	AppendV2(nil, ap(t, "10.0.0.1:1"), ap(t, "10.0.0.2:2"), TLV{TypeNoop, make([]byte, 65536)})
}

func BenchmarkReadV1(b *testing.B) {
	in := AppendV1(nil, ap(b, "192.168.0.1:56324"), ap(b, "192.168.0.11:443"))
	benchmarkRead(b, in)
}

func BenchmarkReadV2(b *testing.B) {
	in := AppendV2(nil, ap(b, "192.168.0.1:56324"), ap(b, "192.168.0.11:443"))
	benchmarkRead(b, in)
}

func benchmarkRead(b *testing.B, in []byte) {
	r := bytes.NewReader(in)
	br := bufio.NewReader(r)
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(in)
		br.Reset(r)
		if _, err := Read(br); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendV2(b *testing.B) {
	src, dst := ap(b, "192.168.0.1:56324"), ap(b, "192.168.0.11:443")
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendV2(buf[:0], src, dst)
	}
}
