package http

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/backend"
	"github.com/fulcrum-lb/fulcrum/internal/proxy/http/h1"
	"github.com/fulcrum-lb/fulcrum/internal/splice"
)

// upConn is one connection to a server, with its response reader.
type upConn struct {
	c       net.Conn
	private bool      // carries one client's PROXY header: never pooled
	tc      timedConn // c with the current exchange's timeouts; r reads through it
	r       *h1.Reader
	idle    int64           // when it went back to the pool (mono)
	reuse   int             // requests it has carried before the current one
	rc      syscall.RawConn // c's, for sendAndWait; nil for TLS
	ww      writeWaiter
}

// idlePool holds a server's idle connections, most recently used first.
type idlePool struct {
	mu          sync.Mutex
	conns       []*upConn
	idleTimeout time.Duration // the last one its backend asked for
}

// upstreams are the idle connection pools of every server, keyed by the
// server's long-lived State so they survive snapshot rebuilds. Safe for
// concurrent use.
type upstreams struct {
	headSize int
	pools    sync.Map // *backend.State → *idlePool
}

func (u *upstreams) pool(st *backend.State) *idlePool {
	if p, ok := u.pools.Load(st); ok {
		return p.(*idlePool)
	}
	p, _ := u.pools.LoadOrStore(st, &idlePool{})
	return p.(*idlePool)
}

// dialOpts are what a new server connection needs besides its address.
type dialOpts struct {
	timeout     time.Duration
	idleTimeout time.Duration
	tls         *tls.Config // TLS to the server, or nil
	proxyHeader []byte      // a PROXY protocol header to send first, or nil
}

// get returns an idle connection to srv if one is fresh enough, else dials
// a new one. reused says which. A connection that must carry a PROXY
// header is always new and never pooled: it speaks for one client.
func (u *upstreams) get(ctx context.Context, srv *backend.Server, o dialOpts) (uc *upConn, reused bool, err error) {
	if o.proxyHeader != nil {
		uc, err := u.dial(ctx, srv, o)
		return uc, false, err
	}
	p := u.pool(srv.State)
	now := mono()
	p.mu.Lock()
	for len(p.conns) > 0 {
		uc = p.conns[len(p.conns)-1]
		p.conns = p.conns[:len(p.conns)-1]
		if time.Duration(now-uc.idle) < o.idleTimeout {
			p.mu.Unlock()
			return uc, true, nil
		}
		uc.c.Close()
	}
	p.mu.Unlock()
	uc, err = u.dial(ctx, srv, o)
	return uc, false, err
}

// dial opens a new connection to srv: TCP, the PROXY header, TLS.
func (u *upstreams) dial(ctx context.Context, srv *backend.Server, o dialOpts) (*upConn, error) {
	d := net.Dialer{Timeout: o.timeout, KeepAlive: -1} // no TCP keep-alive probes, as in HAProxy and nginx
	c, err := d.DialContext(ctx, "tcp", srv.State.Addr())
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		splice.BoundReceive(tc) // a response body may be spliced from it (Go sets TCP_NODELAY)
	}
	if o.proxyHeader != nil {
		c.SetWriteDeadline(time.Now().Add(o.timeout))
		if _, err := c.Write(o.proxyHeader); err != nil {
			c.Close()
			return nil, err
		}
		c.SetWriteDeadline(time.Time{})
	}
	if o.tls != nil {
		tc := tls.Client(c, o.tls)
		hctx, cancel := context.WithTimeout(ctx, o.timeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			c.Close()
			return nil, err
		}
		c = tc
	}
	uc := &upConn{c: c, private: o.proxyHeader != nil}
	if tc, ok := c.(*net.TCPConn); ok {
		if rc, err := tc.SyscallConn(); err == nil {
			uc.rc = rc
		}
	}
	uc.tc.reset(c, 0, 0)
	uc.r = h1.NewReader(&uc.tc, u.headSize)
	return uc, nil
}

