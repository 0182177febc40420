package backend

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/balance"
)

// ServerSpec is what a Pool needs to know about one configured server.
type ServerSpec struct {
	Name     string
	Addr     string // "host:port"; host may be a name to resolve
	Weight   int
	MaxConn  int
	Backup   bool
	Disabled bool // starts in maintenance
	// Resolved is the "ip:port" to dial, when already known. A server
	// whose State already has an address keeps it until SetAddr.
	Resolved string
}

// Options configure a Pool.
type Options struct {
	// Name is the backend's name.
	Name string
	// Builder builds the picker over the eligible servers.
	Builder balance.Builder
	// InitialUp is the health of a server seen for the first time.
	InitialUp bool
	// PassiveFall consecutive connect failures mark a server down (0: off).
	PassiveFall int
	// PassiveHold is how long a passively failed server stays down when no
	// active check will bring it back (Checked is false).
	PassiveHold time.Duration
	// Checked says an active health check runs for the servers.
	Checked bool
	// Logger receives one line per state transition. nil discards.
	Logger *slog.Logger
}

// Set is the published view of a pool: the servers a picker chooses among,
// and the picker built over exactly them. Immutable.
type Set struct {
	// Servers are indexed by the picker's results. Draining servers are
	// present with weight 0, so the picker never returns them.
	Servers []*Server
	Picker  balance.Picker
	// Backup is true when the set is made of backup servers because no
	// primary server is usable.
	Backup bool
}

// Pool is a backend's servers and the atomically published Set over them.
// Its methods are safe for concurrent use.
type Pool struct {
	opts Options
	all  []*Server
	log  *slog.Logger
	set  atomic.Pointer[Set]

	mu     sync.Mutex // serialises rebuilds and the passive hold timers
	empty  bool       // no usable server at the last rebuild
	holds  map[*Server]*time.Timer
	closed bool

	qmu    sync.Mutex
	queue  []chan struct{}
	queued atomic.Int32

	// QueueTimeouts counts clients that gave up waiting for a free slot.
	QueueTimeouts atomic.Uint64
}

// NewPool builds a pool over specs, taking each server's State from reg (so a
// server that survives a reload keeps its state), and publishes its first Set.
func NewPool(opts Options, specs []ServerSpec, reg *Registry) *Pool {
	p := &Pool{opts: opts, log: opts.Logger, holds: make(map[*Server]*time.Timer)}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	for i, sp := range specs {
		id := ID{Backend: opts.Name, Server: sp.Name}
		st, created := reg.State(id, opts.InitialUp)
		if sp.Disabled {
			st.admin.Store(uint32(Maint))
		} else if created {
			st.admin.Store(uint32(Ready))
		}
		if sp.Resolved != "" && st.Addr() == "" {
			a := sp.Resolved
			st.addr.Store(&a)
		}
		p.all = append(p.all, &Server{
			ID: id, Addr: sp.Addr, Weight: sp.Weight, MaxConn: sp.MaxConn,
			Backup: sp.Backup, State: st, pool: p, index: i,
		})
	}
	p.rebuild()
	return p
}

// Name returns the backend's name.
func (p *Pool) Name() string { return p.opts.Name }

// Servers returns every configured server, in configuration order. The slice
// must not be modified.
func (p *Pool) Servers() []*Server { return p.all }

// Set returns the current published Set.
func (p *Pool) Set() *Set { return p.set.Load() }

// Checked reports whether active checks run for this pool's servers.
func (p *Pool) Checked() bool { return p.opts.Checked }

// Close stops the pool's timers and wakes every queued client, which then
// fails. The pool must not be used for new picks afterwards.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	for s, t := range p.holds {
		t.Stop()
		delete(p.holds, s)
	}
	p.mu.Unlock()
	p.wakeAll()
}

// eligible reports whether s may appear in a Set at all.
func eligible(s *Server) bool {
	return s.State.Up() && s.State.Admin() != Maint && s.State.Addr() != ""
}

// rebuild recomputes the Set from the servers' current state and publishes it.
func (p *Pool) rebuild() {
	p.mu.Lock()
	defer p.mu.Unlock()
	var prim, back []*Server
	primUsable, backUsable := false, false
	for _, s := range p.all {
		if !eligible(s) {
			continue
		}
		w := s.EffectiveWeight()
		if s.Backup {
			back = append(back, s)
			backUsable = backUsable || w > 0
		} else {
			prim = append(prim, s)
			primUsable = primUsable || w > 0
		}
	}
	set := &Set{Servers: prim}
	if !primUsable && backUsable {
		set = &Set{Servers: back, Backup: true}
	}
	targets := make([]balance.Target, len(set.Servers))
	for i, s := range set.Servers {
		targets[i] = balance.Target{Weight: s.EffectiveWeight(), Key: s.ID.Key(), MaxConn: s.MaxConn, Load: &s.State.Load}
	}
	set.Picker = p.opts.Builder(targets)
	p.set.Store(set)
	empty := !primUsable && !backUsable
	if empty != p.empty {
		p.empty = empty
		if empty {
			p.log.Warn("backend has no server available", "backend", p.opts.Name)
		} else {
			p.log.Info("backend has servers available again", "backend", p.opts.Name)
		}
	}
	p.wakeAll()
}

