// Package daemon runs fulcrum: it builds the runtime snapshot from a
// configuration, binds the frontends' addresses, accepts connections, passes
// each through the connection gates (global and frontend maxconn) to its
// mode's handler, and shuts down gracefully. It owns every goroutine it
// starts.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/config"
	"github.com/fulcrum-lb/fulcrum/internal/park"
	httpproxy "github.com/fulcrum-lb/fulcrum/internal/proxy/http"
	"github.com/fulcrum-lb/fulcrum/internal/proxy/tcp"
	"github.com/fulcrum-lb/fulcrum/internal/runtime"
)

// Daemon is a running fulcrum.
type Daemon struct {
	log         *slog.Logger
	shared      *runtime.Shared
	store       runtime.Store
	tcp         *tcp.Proxy
	http        *httpproxy.Proxy
	access      *httpproxy.AccessLog // nil: no access log
	closeAccess func()

	listeners []*listener
	conns     tracker
	// rawAccepted counts the connections accepted as bare descriptors
	// (rawAccepter).
	rawAccepted atomic.Int64
	loops       sync.WaitGroup // accept loops
	handlers    sync.WaitGroup // open client connections
	// Workers serve accepted connections; one that is done waits on jobs
	// for the next, so that its grown stack serves again instead of a new
	// goroutine growing its own. At most maxIdleWorkers wait.
	jobs        chan connJob
	workers     sync.WaitGroup
	idleWorkers atomic.Int32

	shutdown sync.Once
	forced   int

	// ctx ends waits in queues when the grace period is over.
	ctx    context.Context
	cancel context.CancelFunc
}

type listener struct {
	ln       *net.TCPListener
	frontend string
}

// New builds cfg and binds every frontend's addresses. On any error nothing
// is left bound or running.
func New(cfg *config.Config, sh *runtime.Shared) (*Daemon, error) {
	ctx, cancel := context.WithCancel(context.Background())
	d := &Daemon{log: sh.Logger, shared: sh, tcp: &tcp.Proxy{Log: sh.Logger}, ctx: ctx, cancel: cancel, jobs: make(chan connJob)}
	snap, err := runtime.Build(ctx, cfg, sh)
	if err != nil {
		cancel()
		return nil, err
	}
	// No TCP keep-alive probes on client connections, as in HAProxy and
	// NGINX by default: timeout_client bounds idleness, and Go's default
	// (probes after 15 s) costs four setsockopt calls per connection.
	for _, fe := range snap.Frontends {
		lc := net.ListenConfig{KeepAlive: -1}
		// Plain TCP, as HAProxy and NGINX listen by default. Go listens
		// with MPTCP where the kernel has it, which costs every accepted
		// connection the MPTCP handshake bookkeeping even when the client
		// speaks plain TCP, and refuses TCP_QUICKACK.
		lc.SetMultipathTCP(false)
		if fe.Mode == config.ModeHTTP {
			lc.Control = deferAccept(fe.TimeoutClient)
		}
		for _, addr := range fe.Binds {
			ln, err := lc.Listen(ctx, "tcp", addr)
			if err == nil && fe.Mode == config.ModeHTTP {
				if err = delayFirstAck(ln); err != nil {
					ln.Close()
				}
			}
			if err != nil {
				for _, l := range d.listeners {
					l.ln.Close()
				}
				snap.Close()
				cancel()
				return nil, fmt.Errorf("frontend %s: %w", fe.Name, err)
			}
			d.listeners = append(d.listeners, &listener{ln: ln.(*net.TCPListener), frontend: fe.Name})
		}
	}
	access, closeAccess, err := openAccessLog(cfg)
	if err != nil {
		for _, l := range d.listeners {
			l.ln.Close()
		}
		snap.Close()
		cancel()
		return nil, err
	}
	d.access, d.closeAccess = access, closeAccess
	d.http = httpproxy.New(sh.Logger, httpproxy.Options{AccessLog: d.access})
	if pl, err := park.New(); err == nil {
		d.tcp.Poller = pl
	} else {
		d.log.Warn("idle tcp-mode connections keep their goroutines", "err", err)
	}
	snap.Start(sh, cfg.Global.ResolveInterval.D())
	d.store.Swap(snap)
	return d, nil
}

