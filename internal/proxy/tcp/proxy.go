// Package tcp is the layer 4 proxy of the data plane: for each client
// connection it picks a server, dials it (retrying other servers on connect
// failure), then copies bytes both ways with splice(2), propagating
// half-close and enforcing inactivity timeouts.
package tcp

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/backend"
	"github.com/fulcrum-lb/fulcrum/internal/balance"
	"github.com/fulcrum-lb/fulcrum/internal/park"
	"github.com/fulcrum-lb/fulcrum/internal/proxyproto"
	"github.com/fulcrum-lb/fulcrum/internal/runtime"
)

// Proxy serves tcp-mode connections. The zero value is not usable: set Log.
type Proxy struct {
	// Log receives one line per connection that could not be served.
	Log *slog.Logger
	// Dial dials a server; nil means a net.Dialer with the connect timeout.
	Dial func(ctx context.Context, addr string, timeout time.Duration) (*net.TCPConn, error)
	// Poller, when set, holds the idle directions of connections whose
	// client and server sides are both plain TCP (see session), so that an
	// idle connection holds no goroutine. Its ExpireAll closes them.
	Poller *park.Poller
}

func dialTCP(ctx context.Context, addr string, timeout time.Duration) (*net.TCPConn, error) {
	d := net.Dialer{Timeout: timeout, KeepAlive: -1} // no TCP keep-alive probes
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// Serve proxies client to a server of fe's backend, closes client when
// done and then calls closed (when set). It may return before that: a
// connection parked with Poller goes on without a goroutine of its own.
// ctx ends the wait for a server (shutdown), not an established copy.
// When client is a *net.TCPConn the bytes move with splice(2); otherwise
// (TLS terminated here) they are copied through a buffer.
func (p *Proxy) Serve(ctx context.Context, client net.Conn, fe *runtime.Frontend, t Target, closed func()) {
	// end is what closing the connection takes; nil once a session owns it.
	end := func() {
		client.Close()
		if closed != nil {
			closed()
		}
	}
	defer func() {
		if end != nil {
			end()
		}
	}()
	be := t.Backend
	if be == nil {
		be = fe.Backend
	}
	if !t.Client.IsValid() {
		t.Client = addrPort(client.RemoteAddr())
	}
	if !t.Dst.IsValid() {
		t.Dst = addrPort(client.LocalAddr())
	}
	src := t.Client.Addr()
	if be == nil {
		fe.Counters.NoServer.Add(1)
		p.Log.Warn("connection closed without a server", "frontend", fe.Name, "client", src.String(), "reason", "no backend for this connection")
		return
	}
	to := runtime.Effective(fe, be)
	req := balance.Request{Client: src, Hash: balance.HashAddr(src)}

	srv, conn, err := p.connect(ctx, be, &req, to)
	if err != nil {
		p.refuse(fe, be, src, err)
		return
	}
	closeClient := end
	end = func() {
		conn.Close()
		srv.Release()
		closeClient()
	}
	var pre []byte
	switch be.SendProxy {
	case "v1":
		pre = proxyproto.AppendV1(pre, t.Client, t.Dst)
	case "v2":
		pre = proxyproto.AppendV2(pre, t.Client, t.Dst)
	}
	pre = append(pre, t.Preamble...)
	if len(pre) > 0 {
		conn.SetWriteDeadline(time.Now().Add(to.Server))
		if _, err := conn.Write(pre); err != nil {
			return
		}
		conn.SetWriteDeadline(time.Time{})
	}
	var server net.Conn = conn
	if be.ServerTLS != nil {
		tc := tls.Client(conn, be.ServerTLS[srv.Index()])
		hctx, cancel := context.WithTimeout(ctx, to.Connect)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			be.Pool.ReportConnect(srv, err)
			p.Log.Warn("TLS to server failed", "frontend", fe.Name, "backend", be.Name, "server", srv.Name(), "err", err)
			return
		}
		server = tc
	}
	up, down := counters(fe.Counters, &srv.State.Counters)
	if cl, ok := client.(*net.TCPConn); ok && p.Poller != nil && server == net.Conn(conn) {
		tuneSocket(cl)
		tuneSocket(conn)
		done := end
		end = nil // the session's now
		startSession(cl, conn, p.Poller, to.Client, to.Server, up, down, done)
		return
	}
	pipe(client, server, to, up, down)
}

// Target says where a connection goes beyond the frontend's defaults.
type Target struct {
	// Backend replaces the frontend's use_backend (SNI routing), when set.
	Backend *runtime.Backend
	// Preamble is written to the server before anything of the client's
	// (after a PROXY protocol header, when the backend sends one): bytes
	// already read from the client to route it, such as a ClientHello.
	Preamble []byte
	// Client and Dst, when valid, are the client's and the address it
	// connected to as a PROXY protocol header told them (accept_proxy);
	// otherwise the connection's own addresses count.
	Client, Dst netip.AddrPort
}

