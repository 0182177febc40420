package balance

// hashPicker is HAProxy's map-based hashing ("hash-type map-based", see
// lb_map.c): the slots of a table hold each server about as many times as
// its weight, spread out in smooth round robin order, and a key's hash
// selects a slot. A key always goes to the same server while the set is the
// same, but unlike Consistent, adding or removing a server moves most keys.
// Its gain is that the table is small and exactly weighted.
//
// The key is Request.Hash, which the caller computes from whatever should
// stick (see HashString). Without a key (Hash == 0) it picks round robin over
// the same table. When a refuses the key's server, rehashing the key gives
// the next candidates (see keyed.pickKey), so a key's second choice is
// stable too.
type hashPicker struct{ keyed }

var _ Picker = (*hashPicker)(nil)

// newHash is the Builder of Hash.
func newHash(ts []Target) Picker {
	t, ok := smoothTable(ts)
	if !ok {
		return none{}
	}
	return &hashPicker{keyed{table: t}}
}

// Pick returns the target of r.Hash's slot, or the key's next choice that a
// accepts.
func (p *hashPicker) Pick(r *Request, a Accepter) int {
	var h uint64
	if r != nil {
		h = r.Hash
	}
	return p.pickKey(h, a)
}
