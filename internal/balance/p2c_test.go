package balance

import (
	"math/rand/v2"
	"testing"
)

// draws returns a Rand that returns words in turn, round and round.
func draws(words ...uint64) func() uint64 {
	i := 0
	return func() uint64 {
		w := words[i%len(words)]
		i++
		return w
	}
}

// word returns the random word for which p2c's draws among n are x and y
// (y != x): x from the low half, y from the high half among the others.
func word(n, x, y int) uint64 {
	if y > x {
		y--
	}
	lo := (uint64(x)<<32 + 1<<31) / uint64(n)   // the middle of x's range
	hi := (uint64(y)<<32 + 1<<31) / uint64(n-1) // the middle of y's range
	return hi<<32 | lo
}

func TestP2C(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		weights  []int
		inflight []int64
		x, y     int
		a        Accepter
		want     int
	}{
		{"less loaded second", []int{1, 1, 1}, []int64{5, 0, 2}, 0, 2, nil, 2},
		{"less loaded first", []int{1, 1, 1}, []int64{5, 0, 2}, 2, 0, nil, 2},
		{"not drawn", []int{1, 1, 1}, []int64{5, 0, 2}, 2, 0, nil, 2}, // 1 is idle but not drawn
		{"tie goes to first", []int{1, 1, 1}, []int64{1, 1, 1}, 2, 1, nil, 2},
		{"tie goes to first 2", []int{1, 1, 1}, []int64{1, 1, 1}, 1, 2, nil, 1},
		{"per weight tie", []int{3, 1}, []int64{2, 0}, 1, 0, nil, 1},   // 3/3 = 1/1: the first draw
		{"per weight heavy", []int{4, 1}, []int64{2, 0}, 1, 0, nil, 0}, // 3/4 < 1/1
		{"refused best", []int{1, 1, 1}, []int64{5, 0, 2}, 0, 2, refuse{2}, 0},
		{"refused both", []int{1, 1, 1}, []int64{5, 0, 2}, 0, 2, refuse{0, 2}, 1},
		{"refused all", []int{1, 1, 1}, []int64{5, 0, 2}, 0, 2, refuse{0, 1, 2}, -1},
		{"zero weights", []int{0, 1, 0, 1}, []int64{0, 3, 0, 4}, 1, 0, nil, 1}, // positions 1, 0 are targets 3, 1
	}
	for _, c := range cases {
		live, _ := weights(loaded(c.weights, c.inflight))
		p := newP2C(loaded(c.weights, c.inflight), draws(word(len(live), c.x, c.y)))
		if got := p.Pick(nil, c.a); got != c.want {
			t.Errorf("%s: Pick = %d, want %d", c.name, got, c.want)
		}
	}
}

// TestP2CPair checks that the two draws are distinct and that every
// ordered pair is equally likely.
func TestP2CPair(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{2, 3, 5} {
		count := map[[2]int]int{}
		const draws = 60000
		for range draws {
			x, y := pair(rng.Uint64(), n)
			if x == y || x < 0 || y < 0 || x >= n || y >= n {
				t.Fatalf("pair among %d = %d, %d", n, x, y)
			}
			count[[2]int{x, y}]++
		}
		want := float64(draws) / float64(n*(n-1))
		if len(count) != n*(n-1) {
			t.Errorf("among %d: %d pairs seen, want %d", n, len(count), n*(n-1))
		}
		for xy, c := range count {
			if float64(c) < want*0.9 || float64(c) > want*1.1 {
				t.Errorf("among %d: pair %v drawn %d times, want about %.0f", n, xy, c, want)
			}
		}
	}
	for x := range 4 {
		for y := range 4 {
			if x != y {
				if gx, gy := pair(word(4, x, y), 4); gx != x || gy != y {
					t.Errorf("pair(word(4, %d, %d)) = %d, %d", x, y, gx, gy)
				}
			}
		}
	}
}

func TestP2COne(t *testing.T) {
	t.Parallel()
	p := newP2C(targets(0, 7, 0), func() uint64 { panic("p2c draws for one target") })
	if got := p.Pick(nil, nil); got != 1 {
		t.Errorf("Pick = %d, want 1", got)
	}
	if got := p.Pick(nil, refuse{1}); got != -1 {
		t.Errorf("Pick refusing 1 = %d, want -1", got)
	}
}
