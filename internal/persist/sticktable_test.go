package persist

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/balance"
)

// t0 is the tests' clock origin; at(s) is s seconds after it.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

// verify checks a table's internal consistency: each shard's list and free
// list cover its slots exactly, the index agrees with the list, and no
// shard holds more than its share.
func verify(t *testing.T, tb *StickTable) {
	t.Helper()
	total := 0
	for si := range tb.shards {
		s := &tb.shards[si]
		s.mu.Lock()
		err := s.verify()
		total += s.max
		s.mu.Unlock()
		if err != nil {
			t.Fatalf("shard %d: %v", si, err)
		}
	}
	if total != tb.max() {
		t.Fatalf("shard shares add up to %d, want %d", total, tb.max())
	}
}

// max returns the sum of the shards' shares.
func (t *StickTable) max() int {
	n := 0
	for i := range t.shards {
		n += t.shards[i].max
	}
	return n
}

func (s *shard) verify() error {
	n, prev := 0, int32(none)
	for i := s.head; i != none; i = s.slots[i].next {
		e := s.slots[i]
		if e.prev != prev {
			return fmt.Errorf("slot %d: prev %d, want %d", i, e.prev, prev)
		}
		if j, ok := s.index[e.key]; !ok || j != i {
			return fmt.Errorf("slot %d: key %d indexed at %d, %v", i, e.key, j, ok)
		}
		if n++; n > len(s.slots) {
			return fmt.Errorf("cycle in the list")
		}
		prev = i
	}
	if prev != s.tail {
		return fmt.Errorf("tail %d, want %d", s.tail, prev)
	}
	if n != len(s.index) || n > s.max {
		return fmt.Errorf("%d entries listed, %d indexed, max %d", n, len(s.index), s.max)
	}
	free := 0
	for i := s.free; i != none; i = s.slots[i].next {
		if free++; free > len(s.slots) {
			return fmt.Errorf("cycle in the free list")
		}
	}
	if n+free != len(s.slots) {
		return fmt.Errorf("%d entries + %d free != %d slots", n, free, len(s.slots))
	}
	return nil
}

// order returns the keys of the shard of key, least recently used first.
func order(tb *StickTable, key uint64) []uint64 {
	s := tb.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []uint64
	for i := s.head; i != none; i = s.slots[i].next {
		keys = append(keys, s.slots[i].key)
	}
	return keys
}

// sameShard returns n keys that fall into the shard of key 1.
func sameShard(tb *StickTable, n int) []uint64 {
	keys := []uint64{1}
	for k := uint64(2); len(keys) < n; k++ {
		if tb.shard(k) == tb.shard(1) {
			keys = append(keys, k)
		}
	}
	return keys
}

func wantGet(t *testing.T, tb *StickTable, key uint64, now time.Time, want uint64, wantOK bool) {
	t.Helper()
	if got, ok := tb.Get(key, now); got != want || ok != wantOK {
		t.Errorf("Get(%d, %v) = %d, %v; want %d, %v", key, now.Sub(t0), got, ok, want, wantOK)
	}
}

func TestStickTableExpiry(t *testing.T) {
	t.Parallel()
	tb := NewStickTable(10*time.Second, 100)
	wantGet(t, tb, 7, at(0), 0, false)
	tb.Put(7, 70, at(0))
	tb.Put(8, 80, at(0))
	wantGet(t, tb, 7, at(9.999), 70, true) // refreshes 7 until 19.999
	wantGet(t, tb, 8, at(10), 0, false)    // 8 was last used at 0: gone at exactly 10
	if n := tb.Len(); n != 1 {
		t.Errorf("Len() = %d after the expired Get, want 1 (it removes the entry)", n)
	}
	wantGet(t, tb, 7, at(19.9), 70, true) // refreshed by the Get: until 29.9
	wantGet(t, tb, 7, at(29.9), 0, false)
	verify(t, tb)
}

func TestStickTablePutRefreshesAndReplaces(t *testing.T) {
	t.Parallel()
	tb := NewStickTable(10*time.Second, 100)
	tb.Put(1, 10, at(0))
	tb.Put(1, 10, at(8)) // refresh: until 18
	wantGet(t, tb, 1, at(17), 10, true)
	tb.Put(1, 11, at(20)) // another server
	wantGet(t, tb, 1, at(21), 11, true)
	if n := tb.Len(); n != 1 {
		t.Errorf("Len() = %d, want 1", n)
	}
	// A clock read earlier on another goroutine never shortens a life.
	tb.Put(2, 20, at(50))
	wantGet(t, tb, 2, at(45), 20, true)
	wantGet(t, tb, 2, at(59), 20, true)
	tb.Delete(2)
	tb.Delete(2) // absent: nothing happens
	tb.Delete(3)
	wantGet(t, tb, 2, at(59), 0, false)
	// Server key 0 is a key like any other.
	tb.Put(4, 0, at(60))
	wantGet(t, tb, 4, at(61), 0, true)
	verify(t, tb)
}

