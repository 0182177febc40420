package balance

import (
	"slices"
	"testing"
)

// loaded returns targets of the given weights with the given numbers in
// flight.
func loaded(weights []int, inflight []int64) []Target {
	ts := targets(weights...)
	for i, n := range inflight {
		ts[i].Load.active.Store(n)
	}
	return ts
}

func TestLeastConn(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		weights  []int
		inflight []int64
		a        Accepter
		want     int
	}{
		{"fewest", []int{1, 1, 1}, []int64{3, 1, 2}, nil, 1},
		{"per weight", []int{2, 1}, []int64{3, 2}, nil, 0},    // 1.5 < 2
		{"per weight 2", []int{2, 1}, []int64{5, 2}, nil, 1},  // 2.5 > 2
		{"weight 0 idle", []int{0, 1}, []int64{0, 9}, nil, 1}, // never weight 0
		{"refused best", []int{1, 1, 1}, []int64{0, 5, 2}, refuse{0}, 2},
		{"refused two", []int{1, 1, 1}, []int64{0, 5, 2}, refuse{0, 2}, 1},
		{"refused all", []int{1, 1, 1}, []int64{0, 5, 2}, refuse{0, 1, 2}, -1},
		{"negative count", []int{1, 1}, []int64{-4, 1}, nil, 0}, // counts as 0
		{"heavy and huge", []int{maxWeight * 4, 1}, []int64{1 << 30, 0}, nil, 1},
	}
	for _, c := range cases {
		p := newLeastConn(loaded(c.weights, c.inflight))
		if got := p.Pick(nil, c.a); got != c.want {
			t.Errorf("%s: Pick = %d, want %d", c.name, got, c.want)
		}
	}
}

// TestLeastConnTies checks that tied targets take turns, by weight.
func TestLeastConnTies(t *testing.T) {
	t.Parallel()
	cases := []struct {
		weights  []int
		inflight []int64
		want     []int
	}{
		{[]int{1, 1, 1}, nil, []int{0, 1, 2, 0, 1, 2}},
		{[]int{2, 1}, nil, []int{0, 1, 0, 0, 1, 0}}, // smooth order a b a
		{[]int{1, 1, 1, 1}, []int64{0, 1, 0, 1}, []int{0, 2, 2, 0}},
		{[]int{5, 1, 1}, nil, []int{0, 0, 1, 0, 2, 0, 0}},
	}
	for _, c := range cases {
		p := newLeastConn(loaded(c.weights, c.inflight))
		if got := picks(p, len(c.want), nil, nil); !slices.Equal(got, c.want) {
			t.Errorf("%v in flight %v: picks %v, want %v", c.weights, c.inflight, got, c.want)
		}
	}
}

// TestLeastConnFills checks that, as picks add load, the counts follow the
// weights exactly.
func TestLeastConnFills(t *testing.T) {
	t.Parallel()
	ts := targets(1, 2, 3)
	p := newLeastConn(ts)
	for range 60 {
		ts[p.Pick(nil, nil)].Load.Inc()
	}
	for i, want := range []int64{10, 20, 30} {
		if got := ts[i].Load.Active(); got != want {
			t.Errorf("target %d: %d in flight, want %d", i, got, want)
		}
	}
}
