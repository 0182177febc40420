// Package http is the layer 7 proxy of the data plane. Its HTTP/1.1 path is
// purpose-built rather than net/http's: each client connection is read with
// a strict, zero-allocation parser (package h1), requests are matched
// against the frontend's rules, sent to a server over a pooled keep-alive
// connection with their bodies streamed, and the response is streamed back.
package http

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/park"
	"github.com/fulcrum-lb/fulcrum/internal/runtime"
)

// Options tune a Proxy. Zero values take the documented defaults.
type Options struct {
	// HeadSize is the largest request or response head accepted (16 KiB).
	HeadSize int
	// AccessLog receives one line per request; nil logs nothing.
	AccessLog *AccessLog
}

// Proxy serves http-mode frontends. Create it with New; Close stops it.
type Proxy struct {
	log    *slog.Logger
	opts   Options
	up     upstreams
	access *AccessLog
	h2     h2

	idPrefix uint64
	idSeq    atomic.Uint64

	sessions sync.Pool
	bufs     sync.Pool    // body copy buffers
	poller   *park.Poller // idle client connections; nil: they keep their goroutine

	stop chan struct{}
	wg   sync.WaitGroup

	// Draining (shutdown): idle sessions are closed, and busy ones close
	// after their response.
	draining atomic.Bool
	idleMu   sync.Mutex
	idle     map[*session]struct{}
	h2srv    map[h2server]struct{}

	attached atomic.Uint64 // connections made Go connections again after a bare start or parking
	spliced  atomic.Uint64 // response bodies moved with splice(2)

	h2jobs    chan *h2stream // streams for idle HTTP/2 workers (h2run)
	dateCache atomic.Pointer[dateValue]
}

// h2server is an HTTP/2 connection's server, which Drain shuts down: the
// standard library's, or an h2conn.
type h2server interface {
	Shutdown(ctx context.Context) error
}

// Drain makes every client connection close as soon as it has nothing in
// flight: idle keep-alive connections at once, others after the response
// under way (which says Connection: close), HTTP/2 ones after a GOAWAY.
func (p *Proxy) Drain() {
	p.draining.Store(true)
	p.idleMu.Lock()
	defer p.idleMu.Unlock()
	for s := range p.idle {
		if s.cc.Conn != nil {
			s.cc.Conn.SetReadDeadline(time.Unix(1, 0)) // wakes its wait for a request
		}
	}
	if p.poller != nil {
		p.poller.ExpireAll() // closes the parked ones, and refuses new ones
	}
	for srv := range p.h2srv {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				select {
				case <-p.stop:
				case <-ctx.Done():
				}
				cancel()
			}()
			srv.Shutdown(ctx)
			cancel()
		}()
	}
}

// park hands the idle connection of s to the poller for up to idle (no
// limit when 0), detached from its Go connection where it can be. False
// when it could not be parked: when shutting down, or when the kernel
// refused it (the connection then keeps its goroutine from now on, or is
// closed if it had been detached).
func (p *Proxy) park(s *session, idle time.Duration) bool {
	cn := s.cn
	if p.draining.Load() {
		return false
	}
	s.r.Release()
	cn.cc.lz = nil // the session's; a wake may come on another goroutine at once
	cn.parkedAt = mono()
	if !cn.detach() && cn.pk.FD < 0 {
		cn.pk.FD = park.FD(cn.raw) // parked with its Go connection
	}
	err := p.poller.Park(&cn.pk, idle)
	if err == nil {
		return true
	}
	if !errors.Is(err, park.ErrClosed) {
		p.log.Warn("idle connection kept with its goroutine", "frontend", cn.fe.Name, "client", cn.src.String(), "err", err)
		cn.pk.Owner = nil
	}
	if cn.detached && !cn.attach() {
		cn.cc.Conn = nil
	}
	return false
}

// enterIdle registers s as waiting for its next request; false when
// draining, and the session must close.
func (p *Proxy) enterIdle(s *session) bool {
	p.idleMu.Lock()
	defer p.idleMu.Unlock()
	if p.draining.Load() {
		return false
	}
	p.idle[s] = struct{}{}
	// The keep-alive time starts now (after a long response, the deadline
	// armed when the request was read may be long past). Arming it here,
	// under the lock, and not again in the read about to block, means a
	// Drain's past deadline always comes after it and wins.
	if t := s.cc.read; t > 0 {
		s.cc.waitFor(mono(), t)
	}
	return true
}

func (p *Proxy) leaveIdle(s *session) {
	p.idleMu.Lock()
	delete(p.idle, s)
	p.idleMu.Unlock()
}

// trackH2 registers an HTTP/2 connection's server while it serves, so
// Drain can shut it down; false when draining already.
func (p *Proxy) trackH2(srv h2server, on bool) bool {
	p.idleMu.Lock()
	defer p.idleMu.Unlock()
	if on && p.draining.Load() {
		return false
	}
	if on {
		p.h2srv[srv] = struct{}{}
	} else {
		delete(p.h2srv, srv)
	}
	return true
}

