package balance

import (
	"math"
	"testing"
	"time"
)

const (
	ms = int64(time.Millisecond)
	t0 = int64(1_700_000_000) * int64(time.Second) // the fake clock's start
)

func TestLeastTime(t *testing.T) {
	t.Parallel()
	type server struct {
		w        int
		lat      int64 // 0: never observed
		inflight int64
	}
	cases := []struct {
		name    string
		servers []server
		a       Accepter
		want    int
	}{
		{"faster", []server{{1, 10 * ms, 0}, {1, 100 * ms, 0}}, nil, 0},
		{"faster but busy", []server{{1, 10 * ms, 10}, {1, 100 * ms, 0}}, nil, 1},  // 110 > 100
		{"faster, less busy", []server{{1, 10 * ms, 8}, {1, 100 * ms, 0}}, nil, 0}, // 90 < 100
		{"per weight", []server{{1, 10 * ms, 1}, {2, 15 * ms, 1}}, nil, 1},         // 20 > 15
		{"weight 0", []server{{0, 1 * ms, 0}, {1, 100 * ms, 9}}, nil, 1},
		{"unknown ties with fastest", []server{{1, 10 * ms, 0}, {1, 0, 0}}, nil, 0},
		{"unknown and idle", []server{{1, 10 * ms, 3}, {1, 0, 0}}, nil, 1},
		{"unknown but busy", []server{{1, 10 * ms, 0}, {1, 0, 3}}, nil, 0},
		{"unknown counts as fastest", []server{{1, 100 * ms, 0}, {1, 0, 4}, {1, 10 * ms, 5}}, nil, 1}, // 50 < 60 < 100
		{"all unknown", []server{{1, 0, 2}, {1, 0, 0}, {1, 0, 1}}, nil, 1},
		{"refused best", []server{{1, 10 * ms, 0}, {1, 100 * ms, 0}}, refuse{0}, 1},
		{"refused unknown", []server{{1, 100 * ms, 0}, {1, 0, 0}, {1, 10 * ms, 5}}, refuse{1}, 2}, // 60 < 100
		{"refused all", []server{{1, 100 * ms, 0}, {1, 0, 0}}, refuse{0, 1}, -1},
	}
	for _, c := range cases {
		ts := make([]Target, len(c.servers))
		for i, s := range c.servers {
			ts[i] = Target{Weight: s.w, Load: new(Load)}
			ts[i].Load.active.Store(s.inflight)
			if s.lat > 0 {
				ts[i].Load.Observe(s.lat, t0)
			}
		}
		p := newLeastTime(ts, func() int64 { return t0 })
		if got := p.Pick(nil, c.a); got != c.want {
			t.Errorf("%s: Pick = %d, want %d", c.name, got, c.want)
		}
	}
}

// sim drives a leasttime picker with a fake clock: a request arrives every
// gap, goes to the picked server, and ends after that server's latency,
// which the test may change.
type sim struct {
	now   int64
	ts    []Target
	p     Picker
	lat   []int64 // each server's current response time
	ends  []end   // requests in flight
	count []int   // picks per server since the last reset
	last  []int64 // time of each server's last pick
}

type end struct {
	at, took int64
	i        int
}

func newSim(lat ...int64) *sim {
	s := &sim{now: t0, ts: targets(make([]int, len(lat))...), lat: lat}
	for i := range s.ts {
		s.ts[i].Weight = 1
	}
	s.p = newLeastTime(s.ts, func() int64 { return s.now })
	s.count = make([]int, len(lat))
	s.last = make([]int64, len(lat))
	return s
}

// run sends requests every gap for d.
func (s *sim) run(d, gap int64) {
	for stop := s.now + d; s.now < stop; s.now += gap {
		kept := s.ends[:0]
		for _, e := range s.ends {
			if e.at <= s.now {
				s.ts[e.i].Load.Dec()
				s.ts[e.i].Load.Observe(e.took, e.at)
			} else {
				kept = append(kept, e)
			}
		}
		s.ends = kept
		i := s.p.Pick(nil, nil)
		s.ts[i].Load.Inc()
		s.ends = append(s.ends, end{at: s.now + s.lat[i], took: s.lat[i], i: i})
		s.count[i]++
		s.last[i] = s.now
	}
}