// openAccessLog opens the access log cfg asks for, if any frontend is in
// http mode. The returned func closes it.
func openAccessLog(cfg *config.Config) (*httpproxy.AccessLog, func(), error) {
	none := func() {}
	http := false
	for _, f := range cfg.Frontends {
		http = http || f.Mode == config.ModeHTTP
	}
	al := cfg.Global.AccessLog
	if !http || al.Target == "off" || al.Target == "" {
		return nil, none, nil
	}
	var w io.Writer
	closeFile := none
	switch al.Target {
	case "stdout":
		w = os.Stdout
	case "stderr":
		w = os.Stderr
	default:
		f, err := os.OpenFile(al.Target, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, none, fmt.Errorf("access_log: %w", err)
		}
		w = f
		closeFile = func() { f.Close() }
	}
	l := httpproxy.NewAccessLog(w, al.Format == "json")
	return l, func() { l.Close(); closeFile() }, nil
}

// Addrs returns the bound addresses of frontend name (useful with port 0).
func (d *Daemon) Addrs(name string) []net.Addr {
	var out []net.Addr
	for _, l := range d.listeners {
		if l.frontend == name {
			out = append(out, l.ln.Addr())
		}
	}
	return out
}

// Snapshot returns the current runtime snapshot.
func (d *Daemon) Snapshot() *runtime.Snapshot { return d.store.Load() }

// Start starts accepting on every listener.
func (d *Daemon) Start() {
	for _, l := range d.listeners {
		d.log.Info("listening", "frontend", l.frontend, "addr", l.ln.Addr().String())
		d.loops.Add(1)
		go d.accept(l)
	}
}

