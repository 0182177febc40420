package health

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/backend"
)

// Defaults for the zero values of Spec and AgentSpec (HAProxy's).
const (
	DefaultInterval = 2 * time.Second
	DefaultRise     = 2
	DefaultFall     = 3
)

// Spec describes the active check of every server of one pool.
type Spec struct {
	// Checker probes a server. It must not be nil.
	Checker Checker
	// Interval is the time between checks of an up server that is not
	// counting towards a flip; 0 means DefaultInterval.
	Interval time.Duration
	// FastInterval is used while a server counts towards a flip (some but
	// not enough consecutive results disagree with its state); 0 means
	// Interval.
	FastInterval time.Duration
	// DownInterval is used for a server that is down; 0 means Interval.
	DownInterval time.Duration
	// Timeout is each check's deadline; 0 means Interval.
	Timeout time.Duration
	// Rise and Fall are the consecutive results needed to bring a server up
	// or down; 0 means DefaultRise and DefaultFall.
	Rise, Fall int
	// Port, if not 0, is checked instead of the server's own port.
	Port int
	// TLS, when not nil, gives the TLS configuration for a server: the
	// check then runs over TLS (a handshake for tcp checks, HTTPS for http
	// checks), as the backend's traffic does.
	TLS func(*backend.Server) *tls.Config
}

func (s *Spec) applyDefaults() {
	if s.Interval <= 0 {
		s.Interval = DefaultInterval
	}
	if s.FastInterval <= 0 {
		s.FastInterval = s.Interval
	}
	if s.DownInterval <= 0 {
		s.DownInterval = s.Interval
	}
	if s.Timeout <= 0 {
		s.Timeout = s.Interval
	}
	if s.Rise <= 0 {
		s.Rise = DefaultRise
	}
	if s.Fall <= 0 {
		s.Fall = DefaultFall
	}
}

// AgentSpec describes the agent check of every server of one pool: each
// server's agent listens on Port at the server's IP address and answers one
// line (see ParseAgentReply).
type AgentSpec struct {
	// Port is the agent's port. It must not be 0.
	Port int
	// Interval is the time between queries; 0 means DefaultInterval.
	Interval time.Duration
	// Timeout is each query's deadline; 0 means Interval.
	Timeout time.Duration
	// Send, if not empty, is written to the agent before reading its reply.
	Send string
}

// Group owns the goroutines of active and agent checks: one per server and
// kind of check. It has its own context, created by NewGroup and canceled by
// Stop; its goroutines never outlive Stop. A runtime snapshot owns one Group
// and stops it when the snapshot is replaced; server state lives in the
// backend.Registry, so the next snapshot's Group carries on from it.
//
// Scheduling: the first check of a server comes after Jitter(interval); each
// check has Timeout as its deadline; the next comes FastInterval later while
// the server counts towards a flip, DownInterval later while it is down, and
// Interval later otherwise. Servers in maintenance and servers without a
// resolved address are not checked (the round is skipped and the count
// reset). The pool's state (State.Up) is the truth each round, so a server
// that passive checks marked down comes back after Rise good checks. Only
// a verdict that flips the state is reported (Pool.SetHealth, which logs it),
// with the last check's error text (or "check passed") as reason.
//
// An agent's "down" holds the server down until the agent says "up": while
// held, the active check goes on counting for itself but does not bring the
// server up, and "up" brings it up only if the active check (if any) last
// found it up. The agent is queried whatever the server's admin state, so it
// can also take a server out of maintenance ("ready"). An agent that cannot
// be reached changes nothing (it is logged at debug level).
//
// Group's methods are safe for concurrent use.
type Group struct {
	// Jitter returns the delay before the first check of a server, given
	// the interval; nil means uniformly random in [0, interval). Tests set
	// it for stable schedules. It must be set before the first Add.
	Jitter func(interval time.Duration) time.Duration

	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	stopped bool
	servers map[*backend.State]*verdicts

	running atomic.Int32 // goroutines alive, observed by tests
}

// verdicts is what the active check and the agent of one server know of each
// other.
type verdicts struct {
	mu        sync.Mutex // held while deciding and reporting a verdict
	checked   bool       // an active check runs
	checkUp   bool       // the active check's last verdict
	agentDown bool       // the agent holds the server down
}

// NewGroup returns a Group that logs to logger (nil discards). It starts no
// goroutine until Add or AddAgent.
func NewGroup(logger *slog.Logger) *Group {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Group{log: logger, ctx: ctx, cancel: cancel, servers: make(map[*backend.State]*verdicts)}
}

// Add starts the active check described by spec for every server of p, one
// goroutine each. It does nothing after Stop, and panics if spec.Checker is
// nil.
func (g *Group) Add(p *backend.Pool, spec Spec) {
	if spec.Checker == nil {
		panic("health: Add with a nil Checker")
	}
	spec.applyDefaults()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return
	}
	for _, s := range p.Servers() {
		v := g.verdictsLocked(s)
		v.mu.Lock()
		v.checked, v.checkUp = true, s.State.Up()
		v.mu.Unlock()
		c := &Counter{Threshold: Threshold{Rise: spec.Rise, Fall: spec.Fall}}
		g.start(spec.Interval, func() time.Duration { return g.check(p, s, &spec, v, c) })
	}
}

