package balance

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestMaglevSize(t *testing.T) {
	t.Parallel()
	cases := []struct {
		n, size, want int
	}{
		{1, 0, 65537},
		{655, 0, 65537},
		{656, 0, 131101}, // nextPrime(2 × 65537)
		{3, 5, 397},      // 5, 11, 23, 47, 97, 197, 397
		{3, 1000, 1009},
		{10, 1000, 1009},
		{11, 1000, 2027},      // outgrown: doubled
		{2, 1 << 30, 4194319}, // capped at maxMaglevSize, then raised to a prime
	}
	for _, c := range cases {
		if got := maglevSize(c.size, c.n); got != c.want {
			t.Errorf("maglevSize(%d, %d) = %d, want %d", c.size, c.n, got, c.want)
		}
	}
	p := newMaglev(targets(1, 0, 1), 1000).(*maglev)
	if len(p.slots) != 1009 {
		t.Errorf("table of %d slots, want 1009", len(p.slots))
	}
}

func TestMaglevWeights(t *testing.T) {
	t.Parallel()
	cases := [][]int{{1, 1, 1}, {1, 2, 3}, {1, 0, 10}, {256, 1}, {5, 5, 1, 1, 2}}
	for _, weights := range cases {
		p := newMaglev(targets(weights...), 0).(*maglev)
		count := make([]int, len(weights))
		for _, i := range p.slots {
			count[i]++
		}
		sum := 0
		for _, w := range weights {
			sum += w
		}
		for i, w := range weights {
			want := float64(len(p.slots)) * float64(w) / float64(sum)
			switch {
			case w == 0 && count[i] != 0:
				t.Errorf("%v: weight 0 target %d has %d slots", weights, i, count[i])
			case w > 0 && count[i] == 0:
				t.Errorf("%v: target %d has no slot", weights, i)
			case w > 0 && (float64(count[i]) < want*0.98-1 || float64(count[i]) > want*1.02+1):
				t.Errorf("%v: target %d has %d slots, want about %.0f", weights, i, count[i], want)
			}
		}
	}
}

func TestMaglevDeterministic(t *testing.T) {
	t.Parallel()
	a := newMaglev(targets(1, 2, 3, 4), 0).(*maglev)
	b := newMaglev(targets(1, 2, 3, 4), 0).(*maglev)
	if !slices.Equal(a.slots, b.slots) {
		t.Error("two builds over the same targets differ")
	}
	// Pinned: a change here moves keys between releases.
	if got, want := a.slots[:12], []int32{3, 3, 3, 2, 2, 1, 2, 3, 3, 0, 1, 2}; !slices.Equal(got, want) {
		t.Errorf("first slots %v, want %v", got, want)
	}
}

// TestMaglevDisruption removes and adds one of n servers and checks that
// about 1/n of the keys move (Maglev's near-minimal disruption), and that
// keys of the servers that stay mostly stay with them.
func TestMaglevDisruption(t *testing.T) {
	t.Parallel()
	const n, nkeys = 10, 100000
	rng := rand.New(rand.NewPCG(3, 4))
	keys := make([]uint64, nkeys)
	for i := range keys {
		keys[i] = rng.Uint64() | 1
	}
	for _, weights := range [][]int{
		{1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		{1, 2, 3, 1, 2, 3, 1, 2, 3, 1},
	} {
		all := targets(weights...)
		for _, gone := range []int{0, 4, n - 1} {
			rest := slices.Delete(slices.Clone(all), gone, gone+1)
			// Removing: before on all, after on rest. Adding: the reverse.
			for _, dir := range []struct {
				name          string
				before, after []Target
			}{{"remove", all, rest}, {"add", rest, all}} {
				before, after := newMaglev(dir.before, 0), newMaglev(dir.after, 0)
				moved, movedOthers, others := 0, 0, 0
				for _, k := range keys {
					r := &Request{Hash: k}
					kb := dir.before[before.Pick(r, nil)].Key
					ka := dir.after[after.Pick(r, nil)].Key
					if kb != ka {
						moved++
					}
					if kb != all[gone].Key && ka != all[gone].Key {
						others++
						if kb != ka {
							movedOthers++
						}
					}
				}
				share := float64(weights[gone]) / float64(sum(weights))
				t.Logf("%v, %s %d: %.4f moved (share %.4f), %.4f of the others' keys", weights, dir.name, gone,
					float64(moved)/nkeys, share, float64(movedOthers)/float64(others))
				if f := float64(moved) / nkeys; f > 1.3*share {
					t.Errorf("%v, %s %d: %.4f of keys moved, want <= %.4f", weights, dir.name, gone, f, 1.3*share)
				}
				if f := float64(movedOthers) / float64(others); f > 0.01 {
					t.Errorf("%v, %s %d: %.4f of the other servers' keys moved, want <= 0.01", weights, dir.name, gone, f)
				}
			}
		}
	}
}

func sum(w []int) int {
	s := 0
	for _, x := range w {
		s += x
	}
	return s
}

func TestMaglevRefused(t *testing.T) {
	t.Parallel()
	ts := targets(1, 1, 1, 1, 1)
	p := newMaglev(ts, 0)
	rng := rand.New(rand.NewPCG(5, 6))
	count := make([]int, len(ts))
	for range 20000 {
		r := &Request{Hash: rng.Uint64() | 1}
		first := p.Pick(r, nil)
		second := p.Pick(r, refuse{first})
		if second == first || second < 0 || p.Pick(r, refuse{first}) != second {
			t.Fatalf("key %#x: first %d, second %d", r.Hash, first, second)
		}
		if first == 2 {
			count[second]++
		}
	}
	// Target 2's keys spread over the four others.
	for i, c := range count {
		if i != 2 && (c < 800 || c > 1200) {
			t.Errorf("refusing 2 sends %v of its keys to each other target", count)
			break
		}
	}
}
