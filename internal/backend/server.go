package backend

import (
	"sync/atomic"

	"github.com/fulcrum-lb/fulcrum/internal/balance"
)

// ID identifies a server across reloads.
type ID struct{ Backend, Server string }

// String returns "backend/server".
func (id ID) String() string { return id.Backend + "/" + id.Server }

// Key returns a stable 64-bit identity for hashing algorithms.
func (id ID) Key() uint64 { return balance.HashString(id.Backend + "\x00" + id.Server) }

// Admin is an operator's (or the agent's) state for a server.
type Admin uint32

// The administrative states.
const (
	// Ready servers take traffic when they are up.
	Ready Admin = iota
	// Drain servers take no new traffic; established connections go on.
	Drain
	// Maint servers take no traffic and are not health checked.
	Maint
)

func (a Admin) String() string {
	switch a {
	case Ready:
		return "ready"
	case Drain:
		return "drain"
	case Maint:
		return "maint"
	}
	return "unknown"
}

// Counters are a server's cumulative counts. All fields are atomics.
type Counters struct {
	Conns         atomic.Uint64 // connections (or requests) sent to the server
	ConnectFails  atomic.Uint64 // failed connection attempts
	ResponseFails atomic.Uint64 // http: transport errors and 5xx responses
	QueueTimeout  atomic.Uint64 // clients that gave up waiting for a slot
	BytesIn       atomic.Uint64 // bytes from client to server
	BytesOut      atomic.Uint64 // bytes from server to client
}

// State is a server's long-lived runtime state, shared by every snapshot that
// has the server. It must not be copied.
type State struct {
	// Load is the in-flight count and response time that pickers read.
	Load balance.Load
	// Counters are cumulative counts.
	Counters Counters

	up       atomic.Bool
	admin    atomic.Uint32
	agentPct atomic.Int32 // weight percentage set by the agent; 100 by default
	fails    atomic.Uint32
	addr     atomic.Pointer[string] // resolved "ip:port"; nil while unresolved
}

func newState(up bool) *State {
	s := &State{}
	s.up.Store(up)
	s.agentPct.Store(100)
	return s
}

// Up reports whether health checks consider the server up.
func (s *State) Up() bool { return s.up.Load() }

// Admin returns the administrative state.
func (s *State) Admin() Admin { return Admin(s.admin.Load()) }

// AgentPercent returns the weight percentage last set by the agent (100 if none).
func (s *State) AgentPercent() int { return int(s.agentPct.Load()) }

// Addr returns the resolved "ip:port" to dial, or "" while unresolved.
func (s *State) Addr() string {
	if p := s.addr.Load(); p != nil {
		return *p
	}
	return ""
}

// Server is one server of one snapshot: immutable configuration plus a pointer
// to its long-lived State. A Server must not be copied.
type Server struct {
	ID ID
	// Addr is the configured address, "host:port", where host may be a name.
	Addr string
	// Weight is the configured weight (0–256).
	Weight  int
	MaxConn int
	Backup  bool
	State   *State

	pool  *Pool
	index int // position in pool.all
}

// Name returns the server's name.
func (s *Server) Name() string { return s.ID.Server }

// EffectiveWeight is the configured weight scaled by the agent's percentage;
// 0 while draining.
func (s *Server) EffectiveWeight() int {
	if s.State.Admin() != Ready {
		return 0
	}
	w := s.Weight * s.State.AgentPercent() / 100
	if w == 0 && s.Weight > 0 && s.State.AgentPercent() > 0 {
		w = 1
	}
	return w
}

// Full reports whether the server is at its maxconn.
func (s *Server) Full() bool {
	return s.MaxConn > 0 && s.State.Load.Active() >= int64(s.MaxConn)
}

// Release gives back a slot taken by Pool.Acquire. It must be called exactly
// once per successful Acquire.
func (s *Server) Release() {
	s.State.Load.Dec()
	s.pool.wakeOne()
}

// Pool returns the pool s belongs to.
func (s *Server) Pool() *Pool { return s.pool }

// Index returns the position of s in its pool's Servers().
func (s *Server) Index() int { return s.index }
