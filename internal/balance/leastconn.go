package balance

// leastConn is weighted least connections: the target with the fewest in
// flight per unit of weight, Active/Weight, compared by cross multiplication
// (a1 × w2 < a2 × w1) so there is no division, as in nginx's least_conn
// (ngx_http_upstream_least_conn_module.c) and HAProxy's leastconn.
//
// Ties are common (at low load every server has 0 in flight). nginx breaks
// them with weighted round robin among the tied servers; here the scan starts
// at the next position of the smooth weighted round robin cycle and the first
// tied target from there wins, which is the same when all are tied: servers
// of equal weight share evenly and traffic that never overlaps is spread by
// weight instead of going to whichever server is listed first.
//
// A pick reads every target's counter: O(n), with the counters and weights
// in one contiguous array and no interface call in the loop.
type leastConn struct {
	e   []entry
	seq []int32 // smooth cycle of positions in e: where each scan starts
	rr  cursor
}

var _ Picker = (*leastConn)(nil)

// entry is what the load-aware pickers (leastconn, p2c) read about a target.
type entry struct {
	load *Load
	w    int64
	idx  int32 // index into the Builder's slice
}

// entries returns an entry for each target of weight above 0, and the
// weights.
func entries(ts []Target) ([]entry, []int64) {
	live, w := weights(ts)
	e := make([]entry, len(live))
	for p, i := range live {
		e[p] = entry{load: ts[i].Load, w: w[p], idx: i}
	}
	return e, w
}

// newLeastConn is the Builder of LeastConn.
func newLeastConn(ts []Target) Picker {
	e, w := entries(ts)
	if len(e) == 0 {
		return none{}
	}
	return &leastConn{e: e, seq: smooth(w)}
}

// Pick returns the target with the fewest in flight per unit of weight among
// those a accepts. Requests are ignored.
func (p *leastConn) Pick(_ *Request, a Accepter) int {
	start := int(p.seq[p.rr.next()%uint64(len(p.seq))])
	e := p.e
	b, ba, bw := start, active(e[start].load), e[start].w
	b, ba, bw = lcMin(e, start+1, len(e), b, ba, bw)
	b, _, _ = lcMin(e, 0, start, b, ba, bw)
	if accepts(a, e[b].idx) {
		return int(e[b].idx)
	}
	return p.accepted(start, b, a)
}

// lcMin returns the position, in flight and weight of the least loaded of
// the entries e[from:to] and the candidate b (in flight ba, weight bw), the
// earliest on a tie.
func lcMin(e []entry, from, to, b int, ba, bw int64) (int, int64, int64) {
	for j := from; j < to; j++ {
		if x := active(e[j].load); x*bw < ba*e[j].w {
			b, ba, bw = j, x, e[j].w
		}
	}
	return b, ba, bw
}

// accepted is the slow path, when a refused the best target (at position
// skip): one more scan in the same order, asking a about each target that
// beats the best accepted so far. It returns the least loaded target that a
// accepts, or -1.
func (p *leastConn) accepted(start, skip int, a Accepter) int {
	e := p.e
	n := len(e)
	b, ba, bw := -1, int64(0), int64(0)
	for k, j := 0, start; k < n; k, j = k+1, j+1 {
		if j == n {
			j = 0
		}
		if j == skip {
			continue
		}
		x := active(e[j].load)
		if (b < 0 || x*bw < ba*e[j].w) && a.Accept(int(e[j].idx)) {
			b, ba, bw = j, x, e[j].w
		}
	}
	if b < 0 {
		return -1
	}
	return int(e[b].idx)
}