// AddAgent starts the agent check described by a for every server of p, one
// goroutine each. It does nothing after Stop, and panics if a.Port is 0.
func (g *Group) AddAgent(p *backend.Pool, a AgentSpec) {
	if a.Port <= 0 || a.Port > 65535 {
		panic("health: AddAgent with port " + strconv.Itoa(a.Port))
	}
	if a.Interval <= 0 {
		a.Interval = DefaultInterval
	}
	if a.Timeout <= 0 {
		a.Timeout = a.Interval
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return
	}
	for _, s := range p.Servers() {
		v := g.verdictsLocked(s)
		g.start(a.Interval, func() time.Duration { return g.agent(p, s, &a, v) })
	}
}

// Stop cancels every check and waits until all goroutines have returned.
// Verdicts of checks cut short are dropped. Stop may be called more than once.
func (g *Group) Stop() {
	g.mu.Lock()
	g.stopped = true
	g.mu.Unlock()
	g.cancel()
	g.wg.Wait()
}

func (g *Group) verdictsLocked(s *backend.Server) *verdicts {
	v := g.servers[s.State]
	if v == nil {
		v = &verdicts{checkUp: s.State.Up()}
		g.servers[s.State] = v
	}
	return v
}

// start runs round after a jittered first delay, then again after each
// delay it returns, until the group stops. g.mu must be held.
func (g *Group) start(interval time.Duration, round func() time.Duration) {
	first := time.Duration(0)
	if g.Jitter != nil {
		first = g.Jitter(interval)
	} else if interval > 0 {
		first = rand.N(interval)
	}
	g.wg.Add(1)
	g.running.Add(1)
	go func() {
		defer g.wg.Done()
		defer g.running.Add(-1)
		t := time.NewTimer(first)
		defer t.Stop()
		for {
			select {
			case <-g.ctx.Done():
				return
			case <-t.C:
			}
			t.Reset(round())
		}
	}()
}

// check runs one active check of s and returns the delay to the next.
func (g *Group) check(p *backend.Pool, s *backend.Server, spec *Spec, v *verdicts, c *Counter) time.Duration {
	addr := withPort(s.State.Addr(), spec.Port)
	if addr == "" || s.State.Admin() == backend.Maint {
		c.Reset()
		return spec.Interval
	}
	ctx, cancel := context.WithTimeout(g.ctx, spec.Timeout)
	var err error
	if tc, ok := spec.Checker.(TLSChecker); ok && spec.TLS != nil {
		err = tc.CheckTLS(ctx, addr, spec.TLS(s))
	} else {
		err = spec.Checker.Check(ctx, addr)
	}
	timedOut := errors.Is(ctx.Err(), context.DeadlineExceeded)
	cancel()
	if g.ctx.Err() != nil {
		return 0 // stopping: the result means nothing
	}
	reason := "check passed"
	if err != nil {
		reason = err.Error()
		var f *Failure
		if timedOut || errors.As(err, &f) && f.Timeout {
			reason = fmt.Sprintf("timeout after %v", spec.Timeout)
		}
		g.log.Debug("health check failed", "backend", p.Name(), "server", s.Name(), "addr", addr, "reason", reason)
	}

	v.mu.Lock()
	up := s.State.Up()
	if v.agentDown {
		up = v.checkUp // the agent decides the pool's state; count against our own
	}
	newUp, flipped, n := c.Observe(up, err == nil)
	v.checkUp = newUp
	if flipped && !(newUp && v.agentDown) {
		p.SetHealth(s, newUp, backend.Verdict{Check: "active", Reason: reason, Checks: n})
	}
	v.mu.Unlock()

	switch {
	case c.Counting():
		return spec.FastInterval
	case !newUp:
		return spec.DownInterval
	}
	return spec.Interval
}

// agent queries the agent of s once, applies its reply and returns the
// delay to the next query.
func (g *Group) agent(p *backend.Pool, s *backend.Server, a *AgentSpec, v *verdicts) time.Duration {
	addr := withPort(s.State.Addr(), a.Port)
	if addr == "" {
		return a.Interval
	}
	ctx, cancel := context.WithTimeout(g.ctx, a.Timeout)
	line, err := QueryAgent(ctx, addr, a.Send)
	cancel()
	if g.ctx.Err() != nil {
		return 0
	}
	if err != nil {
		g.log.Debug("agent unreachable", "backend", p.Name(), "server", s.Name(), "addr", addr, "reason", err.Error())
		return a.Interval
	}
	r := ParseAgentReply(line)
	if len(r.Unknown) > 0 {
		g.log.Debug("agent reply has unknown words", "backend", p.Name(), "server", s.Name(), "addr", addr, "words", r.Unknown)
	}
	g.apply(p, s, r, v)
	return a.Interval
}

// apply reports an agent's reply to the pool: weight, then admin state, then
// health. Each setter is idempotent and logs only changes.
func (g *Group) apply(p *backend.Pool, s *backend.Server, r AgentReply, v *verdicts) {
	if r.Percent >= 0 {
		p.SetAgentPercent(s, r.Percent)
	}
	if r.HasAdmin {
		reason := r.Desc
		if reason == "" {
			reason = "agent says " + r.Admin.String()
		}
		p.SetAdmin(s, r.Admin, reason)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	switch r.Health {
	case AgentDown:
		v.agentDown = true
		p.SetHealth(s, false, backend.Verdict{Check: "agent", Reason: r.Reason})
	case AgentUp:
		held := v.agentDown
		v.agentDown = false
		if !v.checked || held && v.checkUp {
			p.SetHealth(s, true, backend.Verdict{Check: "agent", Reason: r.Reason})
		}
	}
}

// withPort returns addr ("ip:port") with its port replaced by port, unless
// port is 0; "" if addr is "" or malformed.
func withPort(addr string, port int) string {
	if addr == "" || port == 0 {
		return addr
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}
