package balance

// table is a cyclic list of slots, each naming a target of weight above 0,
// in which a target holds a share of the slots close to its share of the
// total weight. Round robin walks it in order; hash, source and consistent
// index it by key (see keyed). Only the way the slots are filled differs: a
// smooth weighted round robin cycle (roundrobin, hash, source) or a Maglev
// permutation fill (consistent).
type table struct {
	slots []int32 // target indices
	live  []int32 // every target of weight above 0, in the order given
}

// walk returns the target in slot s if a accepts it. Otherwise it goes on to
// the targets in the following slots, as a later request would (so that a
// refused target's share spreads over the others by weight), and returns the
// first that a accepts, with k the number of slots it moved past s. When the
// table has offered as many targets as there are, it tries every target once,
// in order, so that it returns -1 only when a refuses them all. Accept is
// called at most 2 × len(live) times, and the table is walked at most once.
func (t *table) walk(s int, a Accepter) (i, k int) {
	first := t.slots[s]
	if accepts(a, first) {
		return int(first), 0
	}
	n := len(t.slots)
	budget := len(t.live) - 1
	j := s
	for k := 1; k < n && budget > 0; k++ {
		if j++; j == n {
			j = 0
		}
		c := t.slots[j]
		if c == first {
			continue // refused already; comparing is cheaper than asking again
		}
		if a.Accept(int(c)) {
			return int(c), k
		}
		budget--
	}
	return scan(t.live, s, first, a), 0
}

// scan returns the first target of live, starting at position from (modulo
// len(live)) and wrapping around, that is not skip and that a accepts, or -1.
func scan(live []int32, from int, skip int32, a Accepter) int {
	m := len(live)
	j := from % m
	for range m {
		if c := live[j]; c != skip && accepts(a, c) {
			return int(c)
		}
		if j++; j == m {
			j = 0
		}
	}
	return -1
}

// next picks round robin: the slot after the previous pick's. When a refuses
// and the walk moves on k slots, the cursor moves on too, so that the
// neighbour of a refused target does not get its turns on top of its own.
func (t *table) next(c *cursor, a Accepter) int {
	pos := c.next()
	i, k := t.walk(int(pos%uint64(len(t.slots))), a)
	if k > 0 {
		c.n.Add(uint64(k))
	}
	return i
}

// keyed is the Picker core shared by hash, source and consistent: the key,
// remixed so that raw keys (1, 2, 3 ...) spread too, selects a slot; no key
// (0) falls back to round robin over the same table.
type keyed struct {
	table
	rr cursor
}

// pickKey picks for key h, 0 meaning none.
//
// When a refuses the key's target, the next candidates come from slots
// chosen by rehashing the key, not from the neighbouring slots: neighbours
// are correlated (in a Maglev table, the slots of one target form an
// arithmetic progression, and in a smooth cycle, b follows a), which would
// send all of a refused target's keys to one or two others. Rehashed slots
// spread them by weight, and a key's second choice is still always the same.
// After 2 × len(live) probes it tries every target once, in order.
func (p *keyed) pickKey(h uint64, a Accepter) int {
	if h == 0 {
		return p.next(&p.rr, a)
	}
	return p.probe(mix64(h), a)
}

// probe picks for a well mixed key x: pickKey without the remixing, for
// callers whose key is a hash already.
func (p *keyed) probe(x uint64, a Accepter) int {
	first := p.slots[reduce(x, len(p.slots))]
	if accepts(a, first) {
		return int(first)
	}
	budget := len(p.live) - 1
	for probes := 2 * len(p.live); probes > 0 && budget > 0; probes-- {
		x = mix64(x + 0x9e3779b97f4a7c15) // the next of a splitmix64 sequence
		c := p.slots[reduce(x, len(p.slots))]
		if c == first {
			continue
		}
		if a.Accept(int(c)) {
			return int(c)
		}
		budget--
	}
	return scan(p.live, int(x>>33), first, a)
}