// addrPort returns a's address and port.
func addrPort(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}

// connect acquires a server and dials it, trying another server (or, with
// one server, the same again) up to to.Retries times after a failed connect.
func (p *Proxy) connect(ctx context.Context, be *runtime.Backend, req *balance.Request, to runtime.Timeouts) (*backend.Server, *net.TCPConn, error) {
	dial := p.Dial
	if dial == nil {
		dial = dialTCP
	}
	var (
		a       backend.Attempt
		lastErr error
	)
	for try := 0; try <= to.Retries; try++ {
		srv, err := be.Pool.Acquire(ctx, req, &a, to.Queue)
		if errors.Is(err, backend.ErrNoServer) && lastErr != nil {
			a = backend.Attempt{} // every server tried: start the round again
			srv, err = be.Pool.Acquire(ctx, req, &a, to.Queue)
		}
		if err != nil {
			if lastErr != nil && errors.Is(err, backend.ErrNoServer) {
				return nil, nil, &connectError{lastErr}
			}
			return nil, nil, err
		}
		began := time.Now()
		conn, err := dial(ctx, srv.State.Addr(), to.Connect)
		be.Pool.ReportConnect(srv, err)
		if err == nil {
			// In tcp mode the connect time is the response time that
			// leasttime balances on.
			now := time.Now()
			srv.State.Load.Observe(int64(now.Sub(began)), now.UnixNano())
			return srv, conn, nil
		}
		srv.Release()
		p.Log.Debug("connect failed", "backend", be.Name, "server", srv.Name(), "addr", srv.State.Addr(), "err", err, "try", try+1)
		lastErr = err
	}
	return nil, nil, &connectError{lastErr}
}

// connectError means every connect attempt failed.
type connectError struct{ err error }

func (e *connectError) Error() string { return "connect failed: " + e.err.Error() }
func (e *connectError) Unwrap() error { return e.err }

// refuse counts and logs a client closed without a server.
func (p *Proxy) refuse(fe *runtime.Frontend, be *runtime.Backend, src netip.Addr, err error) {
	var ce *connectError
	switch {
	case errors.Is(err, backend.ErrNoServer):
		fe.Counters.NoServer.Add(1)
	case errors.Is(err, backend.ErrQueueTimeout):
		fe.Counters.QueueTimeout.Add(1)
	case errors.As(err, &ce):
		fe.Counters.ConnectFail.Add(1)
	default: // shutting down
		return
	}
	p.Log.Warn("connection closed without a server", "frontend", fe.Name, "backend", be.Name, "client", src.String(), "reason", err.Error())
}

// counters returns the functions that count the bytes a connection moves
// up (client to server) and down.
func counters(fc *runtime.FrontendCounters, sc *backend.Counters) (up, down func(int64)) {
	up = func(n int64) {
		fc.BytesIn.Add(uint64(n))
		sc.BytesIn.Add(uint64(n))
	}
	down = func(n int64) {
		fc.BytesOut.Add(uint64(n))
		sc.BytesOut.Add(uint64(n))
	}
	return up, down
}

// closeWriter is a connection that can half-close (TCP, TLS).
type closeWriter interface{ CloseWrite() error }

func closeWrite(c net.Conn) {
	if cw, ok := c.(closeWriter); ok {
		cw.CloseWrite()
	}
}

// unsentLimit is how many bytes not yet sent a socket that pipe writes to
// may hold before writes wait (TCP_NOTSENT_LOWAT, Linux). Without a limit
// a splice moves up to its whole 1 MiB pipe into the send queue, which then
// goes out as the peer's acknowledgements come, from whichever CPU handles
// them; with it, the proxy's own splices send, and less data sits queued.
// One iperf3 stream through fulcrum pinned to one core, the client and
// server to the other (bench/tcp.sh): 0.75 → 0.88 of direct with 16 KiB;
// 4 to 64 KiB measured alike.
const unsentLimit = 16 << 10

// pipe copies both ways until both directions are done. A direction that
// ends cleanly half-closes the other side; one that fails closes both, which
// ends the other direction too.
func pipe(client, server net.Conn, to runtime.Timeouts, up, down func(int64)) {
	tuneSocket(client)
	tuneSocket(server)
	var once sync.Once
	abort := func() {
		once.Do(func() {
			client.Close()
			server.Close()
		})
	}
	act := newActivity()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := copyAny(server, client, to.Client, to.Server, act, up)
		if err != nil {
			abort()
			return
		}
		closeWrite(server)
	}()
	_, err := copyAny(client, server, to.Server, to.Client, act, down)
	if err != nil {
		abort()
	} else {
		closeWrite(client)
	}
	<-done
}