func TestStickTableEviction(t *testing.T) {
	t.Parallel()
	tb := NewStickTable(10*time.Second, 3*maxShards) // 64 shards of 3
	k := sameShard(tb, 6)
	tb.Put(k[0], 100, at(0))
	tb.Put(k[1], 101, at(1))
	tb.Put(k[2], 102, at(2))
	wantGet(t, tb, k[0], at(3), 100, true) // k[0] used last now
	if got, want := order(tb, k[0]), []uint64{k[1], k[2], k[0]}; !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
	// Full, nothing expired: the least recently used goes.
	tb.Put(k[3], 103, at(4))
	if got, want := order(tb, k[0]), []uint64{k[2], k[0], k[3]}; !slices.Equal(got, want) {
		t.Errorf("after evicting: order = %v, want %v", got, want)
	}
	// Full, with expired entries: they go, and only they.
	tb.Put(k[4], 104, at(13.5)) // k[2] expired at 12, k[0] at 13
	if got, want := order(tb, k[0]), []uint64{k[3], k[4]}; !slices.Equal(got, want) {
		t.Errorf("after purging: order = %v, want %v", got, want)
	}
	tb.Put(k[5], 105, at(13.5))
	for i, want := range []bool{false, false, false, true, true, true} {
		if _, ok := tb.Get(k[i], at(13.6)); ok != want {
			t.Errorf("Get(k[%d]) found %v, want %v", i, ok, want)
		}
	}
	verify(t, tb)
	// Other shards were not touched.
	if n := tb.Len(); n != 3 {
		t.Errorf("Len() = %d, want 3", n)
	}
}

func TestStickTableBounded(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ max, shards int }{
		{1, 1}, {2, 2}, {5, 4}, {63, 32}, {64, 64}, {100, 64}, {1000, 64},
	} {
		tb := NewStickTable(time.Minute, tt.max)
		if len(tb.shards) != tt.shards {
			t.Errorf("max %d: %d shards, want %d", tt.max, len(tb.shards), tt.shards)
		}
		for k := uint64(1); k <= uint64(50*tt.max+1000); k++ {
			tb.Put(k*0x9e3779b97f4a7c15, k, at(float64(k)/1e6))
		}
		if n := tb.Len(); n != tt.max {
			t.Errorf("max %d: Len() = %d after filling", tt.max, n)
		}
		verify(t, tb)
	}
	// With one entry, each new key replaces the last.
	tb := NewStickTable(time.Minute, 1)
	tb.Put(1, 10, at(0))
	tb.Put(2, 20, at(1))
	wantGet(t, tb, 1, at(2), 0, false)
	wantGet(t, tb, 2, at(2), 20, true)
}

func TestStickTableSweep(t *testing.T) {
	t.Parallel()
	tb := NewStickTable(10*time.Second, 10000)
	for k := uint64(0); k < 1000; k++ {
		tb.Put(k, k, at(float64(k/100))) // 100 keys last used at each of 0..9
	}
	if n := tb.Sweep(at(9.5)); n != 0 {
		t.Errorf("Sweep(9.5) removed %d, want 0", n)
	}
	if n := tb.Sweep(at(13)); n != 400 { // used at 0, 1, 2 and 3
		t.Errorf("Sweep(13) removed %d, want 400", n)
	}
	if n := tb.Len(); n != 600 {
		t.Errorf("Len() = %d, want 600", n)
	}
	wantGet(t, tb, 450, at(13.5), 450, true) // used at 4: alive until 14
	wantGet(t, tb, 399, at(13.5), 0, false)
	verify(t, tb)
	if n := tb.Sweep(at(100)); n != 600 {
		t.Errorf("Sweep(100) removed %d, want 600", n)
	}
	verify(t, tb)
	// Freed slots are reused: filling again does not grow the arrays.
	slotsBefore := 0
	for i := range tb.shards {
		slotsBefore += len(tb.shards[i].slots)
	}
	for k := uint64(0); k < 1000; k++ {
		tb.Put(k, k, at(200))
	}
	slotsAfter := 0
	for i := range tb.shards {
		slotsAfter += len(tb.shards[i].slots)
	}
	if slotsAfter != slotsBefore {
		t.Errorf("slots grew from %d to %d refilling the same keys", slotsBefore, slotsAfter)
	}
}

func TestNewStickTablePanics(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		ttl time.Duration
		max int
	}{{0, 10}, {-time.Second, 10}, {time.Second, 0}, {time.Second, -1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewStickTable(%v, %d) did not panic", tt.ttl, tt.max)
				}
			}()
			NewStickTable(tt.ttl, tt.max)
		}()
	}
}

