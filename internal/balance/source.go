package balance

import "net/netip"

// source is HAProxy's "balance source": a hash of the client's address
// selects a slot of the same map-based table as Hash, so one client always
// reaches one server while the set is the same. With SourcePrefix4 or
// SourcePrefix6 set, only the address's leading bits count, so the clients
// of one network (a NAT pool, a mobile carrier's range) share a server, like
// nginx's "ip_hash", which uses the first three octets of an IPv4 address.
//
// A request without a client address is picked round robin.
type source struct {
	keyed
	m4       uint64 // mask on the low word of an IPv4 address
	m6h, m6l uint64 // masks on the two words of an IPv6 address
}

var _ Picker = (*source)(nil)

// newSource is the Builder of Source, p4 and p6 being prefix lengths in
// 0..32 and 0..128, 0 for the whole address.
func newSource(ts []Target, p4, p6 int) Picker {
	t, ok := smoothTable(ts)
	if !ok {
		return none{}
	}
	p := &source{keyed: keyed{table: t}, m4: ^uint64(0), m6h: ^uint64(0), m6l: ^uint64(0)}
	if p4 > 0 && p4 < 32 {
		// The IPv4 address is the low 32 bits of the low word.
		p.m4 = 0xffffffff_00000000 | uint64(^uint32(0)<<(32-p4))
	}
	switch {
	case p6 > 0 && p6 <= 64:
		p.m6h, p.m6l = ^uint64(0)<<(64-p6), 0
	case p6 > 64 && p6 < 128:
		p.m6l = ^uint64(0) << (128 - p6)
	}
	return p
}

// Pick returns the target of the slot of r.Client's (masked) address, or the
// address's next choice that a accepts.
func (p *source) Pick(r *Request, a Accepter) int {
	if r == nil || !r.Client.IsValid() {
		return p.pickKey(0, a)
	}
	return p.probe(p.key(r.Client), a)
}

// key hashes c with its prefix mask applied. It equals HashAddr of the
// prefix's first address, so callers can predict it.
func (p *source) key(c netip.Addr) uint64 {
	c = c.Unmap()
	hi, lo := halves(c)
	if c.Is4() {
		lo &= p.m4
	} else {
		hi &= p.m6h
		lo &= p.m6l
	}
	return hash128(hi, lo)
}