// accept runs one listener's accept loop until the listener is closed.
func (d *Daemon) accept(l *listener) {
	defer d.loops.Done()
	raw, rawErr := newRawAccepter(l.ln)
	port := l.ln.Addr().(*net.TCPAddr).Port
	var backoff time.Duration
	for {
		var (
			c   *net.TCPConn
			fd  = -1
			src netip.AddrPort
			err error
		)
		if rawErr == nil && d.rawEligible(d.store.Load().Frontend(l.frontend)) {
			if fd, src, err = raw.accept(); errors.Is(err, errWouldBlock) {
				err = nil
			}
		}
		if fd < 0 && err == nil {
			c, err = l.ln.AcceptTCP() // waits
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors or similar: wait and try again.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			d.log.Error("accept failed", "frontend", l.frontend, "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if fd >= 0 {
			d.rawAccepted.Add(1)
		}
		cs := &connState{d: d, c: c, fd: fd, src: src, port: port}
		if !d.conns.add(cs) {
			cs.closeSocket() // shutting down
			continue
		}
		d.handlers.Add(1)
		d.dispatch(connJob{cs, l.frontend})
	}
}

// connJob is an accepted connection and its frontend's name.
type connJob struct {
	cs   *connState
	name string
}

// maxIdleWorkers bounds the workers waiting for a connection.
const maxIdleWorkers = 64

// dispatch hands j to a waiting worker, or to a new one.
func (d *Daemon) dispatch(j connJob) {
	select {
	case d.jobs <- j:
	default:
		d.workers.Add(1)
		go d.worker(j)
	}
}

// worker serves j, then the connections dispatched to it while it waits,
// until too many wait or the daemon stops.
func (d *Daemon) worker(j connJob) {
	defer d.workers.Done()
	for {
		d.handle(j.cs, j.name)
		if d.idleWorkers.Add(1) > maxIdleWorkers {
			d.idleWorkers.Add(-1)
			return
		}
		select {
		case j = <-d.jobs:
			d.idleWorkers.Add(-1)
		case <-d.ctx.Done():
			d.idleWorkers.Add(-1)
			return
		}
	}
}

// handle passes one connection through the gates to its mode's handler.
func (d *Daemon) handle(cs *connState, name string) {
	snap := d.store.Load()
	fe := snap.Frontend(name)
	fe.Counters.Conns.Add(1)
	fe.Counters.Active.Add(1)
	cs.fe, cs.snap = fe, snap
	if err := snap.Global.Acquire(d.ctx, fe.TimeoutQueue); err != nil {
		d.limited(fe, cs, "global maxconn", err)
		cs.Closed()
		return
	}
	cs.global = true
	if err := fe.Limiter.Acquire(d.ctx, fe.TimeoutQueue); err != nil {
		d.limited(fe, cs, "frontend maxconn", err)
		cs.Closed()
		return
	}
	cs.frontend = true
	d.serve(cs, fe)
}

// connState is what a client connection holds until it is closed: its
// places in the gates, its count, its entry in the tracker. An http-mode
// connection can outlive its first goroutine (idle ones are parked), so
// these are given back by Closed rather than by handle's return.
type connState struct {
	d *Daemon
	c *net.TCPConn // nil while the connection is a bare descriptor
	// fd is the descriptor of a connection accepted bare (rawAccepter),
	// until it is handed to the http proxy or given a Go connection; -1
	// otherwise. src is its client, port the listener's port.
	fd               int
	src              netip.AddrPort
	port             int
	fe               *runtime.Frontend
	snap             *runtime.Snapshot
	global, frontend bool
	prev, next       *connState // in the tracker
}

// Closed closes the connection and gives back what it held. It is called
// once per connection.
func (cs *connState) Closed() {
	cs.closeSocket()
	if cs.frontend {
		cs.fe.Limiter.Release()
	}
	if cs.global {
		cs.snap.Global.Release()
	}
	cs.fe.Counters.Active.Add(-1)
	cs.d.conns.remove(cs)
	cs.d.handlers.Done()
}

func (d *Daemon) limited(fe *runtime.Frontend, cs *connState, which string, err error) {
	if d.ctx.Err() != nil {
		return
	}
	fe.Counters.LimitTimeout.Add(1)
	d.log.Warn("connection closed at limit", "frontend", fe.Name, "client", cs.client(), "limit", which, "reason", err.Error())
}

// closeSocket closes the connection's socket: its Go connection, or its
// descriptor while it is a bare one.
func (cs *connState) closeSocket() {
	if cs.c != nil {
		cs.c.Close()
	}
	if cs.fd >= 0 {
		syscall.Close(cs.fd)
		cs.fd = -1
	}
}

// client is the client's address, for logs.
func (cs *connState) client() string {
	if cs.c != nil {
		return cs.c.RemoteAddr().String()
	}
	return cs.src.String()
}

// rawEligible says whether fe's connections may be accepted bare: plain
// HTTP, no PROXY protocol header to read first, and an http proxy that can
// serve them (it parks idle connections).
func (d *Daemon) rawEligible(fe *runtime.Frontend) bool {
	return fe != nil && fe.Mode == config.ModeHTTP && fe.TLS == nil && len(fe.AcceptProxy) == 0 && d.http.CanServeFD()
}

// Shutdown stops accepting, lets established connections finish for up to
// grace, then closes the rest and stops everything. It returns the number of
// connections it had to close. Later calls return the same number.
func (d *Daemon) Shutdown(grace time.Duration) int {
	d.shutdown.Do(func() { d.forced = d.shutdownOnce(grace) })
	return d.forced
}

func (d *Daemon) shutdownOnce(grace time.Duration) int {
	for _, l := range d.listeners {
		l.ln.Close()
	}
	d.loops.Wait()
	d.conns.closeNew()
	d.http.Drain() // idle keep-alive connections close now, busy ones after their response
	done := make(chan struct{})
	go func() { d.handlers.Wait(); close(done) }()
	forced := 0
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		d.cancel()
		forced = d.conns.closeAll()
		if d.tcp.Poller != nil {
			d.tcp.Poller.ExpireAll() // idle tcp-mode connections
		}
		<-done
	}
	d.cancel()
	d.workers.Wait()
	d.http.Close()
	if d.tcp.Poller != nil {
		d.tcp.Poller.Close()
	}
	d.closeAccess()
	if snap := d.store.Load(); snap != nil {
		snap.Close()
	}
	return forced
}

// Moved makes c the connection to close (httpproxy.Owner).
func (cs *connState) Moved(c *net.TCPConn) {
	cs.d.conns.mu.Lock()
	cs.c = c
	cs.d.conns.mu.Unlock()
}

// tracker remembers open client connections so shutdown can close them.
type tracker struct {
	mu     sync.Mutex
	head   *connState
	n      int
	closed bool
}

func (t *tracker) add(cs *connState) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	cs.next = t.head
	if t.head != nil {
		t.head.prev = cs
	}
	t.head = cs
	t.n++
	return true
}

func (t *tracker) remove(cs *connState) {
	t.mu.Lock()
	if cs.prev != nil {
		cs.prev.next = cs.next
	} else {
		t.head = cs.next
	}
	if cs.next != nil {
		cs.next.prev = cs.prev
	}
	cs.prev, cs.next = nil, nil
	t.n--
	t.mu.Unlock()
}

func (t *tracker) closeNew() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
}

func (t *tracker) closeAll() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	for cs := t.head; cs != nil; cs = cs.next {
		if cs.c != nil {
			cs.c.Close()
		}
	}
	return t.n
}
