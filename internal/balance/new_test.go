package balance

import (
	"hash/fnv"
	"net/netip"
	"testing"
)

func TestNew(t *testing.T) {
	t.Parallel()
	for _, a := range Algorithms {
		if !a.Valid() {
			t.Errorf("%q.Valid() = false", a)
		}
		b, err := New(a, Options{})
		if err != nil || b == nil {
			t.Fatalf("New(%q) = %v, %v", a, b, err)
		}
		if got := b(nil).Pick(&Request{}, nil); got != -1 {
			t.Errorf("New(%q) on no targets: Pick = %d, want -1", a, got)
		}
	}
	errs := []struct {
		a    Algorithm
		opts Options
		want string
	}{
		{"rendezvous", Options{}, `unknown balance algorithm "rendezvous"`},
		{"", Options{}, `unknown balance algorithm ""`},
		{"RoundRobin", Options{}, `unknown balance algorithm "RoundRobin"`},
		{Source, Options{SourcePrefix4: 33}, "source prefix 33 out of range 0-32 for IPv4"},
		{Source, Options{SourcePrefix6: -1}, "source prefix -1 out of range 0-128 for IPv6"},
		{Consistent, Options{MaglevSize: -5}, "maglev table size -5 is negative"},
	}
	for _, c := range errs {
		b, err := New(c.a, c.opts)
		if err == nil || err.Error() != c.want || b != nil {
			t.Errorf("New(%q, %+v) = %v, %v, want error %q", c.a, c.opts, b, err, c.want)
		}
	}
	if Algorithm("rendezvous").Valid() {
		t.Error(`"rendezvous".Valid() = true`)
	}
}

// The hashes are part of fulcrum's behaviour across processes and versions:
// two balancers must send a key to the same server. These values must never
// change.
func TestHashGolden(t *testing.T) {
	t.Parallel()
	strs := []struct {
		in   string
		want uint64
	}{
		{"", 0xf52a15e9a9b5e89b},
		{"a", 0x2c0bdbf481420f8},
		{"abc", 0xdd490490804b508},
		{"/index.html", 0xf6ad651c57d64427},
		{"user42", 0x7243fb2f94987c17},
	}
	for _, c := range strs {
		if got := HashString(c.in); got != c.want {
			t.Errorf("HashString(%q) = %#x, want %#x", c.in, got, c.want)
		}
		if got := HashBytes([]byte(c.in)); got != c.want {
			t.Errorf("HashBytes(%q) = %#x, want %#x", c.in, got, c.want)
		}
	}
	addrs := []struct {
		in   string
		want uint64
	}{
		{"192.0.2.1", 0x6b390e5096f79c83},
		{"::ffff:192.0.2.1", 0x6b390e5096f79c83},
		{"2001:db8::1", 0x4c98a7c9c72d179e},
		{"2001:db8::1%eth0", 0x4c98a7c9c72d179e},
		{"::", 0x48218226ff3cd4bf},
	}
	for _, c := range addrs {
		if got := HashAddr(netip.MustParseAddr(c.in)); got != c.want {
			t.Errorf("HashAddr(%s) = %#x, want %#x", c.in, got, c.want)
		}
	}
	if got := HashAddr(netip.Addr{}); got != 0 {
		t.Errorf("HashAddr(zero) = %#x, want 0", got)
	}
}

// TestHashIsFNV checks HashBytes against the standard library's FNV-1a.
func TestHashIsFNV(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "x", "hello, world", "\x00\xff\x80"} {
		h := fnv.New64a()
		h.Write([]byte(s))
		if got, want := HashString(s), nonzero(mix64(h.Sum64())); got != want {
			t.Errorf("HashString(%q) = %#x, want mix64(fnv64a) = %#x", s, got, want)
		}
	}
}

func TestHashNoAlloc(t *testing.T) {
	b := []byte("/some/uri?with=query")
	s := string(b)
	a := netip.MustParseAddr("2001:db8::42")
	var sink uint64
	n := testing.AllocsPerRun(100, func() {
		sink += HashBytes(b) + HashString(s) + HashAddr(a)
	})
	if n != 0 {
		t.Errorf("hashing allocates %v times, want 0", n)
	}
	_ = sink
}

// TestMix64 checks the finalizer against splitmix64's published first
// output for seed 0 (state advanced by the golden gamma).
func TestMix64(t *testing.T) {
	t.Parallel()
	if got, want := mix64(0x9e3779b97f4a7c15), uint64(0xe220a8397b1dcdaf); got != want {
		t.Errorf("mix64(gamma) = %#x, want %#x", got, want)
	}
}

func FuzzHash(f *testing.F) {
	for _, s := range []string{"", "a", "user42", "\xff\xfe"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h := HashBytes(b)
		if h == 0 {
			t.Fatalf("HashBytes(%q) = 0", b)
		}
		if g := HashString(string(b)); g != h {
			t.Fatalf("HashString(%q) = %#x, HashBytes = %#x", b, g, h)
		}
		if len(b) >= 16 {
			a := netip.AddrFrom16([16]byte(b[:16]))
			if HashAddr(a) == 0 || HashAddr(a) != HashAddr(a.Unmap()) {
				t.Fatalf("HashAddr(%s) = %#x", a, HashAddr(a))
			}
		}
	})
}

func TestReduce(t *testing.T) {
	t.Parallel()
	cases := []struct {
		h    uint64
		n    int
		want int
	}{
		{0, 7, 0},
		{^uint64(0), 7, 6},
		{1 << 63, 7, 3},
		{1 << 63, 1, 0},
	}
	for _, c := range cases {
		if got := reduce(c.h, c.n); got != c.want {
			t.Errorf("reduce(%#x, %d) = %d, want %d", c.h, c.n, got, c.want)
		}
	}
}
