package balance

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

// acceptAll is an Accepter passed as a pointer, as a caller would.
type acceptAll struct{ calls int }

func (a *acceptAll) Accept(int) bool { a.calls++; return true }

// benchPicker builds alg over n targets of weights 1, 2, 3 ..., with some in
// flight and latencies observed, and 1024 requests with keys and clients.
func benchPicker(b *testing.B, alg Algorithm, n int) (Picker, []Request) {
	ts := make([]Target, n)
	now := time.Now().UnixNano()
	for i := range ts {
		ts[i] = Target{Weight: 1 + i%3, Key: HashString("server" + strconv.Itoa(i)), Load: new(Load)}
		ts[i].Load.active.Store(int64(i * 7 % 5))
		ts[i].Load.Observe(int64(1+i%4)*int64(time.Millisecond), now)
	}
	build, err := New(alg, Options{})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	reqs := make([]Request, 1024)
	for i := range reqs {
		reqs[i] = Request{Hash: rng.Uint64() | 1, Client: netip.AddrFrom4([4]byte{10, byte(i), byte(rng.Uint32()), byte(rng.Uint32())})}
	}
	return build(ts), reqs
}

// BenchmarkPick measures one pick with an Accepter that accepts everything.
func BenchmarkPick(b *testing.B) {
	for _, alg := range Algorithms {
		for _, n := range []int{3, 10, 100} {
			b.Run(fmt.Sprintf("%s/%d", alg, n), func(b *testing.B) {
				p, reqs := benchPicker(b, alg, n)
				a := &acceptAll{}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					p.Pick(&reqs[i&1023], a)
					i++
				}
			})
		}
	}
}

// BenchmarkPickParallel measures picks from all Ps at once, where the shared
// cursor of round robin and the tie rotation is contended.
func BenchmarkPickParallel(b *testing.B) {
	for _, alg := range Algorithms {
		b.Run(fmt.Sprintf("%s/10", alg), func(b *testing.B) {
			p, reqs := benchPicker(b, alg, 10)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				a := &acceptAll{}
				i := 0
				for pb.Next() {
					p.Pick(&reqs[i&1023], a)
					i++
				}
			})
		})
	}
}

// BenchmarkBuild measures building a picker over 100 targets, which the
// control plane does on every change of the eligible set.
func BenchmarkBuild(b *testing.B) {
	ts := make([]Target, 100)
	for i := range ts {
		ts[i] = Target{Weight: 1 + i%256, Key: HashString(strconv.Itoa(i)), Load: new(Load)}
	}
	for _, alg := range Algorithms {
		b.Run(string(alg), func(b *testing.B) {
			build, _ := New(alg, Options{})
			b.ReportAllocs()
			for b.Loop() {
				build(ts)
			}
		})
	}
}
