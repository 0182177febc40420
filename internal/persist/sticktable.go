package persist

import (
	"fmt"
	"math/bits"
	"net/netip"
	"sync"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/balance"
)

// maxShards is how many shards a StickTable has at most: enough that
// concurrent requests rarely lock the same one, few enough that a small
// table keeps a useful share per shard.
const maxShards = 64

// none is the null slot index.
const none = -1

// StickTable remembers, for a while, which server a key went to: the key is
// a hash of what should stick (a client address prefix, see SourceKey, or a
// header value, see balance.HashBytes), the value a server's key (e.g.
// backend.ID.Key). It is safe for concurrent use.
//
// An entry lasts the table's ttl after its last use (Put, or a Get that
// finds it). The table holds at most maxEntries entries, split evenly over
// its shards; a Put of a new key into a full shard first drops that shard's
// expired entries, then, if the shard is still full, its least recently
// used entry.
//
// Each shard has its own mutex, a map from key to a slot in an array of
// slots, and an intrusive doubly linked list through the slots in order of
// last use. As every use sets the expiry to now + ttl, that order is also
// the order of expiry: expired entries sit at the front, so purging them
// and evicting the oldest are O(1) per entry, and Sweep stops at the first
// live entry. Callers whose clocks disagree slightly (time.Now read on
// different goroutines, or early in a long request) only make that order
// approximate: an expired entry behind a live one waits for a later Sweep
// or eviction, at most as long as the clocks disagree, and Get never
// returns it. Slots are reused through a free list, so a table that has
// reached its size allocates no more; there is no goroutine per entry, nor
// any timer.
type StickTable struct {
	ttl    int64 // nanoseconds
	size   int   // entries in all
	shift  uint  // 64 - log2(len(shards))
	shards []shard
}

// TTL returns how long an entry lasts after its last use.
func (t *StickTable) TTL() time.Duration { return time.Duration(t.ttl) }

// Max returns the most entries the table holds.
func (t *StickTable) Max() int { return t.size }

// shard is one lock's worth of a StickTable.
type shard struct {
	mu    sync.Mutex
	index map[uint64]int32 // key → slot
	slots []slot           // grows up to max, then reused
	free  int32            // first free slot (linked by next), or none
	head  int32            // least recently used slot, or none
	tail  int32            // most recently used slot, or none
	max   int              // entries this shard may hold
	_     [64]byte         // keeps neighbouring shards' locks off one cache line
}

// slot is one entry, or a free slot.
type slot struct {
	key, server uint64
	expires     int64 // unix nanoseconds
	prev, next  int32
}

// NewStickTable returns an empty table whose entries last ttl after their
// last use, holding at most maxEntries entries. It panics if ttl or
// maxEntries is not positive.
func NewStickTable(ttl time.Duration, maxEntries int) *StickTable {
	if ttl <= 0 || maxEntries <= 0 {
		panic(fmt.Sprintf("persist: NewStickTable(%v, %d): both must be positive", ttl, maxEntries))
	}
	n := maxShards
	if maxEntries < n {
		n = 1 << (bits.Len(uint(maxEntries)) - 1) // a power of two ≤ maxEntries
	}
	t := &StickTable{ttl: int64(ttl), size: maxEntries, shift: uint(64 - bits.TrailingZeros(uint(n))), shards: make([]shard, n)}
	for i := range t.shards {
		s := &t.shards[i]
		s.index = make(map[uint64]int32)
		s.free, s.head, s.tail = none, none, none
		s.max = maxEntries / n
		if i < maxEntries%n {
			s.max++ // the shares add up to maxEntries exactly
		}
	}
	return t
}

// shard returns the shard of key. The multiply spreads keys that are not
// already hashes (small integers) over the shards too.
func (t *StickTable) shard(key uint64) *shard {
	return &t.shards[(key*0x9e3779b97f4a7c15)>>t.shift]
}

// Get returns the server key stored for key, if there is a live entry. A
// hit counts as a use: it extends the entry's life to now + ttl (as
// HAProxy's stick match does), so a client that keeps coming back keeps
// its server. An expired entry is removed and not returned. Get does not
// allocate.
func (t *StickTable) Get(key uint64, now time.Time) (serverKey uint64, ok bool) {
	ns := now.UnixNano()
	s := t.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index[key]
	if !ok {
		return 0, false
	}
	e := &s.slots[i]
	if ns >= e.expires {
		s.remove(i)
		return 0, false
	}
	serverKey = e.server
	s.touch(i, ns+t.ttl)
	return serverKey, true
}

