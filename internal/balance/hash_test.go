package balance

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// shares returns, for each target, its share of the picks of p over n
// random keys.
func shares(p Picker, ntargets, n int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	count := make([]float64, ntargets)
	for range n {
		count[p.Pick(&Request{Hash: rng.Uint64() | 1}, nil)]++
	}
	for i := range count {
		count[i] /= float64(n)
	}
	return count
}

func TestHash(t *testing.T) {
	t.Parallel()
	ts := targets(1, 2, 0, 3)
	p := newHash(ts)
	// A key sticks, whatever else happens.
	for _, key := range []string{"user1", "user2", "/a", "/b", ""} {
		r := &Request{Hash: HashString(key)}
		want := p.Pick(r, nil)
		for range 10 {
			p.Pick(&Request{}, nil) // round robin in between
			if got := p.Pick(r, nil); got != want {
				t.Fatalf("key %q: Pick = %d, then %d", key, want, got)
			}
		}
		// Refusing the key's target moves it to one other, always the same.
		alt := p.Pick(r, refuse{want})
		if alt < 0 || alt == want || ts[alt].Weight == 0 {
			t.Fatalf("key %q: refusing %d, Pick = %d", key, want, alt)
		}
		if got := p.Pick(r, refuse{want}); got != alt {
			t.Errorf("key %q: second choice %d, then %d", key, alt, got)
		}
	}
	// Keys spread by weight.
	got := shares(p, len(ts), 60000, 1)
	for i, want := range []float64{1.0 / 6, 2.0 / 6, 0, 3.0 / 6} {
		if d := got[i] - want; d > 0.01 || d < -0.01 {
			t.Errorf("target %d: share %.3f, want %.3f", i, got[i], want)
		}
	}
	// Raw small keys spread too (they are remixed).
	seen := map[int]bool{}
	for k := uint64(1); k <= 32; k++ {
		seen[p.Pick(&Request{Hash: k}, nil)] = true
	}
	if len(seen) != 3 {
		t.Errorf("keys 1..32 reach targets %v, want all of 0, 1, 3", seen)
	}
}

// TestHashPinned pins where keys go, so that a change that would move every
// key between releases (and so between the balancers of a fleet running
// different versions) is noticed.
func TestHashPinned(t *testing.T) {
	t.Parallel()
	p := newHash(targets(1, 1, 1, 1))
	var got []int
	for _, key := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		got = append(got, p.Pick(&Request{Hash: HashString(key)}, nil))
	}
	if want := []int{2, 3, 3, 0, 1, 3, 3, 0}; !slices.Equal(got, want) {
		t.Errorf("keys a..h go to %v, want %v", got, want)
	}
}

func TestHashFallback(t *testing.T) {
	t.Parallel()
	p := newHash(targets(5, 1, 1))
	want := []int{0, 0, 1, 0, 2, 0, 0}
	if got := picks(p, len(want), &Request{}, nil); !slices.Equal(got, want) {
		t.Errorf("no key: picks %v, want round robin %v", got, want)
	}
	if got := picks(p, 3, nil, nil); !slices.Equal(got, want[:3]) {
		t.Errorf("nil request: picks %v, want round robin %v", got, want[:3])
	}
}
