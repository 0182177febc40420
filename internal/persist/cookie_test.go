package persist

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// testSecret is the secret of the pinned values below.
var testSecret = []byte("0123456789abcdef0123456789abcdef")

// TestCodecValuePinned pins the cookie format: these values were computed
// independently (Python's hmac and openssl dgst -hmac), so a change here
// means every client's cookie stops matching and must be deliberate.
func TestCodecValuePinned(t *testing.T) {
	t.Parallel()
	c := NewCodec(testSecret)
	for _, tt := range []struct{ backend, server, want string }{
		{"web", "web1", "v1.NeCyddqBxWd2_76N"},
		{"web", "web2", "v1.o40jHAudiX3VMJmr"},
		{"api", "web1", "v1.4FNi9qqV3lYbtPx0"},
		{"web", "10.0.0.1:80", "v1.FnxA4dFmgfLw1oFU"},
	} {
		if got := c.Value(tt.backend, tt.server); got != tt.want {
			t.Errorf("Value(%q, %q) = %q, want %q", tt.backend, tt.server, got, tt.want)
		}
	}
}

func TestCodecValueProperties(t *testing.T) {
	t.Parallel()
	c := NewCodec(testSecret)
	v := c.Value("web", "web1")
	if len(v) != valueLen {
		t.Errorf("len(%q) = %d, want %d", v, len(v), valueLen)
	}
	for _, other := range []string{
		c.Value("web", "web1 "),
		c.Value("webw", "eb1"), // the separator keeps the names apart
		c.Value("web", "web2"),
		NewCodec([]byte("0123456789abcdef0123456789abcdeF")).Value("web", "web1"),
	} {
		if other == v {
			t.Errorf("%q collides with Value(web, web1)", other)
		}
	}
	if strings.Contains(v, "10.0.0.1") {
		t.Errorf("value %q reveals the address", v)
	}
	secret := append([]byte(nil), testSecret...)
	c2 := NewCodec(secret)
	secret[0] ^= 1 // the codec keeps its own copy
	if got := c2.Value("web", "web1"); got != v {
		t.Errorf("after the caller's secret changed, Value = %q, want %q", got, v)
	}
}

func TestNewCodecShortSecret(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("NewCodec(15 bytes) did not panic")
		}
	}()
	NewCodec(make([]byte, MinSecretLen-1))
}

func TestRandomSecret(t *testing.T) {
	t.Parallel()
	a, b := RandomSecret(), RandomSecret()
	if len(a) != 32 || bytes.Equal(a, b) {
		t.Errorf("RandomSecret() = %x, %x; want 32 different bytes each time", a, b)
	}
	NewCodec(a) // long enough
}

func TestTableLookup(t *testing.T) {
	t.Parallel()
	c := NewCodec(testSecret)
	names := []string{"web1", "web2", "10.0.0.1:80", "web2"}
	tb := c.Table("web", names)
	if tb.Len() != 4 {
		t.Fatalf("Len() = %d, want 4", tb.Len())
	}
	for i, want := range []int{0, 1, 2, 1} { // a repeated name answers with the first
		v := tb.Value(i)
		if v != c.Value("web", names[i]) {
			t.Errorf("Value(%d) = %q, want %q", i, v, c.Value("web", names[i]))
		}
		if got, ok := tb.Lookup([]byte(v)); !ok || got != want {
			t.Errorf("Lookup(%q) = %d, %v; want %d, true", v, got, ok, want)
		}
	}
	if got, ok := tb.Lookup([]byte("v1.NeCyddqBxWd2_76N")); !ok || got != 0 {
		t.Errorf("Lookup(pinned web1) = %d, %v; want 0, true", got, ok)
	}
}

func TestTableLookupTampered(t *testing.T) {
	t.Parallel()
	c := NewCodec(testSecret)
	tb := c.Table("web", []string{"web1", "web2"})
	v := tb.Value(0)
	bad := []string{
		"", "v1.", "v1", v[:len(v)-1], v + "A", v + "=", " " + v, v + " ", `"` + v + `"`,
		strings.ToUpper(v), strings.ToLower(v), "v2" + v[2:], "V1" + v[2:], "v1:" + v[3:],
		c.Value("api", "web1"), // the same server name in another backend
		NewCodec([]byte("another secret of 32 bytes......")).Value("web", "web1"),
		"web1", "10.0.0.1:80",
	}
	// Every single-byte change, to every other base64url character.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range v {
		for _, r := range alphabet + "." {
			if byte(r) != v[i] {
				bad = append(bad, v[:i]+string(r)+v[i+1:])
			}
		}
	}
	for _, b := range bad {
		if got, ok := tb.Lookup([]byte(b)); ok || got != -1 {
			t.Errorf("Lookup(%q) = %d, %v; want -1, false", b, got, ok)
		}
	}
}

