package balance

// roundRobin is smooth weighted round robin, the algorithm of nginx's
// upstream module (ngx_http_upstream_round_robin.c, "smooth weighted
// round-robin balancing", Maxim Dounin, 2012): at every step each server's
// current weight grows by its weight, the server with the largest current
// weight is chosen (the first one on a tie) and its current weight falls by
// the total. Weights {5, 1, 1} give a a b a c a a rather than a a a a a b c,
// so a heavy server's turns are spread out.
//
// nginx runs the steps under a lock on every request. Here the whole cycle
// is computed when the Picker is built (see smooth), and a pick is one atomic
// increment and an index into it, like Pingora's RoundRobin.
type roundRobin struct {
	table
	rr cursor
}

var _ Picker = (*roundRobin)(nil)

// newRoundRobin is the Builder of RoundRobin.
func newRoundRobin(ts []Target) Picker {
	t, ok := smoothTable(ts)
	if !ok {
		return none{}
	}
	return &roundRobin{table: t}
}

// Pick returns the next target of the cycle that a accepts. Requests are
// ignored.
func (p *roundRobin) Pick(_ *Request, a Accepter) int { return p.next(&p.rr, a) }

// maxSlots bounds the length of a smooth cycle. When the weights, divided by
// their greatest common divisor, add up to more, they are scaled down to fit
// (never below 1), which changes each share by less than 1/maxSlots of the
// total; 100 servers of HAProxy's largest weight, 256, still fit unscaled.
const maxSlots = 1 << 16

// smoothTable returns the smooth cycle over the targets of weight above 0,
// or false if there is none.
func smoothTable(ts []Target) (table, bool) {
	live, w := weights(ts)
	if len(live) == 0 {
		return table{}, false
	}
	seq := smooth(w)
	for j, pos := range seq {
		seq[j] = live[pos]
	}
	return table{slots: seq, live: live}, true
}

// smooth returns one cycle of nginx's smooth weighted round robin over
// weights w (all above 0), as positions into w. Each position p appears
// w[p]/g times, g being the weights' greatest common divisor, unless the
// cycle would be longer than maxSlots (see scaleWeights). It takes
// O(len(w) × cycle length).
func smooth(w []int64) []int32 {
	w, sum := scaleWeights(w)
	seq := make([]int32, sum)
	if sum == int64(len(w)) { // all equal: plain round robin
		for j := range seq {
			seq[j] = int32(j)
		}
		return seq
	}
	cur := make([]int64, len(w))
	for j := range seq {
		best := 0
		for p := range w {
			cur[p] += w[p]
			if cur[p] > cur[best] {
				best = p
			}
		}
		cur[best] -= sum
		seq[j] = int32(best)
	}
	return seq
}

// scaleWeights returns a copy of w divided by its greatest common divisor,
// scaled down (keeping every weight at least 1) if the sum exceeds
// maxSlots, and its sum.
func scaleWeights(w []int64) ([]int64, int64) {
	out := make([]int64, len(w))
	copy(out, w)
	sum := divideByGCD(out)
	if sum <= maxSlots {
		return out, sum
	}
	for p, x := range out {
		out[p] = max(1, x*maxSlots/sum) // x < 2^24: no overflow
	}
	return out, divideByGCD(out)
}

// divideByGCD divides every weight in w by their greatest common divisor and
// returns their new sum.
func divideByGCD(w []int64) int64 {
	var g int64
	for _, x := range w {
		g = gcd(g, x)
	}
	var sum int64
	for p := range w {
		w[p] /= g
		sum += w[p]
	}
	return sum
}

// gcd returns the greatest common divisor of a and b (Euclid); gcd(0, b) = b.
func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
