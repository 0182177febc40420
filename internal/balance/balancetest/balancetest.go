// Package balancetest is the conformance suite that every balance algorithm
// passes: Run checks the contract of balance.Picker (empty sets, weight 0,
// the Accepter, concurrency, no allocation) and, optionally, that traffic
// follows weights. It belongs to tests only.
package balancetest

import (
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/balance"
)

// Option changes what Run checks.
type Option func(*config)

type config struct {
	proportional bool
	tol          float64
}

// Proportional makes Run also check that, over many requests with random
// keys and client addresses and a steady number of them in flight, each of
// the targets of weights {1, 2, 3} gets a share of the picks within tol
// (relative, e.g. 0.1 for 10%) of its share of the weight. It suits every
// algorithm but first, whose purpose is the opposite.
func Proportional(tol float64) Option {
	return func(c *config) { c.proportional, c.tol = true, tol }
}

// Targets returns targets of the given weights, each with a fresh Load, a
// distinct Key and no MaxConn.
func Targets(weights ...int) []balance.Target {
	ts := make([]balance.Target, len(weights))
	for i, w := range weights {
		ts[i] = balance.Target{Weight: w, Key: balance.HashString(string(rune('a' + i))), Load: new(balance.Load)}
	}
	return ts
}

// Allow is an Accepter that accepts target i when Allow[i] is true. Indices
// out of range are refused and reported by Run.
type Allow []bool

// Accept reports a[i].
func (a Allow) Accept(i int) bool { return i >= 0 && i < len(a) && a[i] }

// Run runs the conformance suite on pickers built by b, as subtests of t.
// t must not be parallel (t.Parallel), because Run measures allocations with
// testing.AllocsPerRun, which refuses to run in parallel tests.
func Run(t *testing.T, b balance.Builder, opts ...Option) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	t.Run("Empty", func(t *testing.T) { testEmpty(t, b) })
	t.Run("Single", func(t *testing.T) { testSingle(t, b) })
	t.Run("ZeroWeight", func(t *testing.T) { testZeroWeight(t, b) })
	t.Run("Accepter", func(t *testing.T) { testAccepter(t, b) })
	t.Run("NoAlloc", func(t *testing.T) { testNoAlloc(t, b) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, b) })
	if c.proportional {
		t.Run("Proportional", func(t *testing.T) { testProportional(t, b, c.tol) })
	}
}

// requests returns n requests: without anything, with a key, with a client
// address, and with both, keys and addresses drawn from a seeded source.
func requests(n int, seed uint64) []balance.Request {
	rng := rand.New(rand.NewPCG(seed, 7))
	rs := make([]balance.Request, n)
	for i := range rs {
		if i%4&1 == 1 {
			rs[i].Hash = rng.Uint64() | 1
		}
		if i%4&2 == 2 {
			rs[i].Client = randomAddr(rng)
		}
	}
	return rs
}