// put returns a connection whose exchange ended cleanly to its server's pool,
// or closes it when the pool is full. now is the time (mono). Its
// deadlines stay armed: nothing waits on an idle connection, and the next
// exchange re-arms them when they are due (timedConn).
func (u *upstreams) put(srv *backend.Server, uc *upConn, maxIdle int, idleTimeout time.Duration, now int64) {
	if uc.r.Buffered() > 0 || uc.private { // more than it should have, or one client's
		uc.c.Close()
		return
	}
	uc.r.Release()
	uc.idle = now
	uc.reuse++
	p := u.pool(srv.State)
	p.mu.Lock()
	p.idleTimeout = idleTimeout
	if len(p.conns) < maxIdle {
		p.conns = append(p.conns, uc)
		uc = nil
	}
	p.mu.Unlock()
	if uc != nil {
		uc.c.Close()
	}
}

// reap closes connections idle for longer than the idle timeout.
func (u *upstreams) reap() {
	now := mono()
	u.pools.Range(func(_, v any) bool {
		p := v.(*idlePool)
		p.mu.Lock()
		keep := p.conns[:0]
		for _, uc := range p.conns {
			if time.Duration(now-uc.idle) >= p.idleTimeout {
				uc.c.Close()
			} else {
				keep = append(keep, uc)
			}
		}
		clear(p.conns[len(keep):])
		p.conns = keep
		p.mu.Unlock()
		return true
	})
}

// closeAll closes every idle connection.
func (u *upstreams) closeAll() {
	u.pools.Range(func(k, v any) bool {
		p := v.(*idlePool)
		p.mu.Lock()
		for _, uc := range p.conns {
			uc.c.Close()
		}
		p.conns = nil
		p.mu.Unlock()
		u.pools.Delete(k)
		return true
	})
}

// sendAndWait writes b, then waits until the server's answer can be read,
// within the read deadline. Reading right after the write would nearly
// always find nothing yet and cost a system call per request for it; here
// the first read comes when there is something to read. Only the server
// can make the connection readable once the request is out (a close it
// sent before is followed by a reset of the write), so no readiness is
// missed.
func (uc *upConn) sendAndWait(b []byte) error {
	if uc.rc == nil {
		_, err := uc.tc.Write(b)
		return err
	}
	uc.tc.armRead()
	sent, werr, err := uc.ww.do(uc.rc, b)
	switch {
	case werr == syscall.EAGAIN:
		_, err = uc.tc.Write(b[sent:]) // a full socket buffer: the rest as usual
		return err
	case werr != nil:
		return werr
	case sent < len(b):
		return err // the wait failed before the write: closed
	}
	return nil // sent; a failed wait shows in the read that follows
}

// writeWaiter writes a buffer to a connection and then waits until the
// connection is readable, in one RawConn.Read: no read is tried before
// there is something to read. It is only for connections where nothing
// can arrive before the write (the wait starts by forgetting readiness
// seen before it). Not safe for concurrent use.
type writeWaiter struct {
	fn    func(fd uintptr) bool // step, made once: no allocation per use
	out   []byte
	sent  int
	wrote bool
	werr  error
}

// do writes b on rc at once (it does not wait to write), then waits for
// readability unless the write failed or was partial. It returns how much
// was written, the write's error (syscall.EAGAIN when the socket buffer
// was full) and the wait's.
func (w *writeWaiter) do(rc syscall.RawConn, b []byte) (sent int, werr, err error) {
	if w.fn == nil {
		w.fn = w.step
	}
	w.out, w.sent, w.wrote, w.werr = b, 0, false, nil
	err = rc.Read(w.fn)
	sent, werr = w.sent, w.werr
	if werr == nil && sent < len(b) && err == nil {
		werr = syscall.EAGAIN
	}
	w.out, w.werr = nil, nil
	return sent, werr, err
}

// step is do's callback: true ends the wait.
func (w *writeWaiter) step(fd uintptr) bool {
	if w.wrote {
		return true // readable
	}
	w.wrote = true
	n, err := sysWrite(int(fd), w.out)
	w.sent = n
	if err != nil {
		w.werr = err // syscall.EAGAIN when the socket buffer is full
		return true
	}
	return false
}
