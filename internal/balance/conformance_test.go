package balance_test

import (
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/fulcrum-lb/fulcrum/internal/balance"
	"github.com/fulcrum-lb/fulcrum/internal/balance/balancetest"
)

// lockedRand is a seeded random source that is safe for concurrent use, so
// that runs repeat.
type lockedRand struct {
	mu  sync.Mutex
	rng *rand.Rand
}

func (l *lockedRand) Uint64() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rng.Uint64()
}

// TestConformance runs balancetest.Run on every algorithm. It is not
// parallel: Run measures allocations.
func TestConformance(t *testing.T) {
	cases := []struct {
		name string
		alg  balance.Algorithm
		opts balance.Options
	}{
		{"roundrobin", balance.RoundRobin, balance.Options{}},
		{"leastconn", balance.LeastConn, balance.Options{}},
		{"random", balance.Random, balance.Options{}},
		{"p2c", balance.P2C, balance.Options{}},
		{"source", balance.Source, balance.Options{}},
		{"source/prefix", balance.Source, balance.Options{SourcePrefix4: 24, SourcePrefix6: 48}},
		{"hash", balance.Hash, balance.Options{}},
		{"consistent", balance.Consistent, balance.Options{}},
		{"consistent/size", balance.Consistent, balance.Options{MaglevSize: 5000}},
		{"leasttime", balance.LeastTime, balance.Options{}},
		{"first", balance.First, balance.Options{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.alg == balance.Random || c.alg == balance.P2C {
				c.opts.Rand = (&lockedRand{rng: rand.New(rand.NewPCG(1, 2))}).Uint64
			}
			b, err := balance.New(c.alg, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			var opts []balancetest.Option
			if c.alg != balance.First {
				opts = append(opts, balancetest.Proportional(0.05))
			}
			balancetest.Run(t, b, opts...)
		})
	}
}
