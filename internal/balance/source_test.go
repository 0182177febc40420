package balance

import (
	"net/netip"
	"slices"
	"testing"
)

// TestSourceKey checks that a masked address hashes as its prefix's first
// address, for every prefix length.
func TestSourceKey(t *testing.T) {
	t.Parallel()
	ts := targets(1, 1)
	for _, s := range []string{"203.0.113.77", "::ffff:203.0.113.77", "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff"} {
		c := netip.MustParseAddr(s)
		bitsLen := c.Unmap().BitLen()
		for plen := 0; plen <= bitsLen; plen++ {
			p4, p6 := plen, 0
			if bitsLen == 128 {
				p4, p6 = 0, plen
			}
			p := newSource(ts, p4, p6).(*source)
			want := HashAddr(c)
			if plen > 0 {
				want = HashAddr(netip.PrefixFrom(c.Unmap(), plen).Masked().Addr())
			}
			if got := p.key(c); got != want {
				t.Errorf("%s/%d: key = %#x, want %#x", s, plen, got, want)
			}
		}
	}
}

func TestSource(t *testing.T) {
	t.Parallel()
	addr := netip.MustParseAddr
	cases := []struct {
		name    string
		p4, p6  int
		a, b    string
		samekey bool
	}{
		{"whole v4", 0, 0, "10.1.2.3", "10.1.2.4", false},
		{"v4 /24", 24, 0, "10.1.2.3", "10.1.2.200", true},
		{"v4 /24 other net", 24, 0, "10.1.2.3", "10.1.3.3", false},
		{"mapped", 0, 0, "10.1.2.3", "::ffff:10.1.2.3", true},
		{"v6 /64", 0, 64, "2001:db8::1", "2001:db8::ffff:1", true},
		{"v6 /64 ignores p4", 24, 0, "2001:db8::1", "2001:db8::2", false},
		{"v6 /48", 0, 48, "2001:db8:1:2::1", "2001:db8:1:3::1", true},
	}
	for _, c := range cases {
		p := newSource(targets(1, 1, 1), c.p4, c.p6).(*source)
		ka, kb := p.key(addr(c.a)), p.key(addr(c.b))
		if (ka == kb) != c.samekey {
			t.Errorf("%s: key(%s) = %#x, key(%s) = %#x, same = %v", c.name, c.a, ka, c.b, kb, c.samekey)
		}
		// The same client always goes to the same target.
		r := &Request{Client: addr(c.a)}
		first := p.Pick(r, nil)
		for range 5 {
			if got := p.Pick(r, nil); got != first {
				t.Fatalf("%s: %s went to %d, then %d", c.name, c.a, first, got)
			}
		}
	}
}

func TestSourceFallback(t *testing.T) {
	t.Parallel()
	p := newSource(targets(1, 0, 1, 1), 24, 64)
	want := []int{0, 2, 3, 0, 2, 3}
	if got := picks(p, len(want), &Request{Hash: 42}, nil); !slices.Equal(got, want) {
		t.Errorf("no client: picks %v, want round robin %v", got, want)
	}
}

// TestSourceSpread checks that clients spread by weight.
func TestSourceSpread(t *testing.T) {
	t.Parallel()
	p := newSource(targets(1, 3), 0, 0)
	count := [2]int{}
	for i := range 4096 {
		c := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		count[p.Pick(&Request{Client: c}, nil)]++
	}
	if count[0] < 900 || count[0] > 1150 {
		t.Errorf("4096 clients over weights 1 and 3: %v", count)
	}
}