// TestStickTableConcurrent runs Get, Put, Delete, Sweep and Len together;
// under -race it shows the locking is complete.
func TestStickTableConcurrent(t *testing.T) {
	t.Parallel()
	tb := NewStickTable(50*time.Millisecond, 500)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			x := uint64(g)*0x9e3779b97f4a7c15 | 1
			for i := range 20000 {
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
				key, now := x%2000, at(float64(i)/1000)
				switch x >> 60 {
				case 0:
					tb.Delete(key)
				case 1:
					tb.Sweep(now)
				case 2:
					if n := tb.Len(); n > 500 {
						t.Errorf("Len() = %d > 500", n)
					}
				default:
					if s, ok := tb.Get(key, now); ok && s != key*3 {
						t.Errorf("Get(%d) = %d, want %d", key, s, key*3)
					}
					tb.Put(key, key*3, now)
				}
			}
		})
	}
	wg.Wait()
	verify(t, tb)
}

func TestStickTableNoAllocs(t *testing.T) {
	tb := NewStickTable(time.Minute, 1024)
	for k := uint64(1); k <= 4096; k++ { // full, with every slot allocated
		tb.Put(k, k, at(0))
	}
	k := uint64(0)
	n := testing.AllocsPerRun(1000, func() {
		k++
		tb.Get(k%4096, at(1))
		tb.Put(k%4096, k, at(1))
	})
	if n != 0 {
		t.Errorf("Get and Put on a full table: %v allocations, want 0", n)
	}
}

func TestSourceKey(t *testing.T) {
	t.Parallel()
	a := netip.MustParseAddr
	h := balance.HashAddr
	for _, tt := range []struct {
		addr         netip.Addr
		bits4, bits6 int
		want         uint64
	}{
		{a("192.0.2.77"), 32, 128, h(a("192.0.2.77"))},
		{a("192.0.2.77"), 24, 128, h(a("192.0.2.0"))},
		{a("192.0.2.77"), 0, 128, h(a("0.0.0.0"))},
		{a("192.0.2.77"), 33, 128, h(a("192.0.2.77"))}, // out of range: whole
		{a("192.0.2.77"), -1, 128, h(a("192.0.2.77"))},
		{a("::ffff:192.0.2.77"), 24, 8, h(a("192.0.2.0"))}, // mapped: IPv4
		{a("2001:db8:1:2:3:4:5:6"), 8, 64, h(a("2001:db8:1:2::"))},
		{a("2001:db8:1:2:3:4:5:6"), 8, 128, h(a("2001:db8:1:2:3:4:5:6"))},
		{a("2001:db8:1:234:3:4:5:6"), 8, 56, h(a("2001:db8:1:200::"))},
		{a("2001:db8:1:234:3:4:5:6"), 8, 52, h(a("2001:db8:1::"))},
		{a("fe80::1%eth0"), 32, 128, h(a("fe80::1"))}, // the zone does not count
		{netip.Addr{}, 32, 128, 0},
	} {
		if got := SourceKey(tt.addr, tt.bits4, tt.bits6); got != tt.want {
			t.Errorf("SourceKey(%v, %d, %d) = %#x, want %#x", tt.addr, tt.bits4, tt.bits6, got, tt.want)
		}
	}
}

func TestSourceKeyNoAllocs(t *testing.T) {
	a := netip.MustParseAddr
	if n := testing.AllocsPerRun(100, func() { SourceKey(a("2001:db8::1"), 24, 64) }); n != 0 {
		t.Errorf("SourceKey: %v allocations, want 0", n)
	}
}

// benchTable returns a table of 100000 entries filled with keys 0..n-1.
func benchTable(n uint64) *StickTable {
	tb := NewStickTable(time.Hour, 100000)
	for k := range n {
		tb.Put(balance.HashString(fmt.Sprint(k)), k, t0)
	}
	return tb
}

func BenchmarkStickTableGet(b *testing.B) {
	const n = 50000
	tb := benchTable(n)
	keys := make([]uint64, n)
	for k := range keys {
		keys[k] = balance.HashString(fmt.Sprint(k))
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i = (i + 7919) % n
			if _, ok := tb.Get(keys[i], t0); !ok {
				b.Error("miss")
				return
			}
		}
	})
}

// BenchmarkStickTablePut stores keys from a space four times the table's
// size, so most Puts evict.
func BenchmarkStickTablePut(b *testing.B) {
	tb := benchTable(100000)
	b.ReportAllocs()
	b.ResetTimer()
	var seed sync.Mutex
	next := uint64(0)
	b.RunParallel(func(pb *testing.PB) {
		seed.Lock()
		next++
		x := next * 0x9e3779b97f4a7c15
		seed.Unlock()
		for pb.Next() {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			tb.Put(x%400000, x, t0)
		}
	})
}

// BenchmarkStickTableGetPut is the proxy's pattern: a lookup, and a store
// when it misses.
func BenchmarkStickTableGetPut(b *testing.B) {
	tb := benchTable(100000)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		x := uint64(time.Now().UnixNano()) | 1
		for pb.Next() {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			key := balance.HashAddr(netip.AddrFrom4([4]byte{10, byte(x >> 16), byte(x >> 8), byte(x)}))
			if _, ok := tb.Get(key, t0); !ok {
				tb.Put(key, x, t0)
			}
		}
	})
}
