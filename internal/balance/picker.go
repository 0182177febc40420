package balance

import (
	"net/netip"
	"time"
)

// Target is what an algorithm may read about one server. Targets are passed by
// value to a Builder; the Load pointer is shared with the caller and stays live.
type Target struct {
	// Weight is the server's effective weight. A target of weight 0 is never
	// returned by Pick: it takes no new traffic.
	Weight int
	// Key is a stable identity (for example a hash of backend and server
	// name). Hashing algorithms place targets by Key, so a server keeps its
	// place when others come and go.
	Key uint64
	// MaxConn is the server's connection limit, 0 for none. Pickers do not
	// enforce it (the Accepter does); "first" uses it to know when a server is
	// full.
	MaxConn int
	// Load is the server's live load. It must not be nil.
	Load *Load
}

// Request is what a picker may know about the traffic. Any field may be zero;
// every picker behaves sensibly without it (a hashing picker without a key
// falls back to round robin).
type Request struct {
	// Hash is a precomputed affinity key (client address, URI, header value),
	// see HashBytes and HashAddr. 0 means none.
	Hash uint64
	// Client is the client's address, used by the "source" algorithm.
	Client netip.Addr
}

// Accepter says whether the target at index i is acceptable for this request:
// not at its connection limit, not already tried, and so on. It is an
// interface rather than a func so that a caller can pass a pointer it already
// has without allocating a closure on every pick.
//
// Accept must be a question without side effects: a picker may ask about
// several targets, some more than once, before it returns one (or none), so
// reserving a slot belongs after Pick, not in Accept.
type Accepter interface {
	Accept(i int) bool
}

// AcceptFunc adapts a function to an Accepter.
type AcceptFunc func(i int) bool

// Accept calls f(i).
func (f AcceptFunc) Accept(i int) bool { return f(i) }

// Picker is immutable once built and safe for concurrent use.
//
// Pick returns the index, into the slice given to the Builder, of the first
// target in this algorithm's order for r that has a weight above 0 and that a
// accepts, or -1 if there is none. a may be nil (everything is acceptable).
// Pick must not block, allocate or log.
type Picker interface {
	Pick(r *Request, a Accepter) int
}

// Builder builds a Picker over targets. It is called by the control plane,
// off the hot path, whenever the eligible set or a weight changes. targets
// must not be modified after the call.
type Builder func(targets []Target) Picker

// Algorithm names a balancing algorithm as written in the configuration.
type Algorithm string

// The algorithms.
const (
	RoundRobin Algorithm = "roundrobin" // smooth weighted round robin
	LeastConn  Algorithm = "leastconn"  // fewest in-flight per unit of weight
	Random     Algorithm = "random"     // weighted random
	P2C        Algorithm = "p2c"        // power of two random choices over in-flight load
	Source     Algorithm = "source"     // hash of the client address (or its prefix)
	Hash       Algorithm = "hash"       // hash of a request key, map-based
	Consistent Algorithm = "consistent" // Maglev consistent hashing of a request key
	LeastTime  Algorithm = "leasttime"  // least EWMA response time × in-flight
	First      Algorithm = "first"      // first server with a free slot, in order
)

// Algorithms lists every algorithm, in documentation order.
var Algorithms = []Algorithm{RoundRobin, LeastConn, Random, P2C, Source, Hash, Consistent, LeastTime, First}

// Options tune an algorithm. The zero value is valid.
type Options struct {
	// SourcePrefix4 and SourcePrefix6 make "source" hash only the leading bits
	// of the client address (e.g. 24 and 64). 0 means the whole address.
	SourcePrefix4 int
	SourcePrefix6 int
	// Rand returns uniformly random 64-bit numbers (p2c, random). It is
	// called from every goroutine that picks, so it must be safe for
	// concurrent use. nil means math/rand/v2.
	Rand func() uint64
	// Now returns the current time in Unix nanoseconds (leasttime). Like
	// Rand, it must be safe for concurrent use. nil means time.Now.
	Now func() int64
	// MaglevSize is the lookup table size for "consistent"; it is raised to a
	// prime at least 100 × the number of targets. 0 means automatic: 65537,
	// doubled when there are more than 655 targets. The size should not
	// change with the set, or nearly every key moves.
	MaglevSize int
}

// Decay is how long it takes an idle server's remembered response time to
// fall to half: an idle or recovered server is tried again, never starved.
const Decay = 10 * time.Second