// Verdict says where a health decision comes from and why.
type Verdict struct {
	// Check is "active", "agent" or "passive".
	Check string
	// Reason is the last check's outcome, e.g. "connection refused".
	Reason string
	// Checks is the number of consecutive checks that led to the verdict
	// (active checks only; 0 otherwise).
	Checks int
}

// SetHealth records a health verdict for s. It logs and rebuilds the Set only
// when the state flips, and reports whether it did, so callers may report
// every verdict.
func (p *Pool) SetHealth(s *Server, up bool, v Verdict) bool {
	if s.State.up.Swap(up) == up {
		return false
	}
	if up {
		s.State.fails.Store(0)
	}
	state := "DOWN"
	if up {
		state = "UP"
	}
	attrs := []any{"backend", p.opts.Name, "server", s.Name(), "addr", s.State.Addr(), "state", state, "reason", v.Reason, "check", v.Check}
	switch {
	case v.Checks == 1:
		attrs = append(attrs, "after", "1 check")
	case v.Checks > 1:
		attrs = append(attrs, "after", fmt.Sprintf("%d checks", v.Checks))
	}
	if up {
		p.log.Info("server state changed", attrs...)
	} else {
		p.log.Warn("server state changed", attrs...)
	}
	p.rebuild()
	return true
}

// SetAdmin sets the administrative state of s and reports whether it changed.
func (p *Pool) SetAdmin(s *Server, a Admin, reason string) bool {
	if Admin(s.State.admin.Swap(uint32(a))) == a {
		return false
	}
	p.log.Info("server admin state changed", "backend", p.opts.Name, "server", s.Name(), "admin", a.String(), "reason", reason)
	p.rebuild()
	return true
}

// SetAgentPercent scales the weight of s to pct percent (0–256) and reports
// whether it changed.
func (p *Pool) SetAgentPercent(s *Server, pct int) bool {
	if int(s.State.agentPct.Swap(int32(pct))) == pct {
		return false
	}
	p.log.Info("server weight changed", "backend", p.opts.Name, "server", s.Name(), "weight_pct", pct, "weight", s.EffectiveWeight())
	p.rebuild()
	return true
}

// SetAddr sets the resolved "ip:port" of s. It logs a change and reports
// whether there was one.
func (p *Pool) SetAddr(s *Server, addr string) bool {
	old := s.State.Addr()
	if old == addr {
		return false
	}
	s.State.addr.Store(&addr)
	if old != "" {
		p.log.Info("server address changed", "backend", p.opts.Name, "server", s.Name(), "from", old, "to", addr)
	}
	if old == "" || addr == "" {
		p.rebuild()
	}
	return true
}

// ReportConnect records the outcome of a connection attempt to s, for
// passive health: PassiveFall consecutive failures mark the server down at
// once. Success costs one atomic load.
func (p *Pool) ReportConnect(s *Server, err error) {
	if err == nil {
		p.succeeded(s)
		return
	}
	s.State.Counters.ConnectFails.Add(1)
	p.failed(s, "connect failures", err.Error())
}

// ReportResponse records the outcome of an exchange with s in http mode, for
// passive health (outlier detection): a transport error or a 5xx response is
// a failure (why says which), anything else a success. Failures count
// together with connect failures.
func (p *Pool) ReportResponse(s *Server, failed bool, why string) {
	if !failed {
		p.succeeded(s)
		return
	}
	s.State.Counters.ResponseFails.Add(1)
	p.failed(s, "failed responses", why)
}

func (p *Pool) succeeded(s *Server) {
	if s.State.fails.Load() != 0 {
		s.State.fails.Store(0)
	}
}

// failed counts one more consecutive failure of s and takes it down at
// PassiveFall: until an active check brings it back, or, without active
// checks, for PassiveHold.
func (p *Pool) failed(s *Server, what, last string) {
	n := s.State.fails.Add(1)
	if p.opts.PassiveFall <= 0 || int(n) < p.opts.PassiveFall {
		return
	}
	reason := fmt.Sprintf("%d consecutive %s, last: %s", n, what, last)
	if p.SetHealth(s, false, Verdict{Check: "passive", Reason: reason}) && !p.opts.Checked {
		p.holdDown(s)
	}
}

// holdDown brings s back up after PassiveHold, for pools without active checks.
func (p *Pool) holdDown(s *Server) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	if t := p.holds[s]; t != nil {
		t.Stop()
	}
	p.holds[s] = time.AfterFunc(p.opts.PassiveHold, func() {
		p.mu.Lock()
		delete(p.holds, s)
		closed := p.closed
		p.mu.Unlock()
		if !closed {
			p.SetHealth(s, true, Verdict{Check: "passive", Reason: fmt.Sprintf("passive hold of %s over", p.opts.PassiveHold)})
		}
	})
}
