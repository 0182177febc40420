package balance

// first is HAProxy's "balance first": the first target in the order given
// that has a free connection slot takes the connection, so servers fill one
// after another and the last ones can be powered down or scaled in when
// traffic is low. Weight does not order the targets; a weight of 0 still
// excludes one.
//
// A target is full when its MaxConn is set and its Load has that many in
// flight. The caller's Accepter normally refuses full targets too; if it
// accepts one anyway (it enforces no limit), the first target it accepts
// is returned when every target is full, so that first never refuses what
// the Accepter allows.
type first struct {
	e []slot
}

var _ Picker = (*first)(nil)

// slot is what first reads about a target.
type slot struct {
	load *Load
	max  int64 // MaxConn, 0 for none
	idx  int32
}

// newFirst is the Builder of First.
func newFirst(ts []Target) Picker {
	live, _ := weights(ts)
	if len(live) == 0 {
		return none{}
	}
	e := make([]slot, len(live))
	for p, i := range live {
		e[p] = slot{load: ts[i].Load, max: int64(max(ts[i].MaxConn, 0)), idx: i}
	}
	return &first{e: e}
}

// Pick returns the first target, in order, that is not full and that a
// accepts; failing that, the first that a accepts; failing that, -1.
// Requests are ignored.
func (p *first) Pick(_ *Request, a Accepter) int {
	spare := -1
	for j := range p.e {
		s := &p.e[j]
		if s.max > 0 && s.load.Active() >= s.max {
			if spare < 0 && accepts(a, s.idx) {
				spare = int(s.idx)
			}
			continue
		}
		if accepts(a, s.idx) {
			return int(s.idx)
		}
	}
	return spare
}
