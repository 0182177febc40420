package balance

import (
	"math"
	"sync/atomic"
)

// Load is one server's live load: the number of connections or requests in
// flight and an exponentially weighted moving average (EWMA) of its response
// time. The owner of the server state keeps one Load per server across
// rebuilds and reloads; pickers only read it. All methods are safe for
// concurrent use. A Load must not be copied after first use.
type Load struct {
	active atomic.Int64
	ewma   atomic.Int64 // nanoseconds; 0 = never observed
	stamp  atomic.Int64 // Unix nanoseconds of the last observation
}

// Active returns the number in flight.
func (l *Load) Active() int64 { return l.active.Load() }

// Inc counts one more in flight and returns the new count.
func (l *Load) Inc() int64 { return l.active.Add(1) }

// Dec counts one fewer in flight.
func (l *Load) Dec() { l.active.Add(-1) }

// TryInc counts one more in flight unless that would exceed max (max <= 0
// means no limit). It reports whether it did.
func (l *Load) TryInc(max int) bool {
	if max <= 0 {
		l.active.Add(1)
		return true
	}
	for {
		n := l.active.Load()
		if n >= int64(max) {
			return false
		}
		if l.active.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// ewmaWeight is the weight of a new observation in the moving average.
const ewmaWeight = 0.3

// Observe records one response time d (nanoseconds) seen at now (Unix
// nanoseconds). Concurrent observations may race; one of them wins, which is
// good enough for an average.
func (l *Load) Observe(d, now int64) {
	if d < 1 {
		d = 1
	}
	old := l.Latency(now)
	v := d
	if old > 0 {
		v = int64(ewmaWeight*float64(d) + (1-ewmaWeight)*float64(old))
		if v < 1 {
			v = 1
		}
	}
	l.ewma.Store(v)
	l.stamp.Store(now)
}

// Latency returns the moving average of response time in nanoseconds as of
// now, decayed towards zero with a half-life of Decay since the last
// observation, or 0 if nothing was observed.
func (l *Load) Latency(now int64) int64 {
	v := l.ewma.Load()
	if v == 0 {
		return 0
	}
	idle := now - l.stamp.Load()
	if idle <= 0 {
		return v
	}
	return int64(float64(v) * math.Exp2(-float64(idle)/float64(Decay)))
}
