package balance

// maglev is consistent hashing with Maglev's lookup table (D. E. Eisenbud et
// al., "Maglev: A Fast and Reliable Software Network Load Balancer", NSDI
// 2016, section 3.4). Each target derives from its Key a permutation of the
// table's M slots (an offset and a skip, M prime); targets take turns
// claiming their next slot that is still free until all are taken. A key
// picks the slot its hash selects, in constant time.
//
// Because the permutations depend only on each target's own Key, removing a
// target hands its slots to the others and moves few other slots: about 1/n
// of the keys change server when one of n goes, close to the minimum.
// Weights are honoured as in Envoy's weighted Maglev (maglev_lb.cc): in
// every round the heaviest targets claim a slot and a lighter one claims in
// proportion to its weight, so slot counts follow weights. Every target claims in the first
// round, so none is left without a slot.
//
// Without a key (Hash == 0) it picks round robin over the table, whose slots
// are in weight proportion. When a refuses, rehashing the key gives the next
// candidates, as in Hash.
type maglev struct{ keyed }

var _ Picker = (*maglev)(nil)

// defaultMaglevSize is the table size when Options.MaglevSize is 0: the
// prime of the paper's evaluation and Envoy's default.
const defaultMaglevSize = 65537

// maxMaglevSize bounds Options.MaglevSize: 4 Mi slots of 4 bytes.
const maxMaglevSize = 1 << 22

// maglevSize returns the table size for n targets given Options.MaglevSize:
// a prime at least size and at least 100 × n, so that each target's share is
// within about 1% of its weight's. The size must not follow n closely: a new
// size is a new set of permutations, which moves nearly every key. So it is
// the configured (or default) size, and only when n outgrows it does it
// double, to the next prime, as often as needed.
func maglevSize(size, n int) int {
	if size == 0 {
		size = defaultMaglevSize
	}
	m := nextPrime(max(min(size, maxMaglevSize), 2))
	for m < 100*n {
		m = nextPrime(2 * m)
	}
	return m
}

// newMaglev is the Builder of Consistent; size is Options.MaglevSize.
func newMaglev(ts []Target, size int) Picker {
	live, w := weights(ts)
	if len(live) == 0 {
		return none{}
	}
	m := maglevSize(size, len(live))
	keys := make([]uint64, len(live))
	for p, i := range live {
		keys[p] = ts[i].Key
	}
	slots := populate(keys, w, m)
	for j, p := range slots {
		slots[j] = live[p]
	}
	return &maglev{keyed{table: table{slots: slots, live: live}}}
}

// Pick returns the target of r.Hash's slot, or the key's next choice that a
// accepts.
func (p *maglev) Pick(r *Request, a Accepter) int {
	var h uint64
	if r != nil {
		h = r.Hash
	}
	return p.pickKey(h, a)
}

// populate fills a table of m slots (m prime, m >= len(keys)) with positions
// into keys, following the paper's Pseudocode 1 with weighted turns. Targets
// with the same key get the same permutation; that still fills the table, but
// keys are meant to be distinct.
func populate(keys []uint64, w []int64, m int) []int32 {
	n := len(keys)
	pos := make([]int, n)      // next slot of each permutation
	skip := make([]int, n)     // its stride, in 1..m-1
	credit := make([]int64, n) // weighted turns earned but not yet taken
	var top int64
	for p := range keys {
		pos[p] = int(mix64(keys[p]^0x5851f42d4c957f2d) % uint64(m))
		skip[p] = int(mix64(keys[p]^0x14057b7ef767814f)%uint64(m-1)) + 1
		top = max(top, w[p])
	}
	for p := range credit {
		credit[p] = top - w[p] // so that everyone claims in the first round
	}
	slots := make([]int32, m)
	for j := range slots {
		slots[j] = -1
	}
	for filled := 0; filled < m; {
		for p := 0; p < n && filled < m; p++ {
			if credit[p] += w[p]; credit[p] < top {
				continue
			}
			credit[p] -= top
			for slots[pos[p]] >= 0 { // a free slot exists, so this ends
				if pos[p] += skip[p]; pos[p] >= m {
					pos[p] -= m
				}
			}
			slots[pos[p]] = int32(p)
			filled++
		}
	}
	return slots
}

// nextPrime returns the smallest prime >= n (n >= 2), by trial division,
// which is quick for table sizes.
func nextPrime(n int) int {
	for ; ; n++ {
		if isPrime(n) {
			return n
		}
	}
}

// isPrime reports whether n is prime.
func isPrime(n int) bool {
	if n < 2 {
		return false
	}
	for d := 2; d*d <= n; d++ {
		if n%d == 0 {
			return false
		}
	}
	return true
}
