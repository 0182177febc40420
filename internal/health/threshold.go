package health

// Threshold is the hysteresis of a health check: a server that is down needs
// Rise consecutive successful checks to go up, and a server that is up needs
// Fall consecutive failed checks to go down. Values below 1 count as 1.
type Threshold struct{ Rise, Fall int }

// Counter counts consecutive check results against a Threshold. It does not
// keep the server's state: the caller passes the current state (the pool's
// truth, which passive checks and the agent change too) with every result,
// so a counter never acts on a stale copy. The zero value has Rise and Fall
// of 1. A Counter is not safe for concurrent use; each checked server has
// its own.
type Counter struct {
	Threshold
	n   int  // consecutive results that disagree with against
	dir bool // the state the n results disagreed with
}

// Observe records one check result. up is the server's current state and ok
// the result of the check. It returns the state the server should be in,
// whether that is a flip from up, and the number of consecutive results
// against up counted so far: after a flip, the number that caused it (which
// is then reset). A result that agrees with up resets the count, and so does
// a change of up between calls (the count was against the old state).
func (c *Counter) Observe(up, ok bool) (newUp, flipped bool, count int) {
	if up != c.dir {
		c.n, c.dir = 0, up
	}
	if ok == up {
		c.n = 0
		return up, false, 0
	}
	c.n++
	need := c.Fall
	if !up {
		need = c.Rise
	}
	if c.n < max(need, 1) {
		return up, false, c.n
	}
	n := c.n
	c.n = 0
	return !up, true, n
}

// Counting reports whether some, but not yet enough, consecutive results
// disagree with the last state passed to Observe: the server is on its way to
// a flip.
func (c *Counter) Counting() bool { return c.n > 0 }

// Reset forgets the results counted so far.
func (c *Counter) Reset() { c.n = 0 }