func TestAppendSetCookie(t *testing.T) {
	t.Parallel()
	const v = "v1.NeCyddqBxWd2_76N"
	for _, tt := range []struct {
		spec CookieSpec
		want string
	}{
		{CookieSpec{Name: "SRVID"}, "Set-Cookie: SRVID=" + v + "; Path=/\r\n"},
		{CookieSpec{Name: "SRVID", HTTPOnly: true, SameSite: SameSiteLax, Path: "/"},
			"Set-Cookie: SRVID=" + v + "; Path=/; HttpOnly; SameSite=Lax\r\n"},
		{CookieSpec{Name: "SRV", Secure: true, HTTPOnly: true, SameSite: SameSiteLax, MaxAge: time.Hour, Path: "/", Domain: "example.com"},
			"Set-Cookie: SRV=" + v + "; Path=/; Domain=example.com; Max-Age=3600; Secure; HttpOnly; SameSite=Lax\r\n"},
		{CookieSpec{Name: "s", Secure: true, SameSite: SameSiteNone, Path: "/app"},
			"Set-Cookie: s=" + v + "; Path=/app; Secure; SameSite=None\r\n"},
		{CookieSpec{Name: "s", SameSite: SameSiteStrict, MaxAge: 1500 * time.Millisecond},
			"Set-Cookie: s=" + v + "; Path=/; Max-Age=2; SameSite=Strict\r\n"}, // rounded up
		{CookieSpec{Name: "s", MaxAge: time.Nanosecond}, "Set-Cookie: s=" + v + "; Path=/; Max-Age=1\r\n"},
		{CookieSpec{Name: "s", MaxAge: -time.Second}, "Set-Cookie: s=" + v + "; Path=/\r\n"}, // session
		{CookieSpec{Name: "s", MaxAge: 30 * 24 * time.Hour}, "Set-Cookie: s=" + v + "; Path=/; Max-Age=2592000\r\n"},
	} {
		got := tt.spec.AppendSetCookie([]byte("HTTP/1.1 200 OK\r\n"), v)
		if want := "HTTP/1.1 200 OK\r\n" + tt.want; string(got) != want {
			t.Errorf("%+v:\n got %q\nwant %q", tt.spec, got, want)
		}
		if err := tt.spec.Validate(); err != nil {
			t.Errorf("%+v: Validate() = %v", tt.spec, err)
		}
	}
}

func TestCookieSpecValidate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		spec CookieSpec
		want string
	}{
		{CookieSpec{Name: ""}, `cookie name "" is not a token`},
		{CookieSpec{Name: "a b"}, `cookie name "a b" is not a token`},
		{CookieSpec{Name: "a=b"}, `cookie name "a=b" is not a token`},
		{CookieSpec{Name: "s", SameSite: "Lax"}, `unknown SameSite "Lax"`},
		{CookieSpec{Name: "s", SameSite: SameSiteNone}, "SameSite=None needs Secure: browsers refuse the cookie otherwise"},
		{CookieSpec{Name: "s", Path: "app"}, `cookie path "app" must start with / and hold no control character or ';'`},
		{CookieSpec{Name: "s", Path: "/a;Secure"}, `cookie path "/a;Secure" must start with / and hold no control character or ';'`},
		{CookieSpec{Name: "s", Path: "/a\r\nX: y"}, `cookie path "/a\r\nX: y" must start with / and hold no control character or ';'`},
		{CookieSpec{Name: "s", Domain: "a.com; x"}, `cookie domain "a.com; x" is not a domain name`},
		{CookieSpec{Name: "x;", SameSite: "no"}, "cookie name \"x;\" is not a token\nunknown SameSite \"no\""},
	} {
		err := tt.spec.Validate()
		if err == nil || err.Error() != tt.want {
			t.Errorf("%+v: Validate() = %v, want %q", tt.spec, err, tt.want)
		}
	}
}

func TestCookieNoAllocs(t *testing.T) {
	c := NewCodec(testSecret)
	tb := c.Table("web", []string{"web1", "web2", "web3"})
	hit, miss := []byte(tb.Value(2)), []byte("v1.AAAAAAAAAAAAAAAA")
	spec := CookieSpec{Name: "SRVID", Secure: true, HTTPOnly: true, SameSite: SameSiteLax, MaxAge: time.Hour, Domain: "example.com"}
	buf := make([]byte, 0, 256)
	n := testing.AllocsPerRun(100, func() {
		if i, ok := tb.Lookup(hit); !ok || i != 2 {
			t.Fatal("Lookup(hit) failed")
		}
		if _, ok := tb.Lookup(miss); ok {
			t.Fatal("Lookup(miss) found")
		}
		buf = spec.AppendSetCookie(buf[:0], tb.Value(2))
	})
	if n != 0 {
		t.Errorf("Lookup and AppendSetCookie: %v allocations, want 0", n)
	}
}

// FuzzCookie checks that Lookup never panics and finds nothing but the
// exact values of the table's servers.
func FuzzCookie(f *testing.F) {
	c := NewCodec(testSecret)
	tb := c.Table("web", []string{"web1", "web2", "web3"})
	for i := range tb.Len() {
		f.Add([]byte(tb.Value(i)))
	}
	f.Add([]byte("v1.AAAAAAAAAAAAAAAA"))
	f.Add([]byte("v1.NeCyddqBxWd2_76n"))
	f.Add([]byte(""))
	f.Add([]byte("v1."))
	f.Add([]byte("\xff\x00v1.NeCyddqBxWd2_76N"))
	f.Fuzz(func(t *testing.T, value []byte) {
		i, ok := tb.Lookup(value)
		if !ok {
			if i != -1 {
				t.Fatalf("Lookup(%q) = %d, false; want -1", value, i)
			}
			return
		}
		if i < 0 || i >= tb.Len() || string(value) != tb.Value(i) {
			t.Fatalf("Lookup(%q) = %d, true; want only exact values", value, i)
		}
	})
}

func BenchmarkTableLookup(b *testing.B) {
	tb := NewCodec(testSecret).Table("web", []string{"web1", "web2", "web3", "web4"})
	v := []byte(tb.Value(3))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := tb.Lookup(v); !ok {
			b.Fatal("miss")
		}
	}
}

func BenchmarkAppendSetCookie(b *testing.B) {
	spec := CookieSpec{Name: "SRVID", HTTPOnly: true, SameSite: SameSiteLax, MaxAge: time.Hour}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = spec.AppendSetCookie(buf[:0], "v1.NeCyddqBxWd2_76N")
	}
}
