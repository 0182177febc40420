package balance

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"sync/atomic"
	"time"
)

// New returns the Builder of algorithm a, tuned by opts. It fails if a is not
// one of Algorithms or if an option is out of range. New is a plain switch:
// there is no registry to fill, so nothing happens at init time.
func New(a Algorithm, opts Options) (Builder, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	switch a {
	case RoundRobin:
		return newRoundRobin, nil
	case LeastConn:
		return newLeastConn, nil
	case Random:
		rnd := opts.rand()
		return func(ts []Target) Picker { return newRandom(ts, rnd) }, nil
	case P2C:
		rnd := opts.rand()
		return func(ts []Target) Picker { return newP2C(ts, rnd) }, nil
	case Source:
		p4, p6 := opts.SourcePrefix4, opts.SourcePrefix6
		return func(ts []Target) Picker { return newSource(ts, p4, p6) }, nil
	case Hash:
		return newHash, nil
	case Consistent:
		size := opts.MaglevSize
		return func(ts []Target) Picker { return newMaglev(ts, size) }, nil
	case LeastTime:
		now := opts.now()
		return func(ts []Target) Picker { return newLeastTime(ts, now) }, nil
	case First:
		return newFirst, nil
	}
	return nil, fmt.Errorf("unknown balance algorithm %q", string(a))
}

// Valid reports whether a names one of Algorithms.
func (a Algorithm) Valid() bool {
	switch a {
	case RoundRobin, LeastConn, Random, P2C, Source, Hash, Consistent, LeastTime, First:
		return true
	}
	return false
}

// check reports the first option that is out of range.
func (o *Options) check() error {
	switch {
	case o.SourcePrefix4 < 0 || o.SourcePrefix4 > 32:
		return fmt.Errorf("source prefix %d out of range 0-32 for IPv4", o.SourcePrefix4)
	case o.SourcePrefix6 < 0 || o.SourcePrefix6 > 128:
		return fmt.Errorf("source prefix %d out of range 0-128 for IPv6", o.SourcePrefix6)
	case o.MaglevSize < 0:
		return fmt.Errorf("maglev table size %d is negative", o.MaglevSize)
	}
	return nil
}

// rand returns o.Rand or, if nil, math/rand/v2's concurrency-safe source.
func (o *Options) rand() func() uint64 {
	if o.Rand != nil {
		return o.Rand
	}
	return rand.Uint64
}

// now returns o.Now or, if nil, the wall clock in Unix nanoseconds.
func (o *Options) now() func() int64 {
	if o.Now != nil {
		return o.Now
	}
	return func() int64 { return time.Now().UnixNano() }
}

// none is the Picker of a set with no target of weight above 0.
type none struct{}

var _ Picker = none{}

// Pick returns -1: there is nothing to pick.
func (none) Pick(*Request, Accepter) int { return -1 }

// maxWeight caps a target's weight so that products of a weight and an
// in-flight count (leastconn, p2c) cannot overflow an int64 below 2^39 in
// flight. HAProxy's weights stop at 256, so the cap is never met in practice.
const maxWeight = 1 << 24

// weights returns the indices of the targets whose weight is above 0 and
// those weights, capped at maxWeight, in the order given.
func weights(ts []Target) (live []int32, w []int64) {
	for i := range ts {
		if x := ts[i].Weight; x > 0 {
			live = append(live, int32(i))
			w = append(w, int64(min(x, maxWeight)))
		}
	}
	return live, w
}

// accepts reports whether a accepts target i; a nil a accepts everything.
func accepts(a Accepter, i int32) bool { return a == nil || a.Accept(int(i)) }

// active reads l's in-flight count, never below 0 even if a caller's Dec
// outran its Inc.
func active(l *Load) int64 { return max(l.Active(), 0) }

// cursor is a counter shared by all goroutines picking from one Picker. It is
// padded to a cache line of its own so that its writes do not evict the
// read-only fields around it from other cores' caches.
type cursor struct {
	_ [64]byte
	n atomic.Uint64
	_ [56]byte
}

// next returns the counter's value and advances it.
func (c *cursor) next() uint64 { return c.n.Add(1) - 1 }

// reduce maps a well mixed h onto [0, n) without a division (Lemire's
// multiply-shift range reduction, which uses h's high bits).
func reduce(h uint64, n int) int {
	hi, _ := bits.Mul64(h, uint64(n))
	return int(hi)
}

// FNV-1a 64 parameters (http://www.isthe.com/chongo/tech/comp/fnv/).
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// mix64 is the finalizer of splitmix64 (Stafford's variant 13, as in
// java.util.SplittableRandom): a bijection on uint64 in which every input bit
// affects every output bit. FNV-1a alone mixes its last bytes poorly.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// nonzero returns h, or 1 if h is 0, so that a real key is never mistaken
// for Request.Hash's "no key".
func nonzero(h uint64) uint64 {
	if h == 0 {
		return 1
	}
	return h
}

// HashBytes returns a 64-bit hash of b for Request.Hash: FNV-1a 64 followed
// by the splitmix64 finalizer. It is the same in every process, on every
// platform and in every version of fulcrum, so that several balancers (or a
// restarted one) send a key to the same server. It never returns 0, even for
// an empty b, and it does not allocate.
func HashBytes(b []byte) uint64 {
	h := uint64(fnvOffset)
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return nonzero(mix64(h))
}

// HashString is HashBytes for a string: HashString(s) == HashBytes([]byte(s)),
// without the conversion's allocation.
func HashString(s string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return nonzero(mix64(h))
}

// HashAddr returns a 64-bit hash of the address a for Request.Hash. Like
// HashBytes it is deterministic across processes and never 0 for a valid
// address; the zero Addr hashes to 0, which Request.Hash reads as "no key".
// An IPv4-mapped IPv6 address hashes as its IPv4 address, and the zone is
// ignored. It does not allocate.
func HashAddr(a netip.Addr) uint64 {
	if !a.IsValid() {
		return 0
	}
	hi, lo := halves(a.Unmap())
	return hash128(hi, lo)
}

// halves returns the 16-byte form of a as two big-endian words; an IPv4
// address is in its IPv4-mapped form, so it sits in the low 32 bits of lo.
func halves(a netip.Addr) (hi, lo uint64) {
	b := a.As16()
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
}

// hash128 hashes a 128-bit value; the constant keeps ::/0 away from 0.
func hash128(hi, lo uint64) uint64 {
	return nonzero(mix64(mix64(hi^0x9e3779b97f4a7c15) ^ lo))
}
