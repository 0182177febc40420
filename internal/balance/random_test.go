package balance

import (
	"math/rand/v2"
	"testing"
)

// TestRandomAlias checks that the alias table gives each target exactly its
// weight's share, to within the 2^-32 resolution of the coin.
func TestRandomAlias(t *testing.T) {
	t.Parallel()
	cases := [][]int{{1}, {1, 1}, {1, 2, 3}, {5, 0, 1, 1}, {256, 1, 1, 7}, {maxWeight, 1}, {3, 3, 3, 3, 3, 3, 3}}
	for _, w := range cases {
		p := newRandom(targets(w...), nil).(*random)
		got := make([]float64, len(w))
		for j := range p.own {
			keep := float64(p.keep[j]) / (1 << 32)
			got[p.own[j]] += keep / float64(len(p.own))
			got[p.alias[j]] += (1 - keep) / float64(len(p.own))
		}
		total := float64(sum(w))
		for i := range w {
			if want := float64(w[i]) / total; got[i]-want > 1e-9 || want-got[i] > 1e-9 {
				t.Errorf("%v: target %d has probability %.12f, want %.12f", w, i, got[i], want)
			}
		}
	}
}

func TestRandom(t *testing.T) {
	t.Parallel()
	ts := targets(1, 2, 0, 3)
	p := newRandom(ts, rand.New(rand.NewPCG(1, 2)).Uint64)
	count := make([]int, len(ts))
	const n = 60000
	for range n {
		count[p.Pick(nil, nil)]++
	}
	for i, want := range []float64{n / 6, n / 3, 0, n / 2} {
		if c := float64(count[i]); c < want*0.97 || c > want*1.03 {
			t.Errorf("target %d: %d picks, want %.0f ± 3%%", i, count[i], want)
		}
	}
	// Refusing one redraws, so the others keep their proportions.
	clear(count)
	for range n {
		count[p.Pick(nil, refuse{3})]++
	}
	if count[3] != 0 || float64(count[1])/float64(count[0]) < 1.8 || float64(count[1])/float64(count[0]) > 2.2 {
		t.Errorf("refusing 3: %v, want 0 for 3 and 1 : 2 for the others", count)
	}
}

// TestRandomDraw checks draws against chosen words: the column comes from
// the high half of the word, the coin from the low half.
func TestRandomDraw(t *testing.T) {
	t.Parallel()
	p := newRandom(targets(1, 3), nil).(*random)
	// Columns 0 and 1 have mass 2×1 = 2 and 2×3 = 6 of 4: column 0 keeps
	// target 0 half the time and gives target 1 otherwise.
	cases := []struct {
		r    uint64
		want int32
	}{
		{0, 0},
		{1<<31 - 1, 0},
		{1 << 31, 1},
		{1 << 63, 1},
		{1<<63 | 1<<32 - 1, 1},
	}
	for _, c := range cases {
		p.rnd = draws(c.r)
		if got := p.draw(); got != c.want {
			t.Errorf("draw with %#x = %d, want %d", c.r, got, c.want)
		}
	}
}
