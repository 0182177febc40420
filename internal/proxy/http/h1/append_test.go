package h1

import "testing"

func TestAppend(t *testing.T) {
	dst := make([]byte, 0, 256)
	dst = AppendRequestLine(dst, []byte("GET"), []byte("/x?y"))
	dst = AppendHeader(dst, []byte("Host"), []byte("a"))
	dst = AppendContentLength(dst, 42)
	dst = AppendHeader(dst, []byte("X-Empty"), nil)
	dst = append(dst, "\r\n"...)
	want := "GET /x?y HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\nX-Empty: \r\n\r\n"
	if string(dst) != want {
		t.Errorf("appended %q, want %q", dst, want)
	}
	var r Request
	if n, err := ParseRequest(dst, &r); err != nil || n != len(dst) || r.ContentLength != 42 {
		t.Errorf("ParseRequest of the appended head = %d, %v, %d", n, err, r.ContentLength)
	}
	if got := string(AppendStatusLine(nil, 404, []byte("Not Found"))); got != "HTTP/1.1 404 Not Found\r\n" {
		t.Errorf("AppendStatusLine = %q", got)
	}
	allocs := testing.AllocsPerRun(100, func() {
		dst = AppendHeader(dst[:0], []byte("Name"), []byte("value"))
	})
	if allocs != 0 {
		t.Errorf("AppendHeader allocates %.1f times with capacity", allocs)
	}
}

func TestValidField(t *testing.T) {
	for _, tt := range []struct {
		s           string
		name, value bool
	}{
		{"X-Foo", true, true},
		{"", false, true},
		{"a b", false, true},
		{"a:b", false, true},
		{"a\r\nb", false, false},
		{" a", false, false},
		{"a\t", false, false},
		{"a\tb", false, true},
		{"\x00", false, false},
		{"caf\xc3\xa9", false, true},
	} {
		if got := ValidFieldName(tt.s); got != tt.name {
			t.Errorf("ValidFieldName(%q) = %v, want %v", tt.s, got, tt.name)
		}
		if got := ValidFieldValue([]byte(tt.s)); got != tt.value {
			t.Errorf("ValidFieldValue(%q) = %v, want %v", tt.s, got, tt.value)
		}
	}
}

func TestValueEnd(t *testing.T) {
	// The word-at-a-time scan must agree with a byte-at-a-time one.
	naive := func(b []byte, i int) int {
		for ; i < len(b); i++ {
			if class[b[i]]&cValue == 0 {
				return i
			}
		}
		return i
	}
	seed := uint64(1)
	next := func() uint64 { seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17; return seed }
	special := []byte{'\t', '\r', '\n', 0, 0x1f, 0x7f, 0x80, 0xff, ' ', 0x7e, 0x20, 0x21}
	for range 20000 {
		b := make([]byte, next()%40)
		for i := range b {
			if next()%3 == 0 {
				b[i] = special[next()%uint64(len(special))]
			} else {
				b[i] = byte(next())
			}
		}
		for i := 0; i <= len(b); i++ {
			if got, want := valueEnd(b, i), naive(b, i); got != want {
				t.Fatalf("valueEnd(%q, %d) = %d, want %d", b, i, got, want)
			}
		}
	}
}