// Put stores serverKey for key, replacing any entry, and extends the
// entry's life to now + ttl. Storing a new key into a full shard evicts as
// the StickTable comment says. Put allocates only while the table grows
// towards its size.
func (t *StickTable) Put(key, serverKey uint64, now time.Time) {
	ns := now.UnixNano()
	exp := ns + t.ttl
	s := t.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.index[key]; ok {
		s.slots[i].server = serverKey
		s.touch(i, exp)
		return
	}
	if len(s.index) >= s.max {
		s.purge(ns)
		if len(s.index) >= s.max {
			s.remove(s.head)
		}
	}
	i := s.alloc()
	s.slots[i] = slot{key: key, server: serverKey, expires: exp, prev: s.tail, next: none}
	s.link(i)
	s.index[key] = i
}

// Delete removes key's entry, if any.
func (t *StickTable) Delete(key uint64) {
	s := t.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.index[key]; ok {
		s.remove(i)
	}
}

// Len returns the number of entries held, counting expired ones that no
// Get, Put or Sweep has removed yet.
func (t *StickTable) Len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n += len(s.index)
		s.mu.Unlock()
	}
	return n
}

// Sweep removes the entries expired at now and returns how many it
// removed. The table works without it (expired entries are never returned,
// and they make room when a shard is full), but sweeping every so often
// frees the memory of clients gone for good sooner. The table's owner
// calls it, e.g. every ttl/4 from a goroutine it owns; it locks one shard
// at a time.
func (t *StickTable) Sweep(now time.Time) int {
	ns := now.UnixNano()
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n += s.purge(ns)
		s.mu.Unlock()
	}
	return n
}

// purge removes the expired entries from the front of s's list, stopping
// at the first live one, and returns how many it removed.
func (s *shard) purge(now int64) int {
	n := 0
	for s.head != none && now >= s.slots[s.head].expires {
		s.remove(s.head)
		n++
	}
	return n
}

// touch makes slot i the most recently used and extends its expiry to exp
// (never shortening it, should clocks disagree).
func (s *shard) touch(i int32, exp int64) {
	e := &s.slots[i]
	e.expires = max(e.expires, exp)
	if s.tail == i {
		return
	}
	s.unlink(i)
	e.prev, e.next = s.tail, none
	s.link(i)
}

// link appends slot i, whose prev is already the tail, to the list.
func (s *shard) link(i int32) {
	if s.tail == none {
		s.head = i
	} else {
		s.slots[s.tail].next = i
	}
	s.tail = i
}

// unlink takes slot i out of the list.
func (s *shard) unlink(i int32) {
	e := &s.slots[i]
	if e.prev == none {
		s.head = e.next
	} else {
		s.slots[e.prev].next = e.next
	}
	if e.next == none {
		s.tail = e.prev
	} else {
		s.slots[e.next].prev = e.prev
	}
}

// remove deletes the entry in slot i and frees the slot.
func (s *shard) remove(i int32) {
	s.unlink(i)
	delete(s.index, s.slots[i].key)
	s.slots[i] = slot{next: s.free}
	s.free = i
}

// alloc returns a free slot, growing the array if none is free.
func (s *shard) alloc() int32 {
	if i := s.free; i != none {
		s.free = s.slots[i].next
		return i
	}
	s.slots = append(s.slots, slot{})
	return int32(len(s.slots) - 1)
}

// SourceKey returns the stick table key of client address a: the hash of
// its first bits4 bits if it is IPv4 (an IPv4-mapped IPv6 address counts as
// IPv4), or of its first bits6 bits if it is IPv6, so the clients of one
// network share an entry. Prefix lengths outside 0..32 and 0..128 are taken
// as the whole address; 0 puts every client of that family in one entry.
// The key equals balance.HashAddr of the prefix's first address (and so the
// key the source algorithm hashes); it is 0 for the zero Addr. SourceKey
// does not allocate.
func SourceKey(a netip.Addr, bits4, bits6 int) uint64 {
	if !a.IsValid() {
		return 0
	}
	a = a.Unmap().WithZone("")
	b := bits6
	if a.Is4() {
		b = bits4
	}
	if b < 0 || b > a.BitLen() {
		b = a.BitLen()
	}
	p, _ := a.Prefix(b) // cannot fail: a is valid, zoneless and b in range
	return balance.HashAddr(p.Addr())
}