// New returns a Proxy logging to log, with a reaper of idle server
// connections running until Close.
func New(log *slog.Logger, o Options) *Proxy {
	if o.HeadSize <= 0 {
		o.HeadSize = 16 << 10
	}
	p := &Proxy{log: log, opts: o, access: o.AccessLog, stop: make(chan struct{}), idPrefix: rand.Uint64(),
		idle: make(map[*session]struct{}), h2srv: make(map[h2server]struct{}), h2jobs: make(chan *h2stream)}
	p.up = upstreams{headSize: o.HeadSize}
	p.bufs.New = func() any { b := make([]byte, 32<<10); return &b }
	pl, err := park.New()
	if err != nil {
		log.Warn("idle connections keep their goroutine", "err", err)
	}
	p.poller = pl
	p.wg.Add(1)
	go p.reaper()
	return p
}

func (p *Proxy) reaper() {
	defer p.wg.Done()
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.up.reap()
		}
	}
}

// Close stops the reaper and closes every idle server connection.
func (p *Proxy) Close() {
	close(p.stop)
	p.wg.Wait()
	if p.poller != nil {
		p.poller.Close()
	}
	p.up.closeAll()
	p.h2.plain.closeIdle()
}

// ConnTLS describes the TLS that fulcrum terminated on a client
// connection, for rules (ssl_* variables) and forwarded headers.
type ConnTLS struct {
	SNI, Version, ALPN string
	// ClientVerified says the client presented a certificate that
	// verified against the frontend's CA; ClientCN and ClientSHA256 are
	// that certificate's subject common name and fingerprint (hex).
	ClientVerified bool
	ClientCN       string
	ClientSHA256   string
}

// Owner is told of what happens to a client connection given to Serve.
type Owner interface {
	// Closed says the proxy is done with the connection: the owner
	// closes its socket (a TLS connection has sent close_notify).
	Closed()
	// Moved says the connection's socket is now served through c, after
	// it was parked detached (package park): c is what to close.
	Moved(c *net.TCPConn)
}

// Serve handles one client connection of fe until it ends, then calls
// done.Closed, which closes it. It may return before: a keep-alive
// connection that is idle between requests is parked (package park) and
// served again, on a new goroutine, when its next request arrives. raw is the TCP connection
// under c when nothing is buffered between the two (so that readability of
// raw is readability of c), or nil: then c is never parked. A c other than
// raw is dropped for raw when the connection is parked detached, if it
// says it is transparent (a method Transparent() bool). t describes the TLS fulcrum terminated on c, nil for plain HTTP
// (scheme http). ctx ends waits for a server slot.
func (p *Proxy) Serve(ctx context.Context, c net.Conn, fe *runtime.Frontend, t *ConnTLS, raw *net.TCPConn, done Owner) {
	if t != nil && t.ALPN == "h2" {
		p.serveH2(ctx, c, fe, t)
		c.Close()
		done.Closed()
		return
	}
	cn := &clientConn{p: p, ctx: ctx, fe: fe, done: done}
	cn.cc.reset(c, fe.TimeoutClient, fe.TimeoutClient)
	cn.tls = t
	cn.src = addrOf(c.RemoteAddr())
	cn.port = int32(portOf(c.LocalAddr()))
	cn.pk.FD = -1
	if raw != nil && p.poller != nil {
		cn.raw, cn.pk.Owner = raw, cn
	}
	cn.serve(true)
}

// Attached counts the times a client connection accepted bare, or parked
// detached, became a Go connection again: for a read or write that had to
// wait, an h2c preface, a tunnel or a PROXY header to a server.
func (p *Proxy) Attached() uint64 { return p.attached.Load() }

// Spliced counts the response bodies moved from server to client with
// splice(2).
func (p *Proxy) Spliced() uint64 { return p.spliced.Load() }

// Parked returns how many client connections are parked, idle.
func (p *Proxy) Parked() int {
	if p.poller == nil {
		return 0
	}
	return p.poller.Len()
}

// CanServeFD says whether ServeFD may be given connections: only where
// idle connections can be parked (Linux).
func (p *Proxy) CanServeFD() bool { return p.poller != nil }

// ServeFD is Serve for a plain HTTP connection accepted without a Go
// connection: fd is its socket (non-blocking), src its client, port the
// local port. It is served from fd as long as nothing has to wait, and
// becomes a Go connection (done.Moved) when something does: a connection
// that makes one request and is closed never registers with Go's network
// poller. ServeFD owns fd from the call on: it is closed before
// done.Closed.
func (p *Proxy) ServeFD(ctx context.Context, fd int, src netip.AddrPort, port int, fe *runtime.Frontend, done Owner) {
	cn := &clientConn{p: p, ctx: ctx, fe: fe, done: done}
	cn.cc.reset(nil, fe.TimeoutClient, fe.TimeoutClient)
	cn.src = src.Addr().Unmap()
	cn.port = int32(port)
	cn.pk.FD, cn.detached, cn.pk.Owner = fd, true, cn
	cn.serve(true)
}

// requestID returns a new request ID: a per-process random prefix and a
// sequence number, as 24 hex digits.
func (p *Proxy) requestID(dst []byte) []byte {
	n := p.idSeq.Add(1)
	dst = appendHex(dst, p.idPrefix, 16)
	return appendHex(dst, n, 8)
}

func appendHex(dst []byte, v uint64, digits int) []byte {
	const hex = "0123456789abcdef"
	for i := digits - 1; i >= 0; i-- {
		dst = append(dst, hex[(v>>(uint(i)*4))&0xf])
	}
	return dst
}

func portOf(a net.Addr) int {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.Port
	}
	_, ps, _ := net.SplitHostPort(a.String())
	n, _ := strconv.Atoi(ps)
	return n
}
