package balance

// p2c is the power of two random choices (M. Mitzenmacher, "The Power of Two
// Choices in Randomized Load Balancing", IEEE TPDS 12(10), 2001): draw two
// distinct targets uniformly at random and take the less loaded, load being
// (Active+1)/Weight, the in-flight count per unit of weight once this request
// is added (HAProxy's leastconn key). It comes within a small factor of
// least connections while reading two counters instead of n, and, unlike a
// full scan, does not send a burst of picks to the same idle server. Traefik
// and Envoy's least_request use it; randomness comes from Options.Rand.
//
// On a tie the first draw wins. With one target, that target is returned.
type p2c struct {
	e   []entry
	rnd func() uint64
}

var _ Picker = (*p2c)(nil)

// newP2C is the Builder of P2C.
func newP2C(ts []Target, rnd func() uint64) Picker {
	e, _ := entries(ts)
	if len(e) == 0 {
		return none{}
	}
	return &p2c{e: e, rnd: rnd}
}

// Pick returns the less loaded of two random targets, or the other one if a
// refuses it. If a refuses both, it returns the first target after the
// better one, in order, that a accepts, or -1.
func (p *p2c) Pick(_ *Request, a Accepter) int {
	e := p.e
	n := len(e)
	if n == 1 {
		if accepts(a, e[0].idx) {
			return int(e[0].idx)
		}
		return -1
	}
	x, y := pair(p.rnd(), n)
	ex, ey := &e[x], &e[y]
	if (active(ey.load)+1)*ex.w < (active(ex.load)+1)*ey.w {
		x, y = y, x
	}
	if accepts(a, e[x].idx) {
		return int(e[x].idx)
	}
	if a.Accept(int(e[y].idx)) {
		return int(e[y].idx)
	}
	for k, j := 1, x+1; k < n; k, j = k+1, j+1 {
		if j == n {
			j = 0
		}
		if j != y && a.Accept(int(e[j].idx)) {
			return int(e[j].idx)
		}
	}
	return -1
}

// pair turns one random word into two distinct uniform draws among n >= 2:
// x from its low half, y from its high half among the n-1 others
// (multiply-shift, no division).
func pair(r uint64, n int) (x, y int) {
	x = int(uint64(uint32(r)) * uint64(n) >> 32)
	y = int((r >> 32) * uint64(n-1) >> 32)
	if y >= x {
		y++
	}
	return x, y
}
