package balance

import (
	"math"
	"time"
)

// leastTime is least response time, after nginx Plus's least_time and
// Envoy's least request with active request bias: the target with the least
//
//	(Latency + bias) × (Active + 1) / Weight
//
// where Latency is the Load's moving average of response time, decayed
// towards 0 while the server is idle (see Load.Latency and Decay), so that a
// server that was slow is tried again after a while instead of being starved
// for ever, and Active+1 is the in-flight count once this request is added,
// so that a fast server is not buried under every concurrent request.
//
// A target whose Latency is 0 (never observed, or fully decayed) is unknown;
// it counts as fast as the fastest known target, so it gets traffic at once,
// and still by in-flight count, so a burst of concurrent picks does not all
// land on it. Ties go to the first target from the next position of the
// smooth weighted round robin cycle, as in leastconn. Scores are float64:
// latency × in-flight could overflow an integer cross product.
type leastTime struct {
	e   []timed
	seq []int32 // smooth cycle of positions in e: where each scan starts
	now func() int64
	rr  cursor
}

var _ Picker = (*leastTime)(nil)

// timed is what leastTime reads about a target.
type timed struct {
	load *Load
	inv  float64 // 1 / weight
	idx  int32
}

// leastTimeBias is added to every latency (in nanoseconds): about a
// loopback round trip, so that latencies well below it count as equal and an
// idle pool with no observations is balanced by in-flight count alone.
const leastTimeBias = float64(20 * time.Microsecond)

// newLeastTime is the Builder of LeastTime; now returns Unix nanoseconds.
func newLeastTime(ts []Target, now func() int64) Picker {
	live, w := weights(ts)
	if len(live) == 0 {
		return none{}
	}
	e := make([]timed, len(live))
	for p, i := range live {
		e[p] = timed{load: ts[i].Load, inv: 1 / float64(w[p]), idx: i}
	}
	return &leastTime{e: e, seq: smooth(w), now: now}
}

// Pick returns the target of least expected response time among those a
// accepts. Requests are ignored.
func (p *leastTime) Pick(_ *Request, a Accepter) int {
	now := p.now()
	start := int(p.seq[p.rr.next()%uint64(len(p.seq))])
	e := p.e
	n := len(e)
	// One pass finds the best known target, the lowest known latency, and
	// the unknown target with the least in flight per weight: the unknown
	// targets' latency is the lowest known one, the same for all of them.
	fastest := math.Inf(1)
	bk, bu := -1, -1   // best known and unknown positions
	var sk, qu float64 // their score and in flight per weight
	var kk, ku int     // their rank in this scan's order
	for k, j := 0, start; k < n; k, j = k+1, j+1 {
		if j == n {
			j = 0
		}
		q := float64(active(e[j].load)+1) * e[j].inv
		lat := latency(e[j].load, now)
		if lat == 0 {
			if bu < 0 || q < qu {
				bu, qu, ku = j, q, k
			}
			continue
		}
		fastest = min(fastest, lat)
		if s := (lat + leastTimeBias) * q; bk < 0 || s < sk {
			bk, sk, kk = j, s, k
		}
	}
	b := bk
	if bu >= 0 {
		if bk < 0 {
			b = bu
		} else if su := (fastest + leastTimeBias) * qu; su < sk || su == sk && ku < kk {
			b = bu
		}
	}
	if accepts(a, e[b].idx) {
		return int(e[b].idx)
	}
	if bk < 0 {
		fastest = 0
	}
	return p.accepted(now, fastest, start, b, a)
}

// accepted is the slow path, when a refused the best target (at position
// skip): one more scan in the same order, asking a about each target that
// beats the best accepted so far, unknown latencies counting as fastest. It
// returns the best target that a accepts, or -1.
func (p *leastTime) accepted(now int64, fastest float64, start, skip int, a Accepter) int {
	e := p.e
	n := len(e)
	b, sb := -1, 0.0
	for k, j := 0, start; k < n; k, j = k+1, j+1 {
		if j == n {
			j = 0
		}
		if j == skip {
			continue
		}
		lat := latency(e[j].load, now)
		if lat == 0 {
			lat = fastest
		}
		s := (lat + leastTimeBias) * float64(active(e[j].load)+1) * e[j].inv
		if (b < 0 || s < sb) && a.Accept(int(e[j].idx)) {
			b, sb = j, s
		}
	}
	if b < 0 {
		return -1
	}
	return int(e[b].idx)
}

// latency is l.Latency(now) as a float64 and computed with exp2neg instead
// of math.Exp2: the same to within a hundred-thousandth, and several times
// faster, which matters because a pick computes it for every target. Like
// Latency, it is 0 when nothing was observed or when it has decayed below
// a nanosecond.
func latency(l *Load, now int64) float64 {
	v := l.ewma.Load()
	if v == 0 {
		return 0
	}
	idle := now - l.stamp.Load()
	if idle <= 0 {
		return float64(v)
	}
	if d := float64(v) * exp2neg(float64(idle)*(1/float64(Decay))); d >= 1 {
		return d
	}
	return 0
}

// exp2neg returns 2^-x for x >= 0 to a relative error below 4e-6: 2^-k for
// the integer part k, built as a float64's exponent, times 2^(1/2-f) for the
// fraction f by its Taylor series to the fifth power (|1/2-f| <= 1/2), over
// sqrt 2.
func exp2neg(x float64) float64 {
	if x >= 1000 {
		return 0
	}
	k := int64(x) // x >= 0: truncation is the floor
	y := (0.5 - (x - float64(k))) * math.Ln2
	p := 1 + y*(1+y*(1.0/2+y*(1.0/6+y*(1.0/24+y*(1.0/120)))))
	return p * (1 / math.Sqrt2) * math.Float64frombits(uint64(1023-k)<<52)
}