// randomAddr returns a random IPv4 or IPv6 address.
func randomAddr(rng *rand.Rand) netip.Addr {
	var b [16]byte
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	if rng.IntN(2) == 0 {
		return netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.AddrFrom16(b)
}

func testEmpty(t *testing.T, b balance.Builder) {
	for _, ts := range [][]balance.Target{nil, {}, Targets(0), Targets(0, 0, 0)} {
		p := b(ts)
		for _, r := range requests(8, 1) {
			if got := p.Pick(&r, nil); got != -1 {
				t.Errorf("%d targets of weight 0: Pick(%+v) = %d, want -1", len(ts), r, got)
			}
		}
	}
}

func testSingle(t *testing.T, b balance.Builder) {
	p := b(Targets(3))
	for _, r := range requests(16, 2) {
		if got := p.Pick(&r, nil); got != 0 {
			t.Errorf("Pick(%+v) = %d, want 0", r, got)
		}
		if got := p.Pick(&r, Allow{false}); got != -1 {
			t.Errorf("Pick(%+v) refusing all = %d, want -1", r, got)
		}
	}
	if got := p.Pick(nil, nil); got != 0 {
		t.Errorf("Pick(nil, nil) = %d, want 0", got)
	}
}

func testZeroWeight(t *testing.T, b balance.Builder) {
	ts := Targets(0, 1, 0, 2, 0, -1)
	p := b(ts)
	seen := make([]int, len(ts))
	for _, r := range requests(400, 3) {
		got := p.Pick(&r, nil)
		if got < 0 || got >= len(ts) || ts[got].Weight <= 0 {
			t.Fatalf("Pick(%+v) = %d, want 1 or 3", r, got)
		}
		seen[got]++
	}
	if got := p.Pick(&balance.Request{}, Allow{true, false, true, false, true, true}); got != -1 {
		t.Errorf("Pick accepting only weight 0 = %d, want -1", got)
	}
}

// testAccepter checks, for every subset of acceptable targets, that Pick
// returns an acceptable target of weight above 0, or -1 only if none is,
// and that it asks only about valid indices.
func testAccepter(t *testing.T, b balance.Builder) {
	ts := Targets(1, 2, 0, 3, 1)
	p := b(ts)
	rs := requests(24, 4)
	for mask := range 1 << len(ts) {
		allow := make(Allow, len(ts))
		possible := false
		for i := range allow {
			allow[i] = mask&(1<<i) != 0
			possible = possible || allow[i] && ts[i].Weight > 0
		}
		bad := false
		a := balance.AcceptFunc(func(i int) bool {
			bad = bad || i < 0 || i >= len(ts)
			return allow.Accept(i)
		})
		for _, r := range rs {
			got := p.Pick(&r, a)
			switch {
			case bad:
				t.Fatalf("allow %v: Pick(%+v) asked about an index out of range", allow, r)
			case got == -1 && possible:
				t.Fatalf("allow %v: Pick(%+v) = -1 although a target is acceptable", allow, r)
			case got != -1 && (got < 0 || got >= len(ts) || !allow[got] || ts[got].Weight <= 0):
				t.Fatalf("allow %v: Pick(%+v) = %d, not acceptable", allow, r, got)
			}
		}
	}
}

// testNoAlloc checks that Pick does not allocate, with and without an
// Accepter.
func testNoAlloc(t *testing.T, b balance.Builder) {
	p := b(Targets(1, 2, 3, 4))
	rs := requests(16, 5)
	var allow balance.Accepter = Allow{true, false, true, true} // boxed once
	i := 0
	n := testing.AllocsPerRun(200, func() {
		r := &rs[i%len(rs)]
		i++
		p.Pick(r, nil)
		p.Pick(r, allow)
	})
	if n != 0 {
		t.Errorf("Pick allocates %v times per call, want 0", n)
	}
}

// testConcurrent picks from many goroutines while they change the loads,
// for the race detector.
func testConcurrent(t *testing.T, b balance.Builder) {
	ts := Targets(1, 2, 3, 0, 5)
	p := b(ts)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			allow := Allow{true, true, g%2 == 0, true, true}
			for _, r := range requests(500, uint64(g)) {
				i := p.Pick(&r, allow)
				if i < 0 || ts[i].Weight <= 0 || !allow[i] {
					t.Errorf("Pick = %d", i)
					return
				}
				ts[i].Load.Inc()
				ts[i].Load.Observe(int64(1000*(i+1)), time.Now().UnixNano())
				ts[i].Load.Dec()
			}
		})
	}
	wg.Wait()
}

// testProportional simulates a steady number of requests in flight, each
// finishing after the same number of later picks, over weights {1, 2, 3}.
func testProportional(t *testing.T, b balance.Builder, tol float64) {
	weights := []int{1, 2, 3}
	ts := Targets(weights...)
	p := b(ts)
	const n, window = 60000, 64
	var inflight [window]int
	count := make([]int, len(ts))
	rng := rand.New(rand.NewPCG(6, 7))
	for k := range n {
		r := balance.Request{Hash: rng.Uint64() | 1, Client: randomAddr(rng)}
		if k >= window {
			ts[inflight[k%window]].Load.Dec()
		}
		i := p.Pick(&r, nil)
		if i < 0 {
			t.Fatalf("Pick = %d", i)
		}
		ts[i].Load.Inc()
		inflight[k%window] = i
		count[i]++
	}
	for i, w := range weights {
		want := float64(n) * float64(w) / 6
		if d := float64(count[i]) - want; d > tol*want || -d > tol*want {
			t.Errorf("target %d (weight %d) got %d picks, want %.0f ± %.0f%%", i, w, count[i], want, tol*100)
		}
	}
}