func (s *sim) share(i int) float64 {
	n := 0
	for _, c := range s.count {
		n += c
	}
	return float64(s.count[i]) / float64(n)
}

func (s *sim) reset() { clear(s.count) }

// TestLeastTimeSlow checks that a slow server gets far less traffic than a
// fast one, and its share back once it is fast again.
func TestLeastTimeSlow(t *testing.T) {
	t.Parallel()
	s := newSim(10*ms, 100*ms)
	s.run(20_000*ms, 2*ms) // 5 in flight on the fast server on average
	if got := s.share(1); got > 0.1 || got == 0 {
		t.Errorf("slow server's share = %.3f, want some but < 0.1", got)
	}
	s.lat[1] = 10 * ms
	s.run(10_000*ms, 2*ms)
	s.reset()
	s.run(10_000*ms, 2*ms)
	if got := s.share(1); got < 0.4 || got > 0.6 {
		t.Errorf("recovered server's share = %.3f, want about 0.5", got)
	}
}

// TestLeastTimeDecay checks that a slow server that gets no traffic at all
// (one request at a time, always to the fast one) is tried again once its
// remembered latency has decayed below the fast one's: after log2(100/10) ≈
// 3.3 half-lives of Decay.
func TestLeastTimeDecay(t *testing.T) {
	t.Parallel()
	s := newSim(10*ms, 100*ms)
	s.ts[1].Load.Observe(100*ms, s.now) // the slow server was seen slow
	s.run(1000*ms, 200*ms)
	if s.count[1] != 0 {
		t.Fatalf("slow server picked %d times while known slow", s.count[1])
	}
	half := int64(Decay)
	s.run(3*half, 200*ms)
	if s.count[1] != 0 {
		t.Fatalf("slow server picked at %v, before its latency decayed", time.Duration(s.last[1]-t0))
	}
	s.run(half/2, 200*ms)
	if s.count[1] == 0 {
		t.Fatalf("slow server not picked after %v", time.Duration(s.now-t0))
	}
}

// TestLeastTimeUnknown checks that a new server gets traffic at once but not
// all of a burst.
func TestLeastTimeUnknown(t *testing.T) {
	t.Parallel()
	ts := targets(1, 1, 1)
	for i := range 2 {
		ts[i].Load.Observe(10*ms, t0)
	}
	p := newLeastTime(ts, func() int64 { return t0 })
	count := make([]int, len(ts))
	for range 30 { // a burst: nothing ends
		i := p.Pick(nil, nil)
		ts[i].Load.Inc()
		count[i]++
	}
	if count[2] != 10 {
		t.Errorf("burst of 30 over two known and one new server: %v, want 10 each", count)
	}
}

func TestExp2Neg(t *testing.T) {
	t.Parallel()
	for x := 0.0; x < 80; x += 0.0137 {
		want := math.Exp2(-x)
		if got := exp2neg(x); math.Abs(got-want) > 4e-6*want {
			t.Fatalf("exp2neg(%v) = %v, want %v", x, got, want)
		}
	}
	if got := exp2neg(5000); got != 0 {
		t.Errorf("exp2neg(5000) = %v, want 0", got)
	}
}

// TestLatency checks the fast decay against Load.Latency.
func TestLatency(t *testing.T) {
	t.Parallel()
	var l Load
	if got := latency(&l, t0); got != 0 {
		t.Errorf("latency of a new Load = %v, want 0", got)
	}
	l.Observe(150*ms, t0)
	for idle := int64(-ms); idle < 40*int64(Decay); idle += 777 * ms {
		want := float64(l.Latency(t0 + idle))
		if got := latency(&l, t0+idle); math.Abs(got-want) > 1+want*4e-6 {
			t.Fatalf("after %v: latency = %v, want %v", time.Duration(idle), got, want)
		}
	}
}
