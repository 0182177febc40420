package balance

import "math/bits"

// random is weighted random choice in constant time with Walker's alias
// method (A. J. Walker, "An efficient method for generating discrete random
// variables with general distributions", ACM TOMS 3(3), 1977), built with
// Vose's stable variant (M. D. Vose, IEEE TSE 17(9), 1991). The table has one
// column per target; a column keeps its own target with some probability and
// otherwise gives its alias, so one random word (a column from its high half,
// a coin from its low half) makes a draw. Thresholds are integers, so a
// target's probability is its weight share to within 2^-32.
//
// When a refuses a draw, Pick draws again, at most redraws times, then falls
// back to two passes over the targets: one adds up the weight of those a
// accepts, the other finds the target where a random point in that total
// falls. Either way the result is drawn in proportion to weight among the
// targets a accepts (rejection sampling with an exact fallback).
type random struct {
	own   []int32  // the target that column j keeps
	alias []int32  // the target that column j gives otherwise
	keep  []uint64 // column j keeps own[j] if the coin is below keep[j] (of 2^32)
	live  []int32
	w     []int64 // live's weights, for the fallback
	rnd   func() uint64
}

var _ Picker = (*random)(nil)

// redraws is how many fresh draws follow a refused one before the scan.
const redraws = 2

// newRandom is the Builder of Random.
func newRandom(ts []Target, rnd func() uint64) Picker {
	live, w := weights(ts)
	if len(live) == 0 {
		return none{}
	}
	n := len(live)
	p := &random{own: live, alias: make([]int32, n), keep: make([]uint64, n), live: live, w: w, rnd: rnd}
	// Column j holds mass q[j] out of total, where an even share is total:
	// q = w × n. Small columns (below total) are topped up by large ones.
	var total int64
	q := make([]int64, n)
	for j := range w {
		total += w[j]
		q[j] = w[j] * int64(n) // < 2^24 × 2^31: no overflow
	}
	var small, large []int
	for j := range q {
		if q[j] < total {
			small = append(small, j)
		} else {
			large = append(large, j)
		}
	}
	for len(small) > 0 && len(large) > 0 {
		s, l := small[len(small)-1], large[len(large)-1]
		small = small[:len(small)-1]
		// keep = q[s] / total of 2^32, exactly rounded down; q[s] < total.
		p.keep[s], _ = bits.Div64(uint64(q[s])>>32, uint64(q[s])<<32, uint64(total))
		p.alias[s] = live[l]
		if q[l] -= total - q[s]; q[l] < total {
			large = large[:len(large)-1]
			small = append(small, l)
		}
	}
	// What is left is full, up to rounding: it always keeps its target.
	for _, j := range append(small, large...) {
		p.keep[j] = 1 << 32
		p.alias[j] = live[j]
	}
	return p
}

// draw returns one weighted random target.
func (p *random) draw() int32 {
	r := p.rnd()
	j := int((r >> 32) * uint64(len(p.own)) >> 32)
	if r&(1<<32-1) < p.keep[j] {
		return p.own[j]
	}
	return p.alias[j]
}

// Pick returns a target drawn at random in proportion to weight, among
// those a accepts. Requests are ignored.
func (p *random) Pick(_ *Request, a Accepter) int {
	i := p.draw()
	if accepts(a, i) {
		return int(i)
	}
	for range redraws {
		if j := p.draw(); j != i && a.Accept(int(j)) {
			return int(j)
		}
	}
	return p.fallback(a)
}

// fallback draws in proportion to weight among the targets that a accepts,
// or returns -1 if it accepts none. Should a change its mind between the
// passes, the last target it accepted in the second one is returned.
func (p *random) fallback(a Accepter) int {
	var total int64
	for j, i := range p.live {
		if a.Accept(int(i)) {
			total += p.w[j]
		}
	}
	if total == 0 {
		return -1
	}
	u := int64(reduce(p.rnd(), int(total)))
	last := -1
	for j, i := range p.live {
		if !a.Accept(int(i)) {
			continue
		}
		if u < p.w[j] {
			return int(i)
		}
		u -= p.w[j]
		last = int(i)
	}
	return last
}
