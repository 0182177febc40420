package sni

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"reflect"
	"testing"
	"time"
)

// goClientHello returns the ClientHello records Go's crypto/tls client
// sends with cfg.
func goClientHello(t testing.TB, cfg *tls.Config) []byte {
	c, s := net.Pipe()
	defer c.Close()
	defer s.Close()
	go tls.Client(c, cfg).Handshake() // fails once s is closed
	s.SetReadDeadline(time.Now().Add(5 * time.Second))
	hdr := make([]byte, recordHeaderLen)
	if _, err := io.ReadFull(s, hdr); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, int(hdr[3])<<8|int(hdr[4]))
	if _, err := io.ReadFull(s, body); err != nil {
		t.Fatal(err)
	}
	return append(hdr, body...)
}

// FuzzParseClientHello checks, on any input, that Parse and
// ParseClientHello never panic, that Parse never claims bytes it was not
// given nor more than the limit, and that a ClientHello it accepts is
// accepted the same from exactly its records, and not from any prefix.
func FuzzParseClientHello(f *testing.F) {
	m := hello(sniExt("a.example"), alpnExt("h2", "http/1.1"), versionsExt(0x0304, 0x0303))
	f.Add(records(m, len(m)), 0)
	f.Add(records(m, 7), 0)
	f.Add(records(m, 30), 100)
	f.Add(records(msg(u16(0x0301), random, vec8(), vec16(u16(0x002f)), noComp), 100), 0)
	f.Add(goClientHello(f, &tls.Config{ServerName: "www.example.com", NextProtos: []string{"h2", "http/1.1"}}), 0)
	f.Add(goClientHello(f, &tls.Config{ServerName: "old.example", MaxVersion: tls.VersionTLS12}), 0)
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"), 0)
	f.Add([]byte{22, 3, 1, 0, 4, 1, 0x01, 0x00, 0x00}, 0)
	f.Fuzz(func(t *testing.T, in []byte, max int) {
		if max > 1<<20 || max < -1 {
			max = 0
		}
		h, n, err := Parse(in, max)
		limit := max
		if limit <= 0 {
			limit = DefaultMax
		}
		if err != nil {
			if h != nil || n != 0 {
				t.Fatalf("error %v with %v, %d", err, h, n)
			}
			if !errors.Is(err, ErrNotTLS) && !errors.Is(err, ErrIncomplete) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error %v", err)
			}
		} else {
			if n <= 0 || n > len(in) || n > limit {
				t.Fatalf("n = %d of %d bytes, limit %d", n, len(in), limit)
			}
			h2, n2, err2 := Parse(in[:n], max)
			if err2 != nil || n2 != n || !reflect.DeepEqual(h, h2) {
				t.Fatalf("again on its records: %v %d %v", h2, n2, err2)
			}
			for k := 0; k < n; k += 1 + k/16 {
				if _, _, err := Parse(in[:k], max); !errors.Is(err, ErrIncomplete) {
					t.Fatalf("prefix of %d/%d: %v", k, n, err)
				}
			}
		}
		// The message parser alone, on the raw input.
		if h, err := ParseClientHello(in); (h == nil) == (err == nil) {
			t.Fatalf("ParseClientHello: %v %v", h, err)
		}
	})
}
