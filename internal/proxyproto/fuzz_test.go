package proxyproto

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
	"testing/iotest"
)

// FuzzProxyProtocol checks, on any input, that the readers never panic,
// never consume a byte past the header, agree with each other, and that a
// header they accept survives a round trip through Append.
func FuzzProxyProtocol(f *testing.F) {
	for _, c := range validCases(f) {
		f.Add(append(append([]byte(nil), c.in...), payload...))
	}
	f.Add([]byte("PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n"))
	f.Add([]byte("PROXY UNKNOWN\r"))
	f.Add(v2(0x21, 0x11, inet4, tlv(TypeSSL, "\x01\x00\x00\x00\x00\x21\x00\x09TLSv1.3")))
	f.Add(v2(0x21, 0x11, inet4, tlv(TypeCRC32C, "\x00\x00\x00\x00")))
	f.Add([]byte(v2Sig + "\x21\x11\xff\xff"))
	f.Fuzz(func(t *testing.T, in []byte) {
		br := bufio.NewReader(iotest.OneByteReader(bytes.NewReader(in)))
		h1, err1 := Read(br)
		rest1, _ := io.ReadAll(br)

		r := bytes.NewReader(in)
		h2, err2 := ReadUnbuffered(r)
		rest2, _ := io.ReadAll(r)

		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("Read: %v; ReadUnbuffered: %v", err1, err2)
		}
		if err1 != nil {
			// Both refuse; a malformed header is malformed to both (the
			// unbuffered one may see fewer bytes of a short input, and so
			// find it truncated instead).
			if errors.Is(err1, ErrInvalid) && !errors.Is(err2, ErrInvalid) && !errors.Is(err2, io.ErrUnexpectedEOF) {
				t.Fatalf("Read: %v; ReadUnbuffered: %v", err1, err2)
			}
			return
		}
		if !reflect.DeepEqual(h1, h2) {
			t.Fatalf("headers differ:\n%+v\n%+v", *h1, *h2)
		}
		n := len(in) - len(rest1)
		if !bytes.Equal(rest1, rest2) || !bytes.Equal(rest1, in[n:]) {
			t.Fatalf("consumed differently: %q / %q", rest1, rest2)
		}
		// Never over-read: every prefix of the header asks for no byte
		// beyond it.
		for k := 0; k < n; k++ {
			if m, more, err := scan(in[:k]); err != nil || m != 0 || k+more > n {
				t.Fatalf("scan(%q) = %d, %d, %v; header is %d bytes", in[:k], m, more, err, n)
			}
		}
		if h1.Src.IsValid() {
			for _, b := range [][]byte{AppendV1(nil, h1.Src, h1.Dst), AppendV2(nil, h1.Src, h1.Dst)} {
				h, err := Read(bufio.NewReader(bytes.NewReader(b)))
				if err != nil {
					t.Fatalf("round trip of %+v: %v", *h1, err)
				}
				s, d, _ := family(h1.Src.Addr(), h1.Dst.Addr())
				if h.Src.Addr() != s || h.Dst.Addr() != d || h.Src.Port() != h1.Src.Port() || h.Dst.Port() != h1.Dst.Port() {
					t.Fatalf("round trip of %+v gives %+v", *h1, *h)
				}
			}
		}
	})
}
