package balance

import (
	"slices"
	"testing"
)

// targets returns targets of the given weights with fresh loads and
// distinct keys.
func targets(weights ...int) []Target {
	ts := make([]Target, len(weights))
	for i, w := range weights {
		ts[i] = Target{Weight: w, Key: HashString(string(rune('a' + i))), Load: new(Load)}
	}
	return ts
}

// picks returns n successive picks of p for request r and accepter a.
func picks(p Picker, n int, r *Request, a Accepter) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = p.Pick(r, a)
	}
	return out
}

// refuse is an Accepter that refuses the listed targets.
type refuse []int

func (r refuse) Accept(i int) bool { return !slices.Contains(r, i) }

func TestSmooth(t *testing.T) {
	t.Parallel()
	cases := []struct {
		w    []int64
		want []int32
	}{
		{[]int64{1}, []int32{0}},
		{[]int64{7}, []int32{0}},
		{[]int64{5, 1, 1}, []int32{0, 0, 1, 0, 2, 0, 0}}, // nginx's example: a a b a c a a
		{[]int64{1, 1, 1}, []int32{0, 1, 2}},
		{[]int64{4, 4}, []int32{0, 1}},
		{[]int64{10, 20}, []int32{1, 0, 1}},
		{[]int64{3, 1}, []int32{0, 0, 1, 0}},
		{[]int64{1, 2, 3}, []int32{2, 1, 0, 2, 1, 2}},
	}
	for _, c := range cases {
		if got := smooth(c.w); !slices.Equal(got, c.want) {
			t.Errorf("smooth(%v) = %v, want %v", c.w, got, c.want)
		}
	}
}

func TestSmoothScaled(t *testing.T) {
	t.Parallel()
	w := []int64{maxWeight, 1, 3 << 20, 1 << 20}
	seq := smooth(w)
	if len(seq) > maxSlots {
		t.Fatalf("len(smooth) = %d, want <= %d", len(seq), maxSlots)
	}
	count := make([]int, len(w))
	for _, p := range seq {
		count[p]++
	}
	// 2^24 : 1 : 3×2^20 : 2^20 = 16 : tiny : 3 : 1 of 20 parts.
	want := []float64{16.0 / 20, 0, 3.0 / 20, 1.0 / 20}
	for p := range w {
		if count[p] == 0 {
			t.Errorf("position %d has no slot", p)
		}
		if share := float64(count[p]) / float64(len(seq)); share-want[p] > 0.001 || want[p]-share > 0.001 {
			t.Errorf("position %d has share %.4f, want %.4f", p, share, want[p])
		}
	}
}

func TestRoundRobin(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		weights []int
		a       Accepter
		want    []int
	}{
		{"nginx", []int{5, 1, 1}, nil, []int{0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0, 0}},
		{"equal", []int{1, 1, 1}, nil, []int{0, 1, 2, 0, 1, 2}},
		{"zero weights", []int{0, 5, 0, 1, 1, -3}, nil, []int{1, 1, 3, 1, 4, 1, 1}},
		{"gcd", []int{100, 200}, nil, []int{1, 0, 1, 1, 0, 1}},
		// A refused target's turns go to the next in the cycle, and the
		// cursor skips with it, so the others still alternate.
		{"refuse one", []int{1, 1, 1}, refuse{0}, []int{1, 2, 1, 2, 1, 2}},
		{"refuse heavy", []int{5, 1, 1}, refuse{0}, []int{1, 2, 1, 2, 1, 2}},
		{"refuse two", []int{5, 1, 1}, refuse{0, 1}, []int{2, 2, 2, 2}},
		{"refuse all", []int{5, 1, 1}, refuse{0, 1, 2}, []int{-1, -1}},
	}
	for _, c := range cases {
		p := newRoundRobin(targets(c.weights...))
		if got := picks(p, len(c.want), nil, c.a); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v picks %v, want %v", c.name, c.weights, got, c.want)
		}
	}
}

// countAccepts counts the calls to Accept and refuses everything.
type countAccepts struct{ n int }

func (c *countAccepts) Accept(int) bool { c.n++; return false }

// TestWalkBounded checks that refusing everything costs at most two calls
// per target, however long the table.
func TestWalkBounded(t *testing.T) {
	t.Parallel()
	for _, weights := range [][]int{{1000, 1}, {1, 1, 1, 1}, {256, 3, 7, 1, 0, 9}} {
		var c countAccepts
		p := newRoundRobin(targets(weights...))
		if got := p.Pick(nil, &c); got != -1 {
			t.Errorf("%v: Pick refusing all = %d", weights, got)
		}
		if c.n > 2*len(weights) {
			t.Errorf("%v: Accept called %d times, want <= %d", weights, c.n, 2*len(weights))
		}
	}
}
