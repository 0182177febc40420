package http

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/backend"
	"github.com/fulcrum-lb/fulcrum/internal/balance"
	"github.com/fulcrum-lb/fulcrum/internal/park"
	"github.com/fulcrum-lb/fulcrum/internal/proxy/http/h1"
	"github.com/fulcrum-lb/fulcrum/internal/rules"
	"github.com/fulcrum-lb/fulcrum/internal/runtime"
)

// epoch anchors mono. It is set once, when the process starts.
var epoch = time.Now()

// mono is the time since epoch on the monotonic clock, in nanoseconds: one
// clock read, where time.Now makes two (the wall clock too).
func mono() int64 { return int64(time.Since(epoch)) }

// monoTime is the time.Time of a mono reading.
func monoTime(m int64) time.Time { return epoch.Add(time.Duration(m)) }

// timedConn keeps an inactivity deadline ahead of every read and write, so
// a slow but live stream never times out and a silent one does. Re-arming a
// deadline costs a timer update, so it is done only when less than 15/16 of
// the timeout is left: a silent peer is cut off between 15/16 of the
// timeout and the timeout after its last byte.
type timedConn struct {
	net.Conn
	read, write           time.Duration
	readUntil, writeUntil int64 // the deadlines in effect (mono); 0: none yet
	// keep leaves the read deadline as it is for the next read: the wait
	// for the next request, whose deadline is set apart.
	keep bool
	// lz, when set, reads and writes Conn (a *net.TCPConn) so that a
	// deadline never armed yet is armed only for a call that waits; or,
	// while Conn is nil, the descriptor of a connection accepted without
	// a Go connection (lazyIO.readFD).
	lz *lazyIO
}

func (t *timedConn) Read(p []byte) (int, error) {
	if t.Conn == nil && t.lz != nil {
		return t.lz.readFD(t, p)
	}
	if t.keep {
		t.keep = false
		return t.Conn.Read(p)
	}
	if t.lz != nil && t.read > 0 && t.readUntil == 0 {
		if c, ok := t.Conn.(*net.TCPConn); ok {
			return t.lz.do(t, c, p, false)
		}
	}
	t.armRead()
	return t.Conn.Read(p)
}

func (t *timedConn) Write(p []byte) (int, error) {
	if t.Conn == nil && t.lz != nil {
		return t.lz.writeFD(t, p)
	}
	if t.lz != nil && t.write > 0 && t.writeUntil == 0 {
		if c, ok := t.Conn.(*net.TCPConn); ok {
			return t.lz.do(t, c, p, true)
		}
	}
	t.armWrite()
	return t.Conn.Write(p)
}

// armWrite re-arms the write deadline when it is due.
func (t *timedConn) armWrite() {
	if t.write > 0 {
		if now := mono(); t.writeUntil-now < int64(t.write-t.write/16) {
			t.writeUntil = now + int64(t.write)
			t.Conn.SetWriteDeadline(monoTime(t.writeUntil))
		}
	}
}

// armRead re-arms the read deadline as a Read would, for a wait that is
// not a Read.
func (t *timedConn) armRead() {
	if t.read > 0 {
		if now := mono(); t.readUntil-now < int64(t.read-t.read/16) {
			t.readUntil = now + int64(t.read)
			t.Conn.SetReadDeadline(monoTime(t.readUntil))
		}
	}
}

// waitFor sets the deadline of the next read alone to now+d (mono).
func (t *timedConn) waitFor(now int64, d time.Duration) {
	t.readUntil = now + int64(d)
	t.Conn.SetReadDeadline(monoTime(t.readUntil))
	t.keep = true
}

// reset points t at c with new timeouts, to be armed on first use.
func (t *timedConn) reset(c net.Conn, read, write time.Duration) {
	*t = timedConn{Conn: c, read: read, write: write}
}

// setTimeouts changes the timeouts of t; deadlines already armed stay when
// the timeouts are the same.
func (t *timedConn) setTimeouts(read, write time.Duration) {
	if read != t.read || write != t.write {
		t.read, t.write, t.readUntil, t.writeUntil = read, write, 0, 0
	}
}

// clientConn is one client connection: what it keeps while it lives,
// whether a session serves it or it is parked between requests (package
// park), when it holds no goroutine and no buffer.
type clientConn struct {
	p    *Proxy
	ctx  context.Context
	fe   *runtime.Frontend
	cc   timedConn
	tls  *ConnTLS // nil for plain connections
	src  netip.Addr
	done Owner // told once the connection is closed
	// raw is the TCP connection under cc.Conn, nil while detached (see
	// Proxy.park). pk.Owner is nil when the connection is never parked.
	raw *net.TCPConn
	pk  park.Conn
	// parkedAt is when the connection was last parked (mono); busy says its client sent its last request soon after
	// the one before (so it waits before it is parked).
	parkedAt int64
	port     int32
	busy     bool
	detached bool
	// pipelines says the client may send a request before it has the
	// answer to the one before, so the wait for a request must not begin
	// with the response (respondAndWait); lateWait says the last such
	// wait ran out, to check on waking whether a request had come
	// unseen.
	pipelines bool
	lateWait  bool
}

// session serves a client connection while it has a request in flight.
// Sessions are pooled; everything per request is reset by begin.
type session struct {
	p   *Proxy
	cn  *clientConn
	ctx context.Context
	fe  *runtime.Frontend
	cc  *timedConn
	r   *h1.Reader
	tls *ConnTLS // nil for plain connections

	src    netip.Addr
	srcTxt []byte // src as text
	port   int

	req   h1.Request
	resp  h1.Response
	tried backend.Attempt // kept here so the picker's Accepter does not escape per request
	breq  balance.Request
	env   rules.Request
	res   rules.Result
	out   []byte // outgoing heads
	id    []byte // request ID

	// lz is lent to the plain TCP client connection served (timedConn.lz);
	// it keeps that connection's RawConn for respondAndWait too. waited is
	// when the wait for the next request began with the response (mono;
	// 0: it did not).
	lz     lazyIO
	ww     writeWaiter
	waited int64
	// pending says s.out holds a complete response still to be sent
	// (see relayResponse).
	pending bool

	// Per request.
	host, path, query []byte
	be                *runtime.Backend // the backend being tried
	setCookie         string           // persistence cookie value to answer, or ""
	lastTry           bool             // no retry may follow this attempt
	closeAfter        bool             // close the client connection after this response
	committed         bool             // response bytes were written to the client
	log               logEntry
}

// serve runs a session on cn until the connection closes or parks; first
// says no request was read on it yet.
func (cn *clientConn) serve(first bool) {
	p := cn.p
	s, _ := p.sessions.Get().(*session)
	if s == nil {
		s = &session{p: p, out: make([]byte, 0, 4096), id: make([]byte, 0, 64), srcTxt: make([]byte, 0, 48)}
		s.r = h1.NewReader(nil, p.opts.HeadSize)
	}
	s.cn, s.ctx, s.fe, s.cc, s.tls = cn, cn.ctx, cn.fe, &cn.cc, cn.tls
	s.src, s.port = cn.src, int(cn.port)
	s.srcTxt = cn.src.AppendTo(s.srcTxt[:0])
	s.r.Reset(&cn.cc)
	s.env.Headers = s
	if cn.raw != nil && cn.cc.Conn == net.Conn(cn.raw) || cn.detached && cn.cc.Conn == nil {
		s.lz.cn = cn
		cn.cc.lz = &s.lz
	}
	parked := s.serve(first) // parked: cn is no longer this goroutine's
	if !parked {
		cn.cc.lz = nil
	}
	s.lz.forget()
	s.r.Release()
	s.r.Reset(nil)
	s.waited, s.pending = 0, false
	s.cn, s.ctx, s.fe, s.cc, s.tls = nil, nil, nil, nil, nil
	s.env.Headers = nil
	p.sessions.Put(s)
	if !parked {
		cn.close()
	}
}

// conn returns the Go connection of the client, attaching it first if it
// was accepted without one (Proxy.ServeFD); nil when that failed.
func (s *session) conn() net.Conn {
	if s.cc.Conn == nil && s.cn.detached {
		s.cn.attach()
	}
	return s.cc.Conn
}

// Wake serves cn again: its next request is arriving (park.Owner).
func (cn *clientConn) Wake() {
	parked := mono() - cn.parkedAt
	if cn.lateWait && parked < int64(time.Millisecond) {
		cn.pipelines = true // a request came before the wait began, unseen
	}
	cn.busy, cn.lateWait = parked < int64(parkAfter), false
	if cn.detached && peerGone(cn.pk.FD) {
		cn.close() // the client left: no Go connection for that
		return
	}
	if cn.detached && !cn.attach() {
		cn.done.Closed()
		return
	}
	cn.serve(false)
}

// peerGone says whether the peer of socket fd has closed or reset it,
// without taking what it sent: a parked connection that its client ends
// (many at once, when a client goes away) is closed straight from its
// descriptor, without becoming a Go connection first.
func peerGone(fd int) bool {
	var b [1]byte
	for {
		n, _, err := syscall.Recvfrom(fd, b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return false // nothing yet: the wake was early
		case err != nil:
			return true // reset
		}
		return n == 0
	}
}

// detach leaves the socket of cn on a descriptor of its own and closes its
// Go connection (park.Detach), when nothing stands between the two that
// still matters: not under a PROXY protocol header's addresses.
func (cn *clientConn) detach() bool {
	if cn.detached {
		return true // accepted so (Proxy.ServeFD), never attached
	}
	if cn.cc.Conn != net.Conn(cn.raw) {
		t, ok := cn.cc.Conn.(interface{ Transparent() bool })
		if !ok || !t.Transparent() {
			return false
		}
	}
	fd, err := park.Detach(cn.raw)
	if err != nil {
		return false
	}
	cn.p.poller.Forget(&cn.pk) // a descriptor of the Go connection parked before
	cn.raw, cn.cc.Conn = nil, nil
	cn.pk.FD, cn.detached = fd, true
	return true
}

// attach makes the detached socket of cn a Go connection again; false when
// that failed and the socket is closed.
func (cn *clientConn) attach() bool {
	cn.p.poller.Forget(&cn.pk)
	c, err := park.Attach(cn.pk.FD)
	cn.pk.FD, cn.detached = -1, false
	if err != nil {
		cn.p.log.Warn("idle connection lost on waking", "frontend", cn.fe.Name, "client", cn.src.String(), "err", err)
		return false
	}
	cn.raw = c
	cn.cc.Conn, cn.cc.readUntil, cn.cc.writeUntil = c, 0, 0
	cn.done.Moved(c)
	cn.p.attached.Add(1)
	return true
}

// Expire closes the parked connection: it was idle for too long, or fulcrum
// is shutting down (park.Owner).
func (cn *clientConn) Expire() { cn.close() }

// close ends the connection: its owner closes the socket (Owner.Closed).
func (cn *clientConn) close() {
	switch {
	case cn.detached:
		cn.p.poller.Forget(&cn.pk)
		syscall.Close(cn.pk.FD)
		cn.pk.FD, cn.detached = -1, false
	case cn.tls != nil && cn.cc.Conn != nil:
		// close_notify; the owner closes the socket.
		if cw, ok := cn.cc.Conn.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
	}
	cn.done.Closed()
}

func addrOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}

// serve reads and answers requests until the connection ends (false) or is
// parked, idle, until its next request (true). first says no request was
// read on the connection yet.
func (s *session) serve(first bool) (parked bool) {
	err := s.r.ReadRequest(&s.req)
	for {
		if err != nil {
			var he *h1.Error
			switch {
			case errors.As(err, &he) && first && s.fe.HTTP.H2C:
				// HTTP/2 with prior knowledge starts with a preface that
				// is no HTTP/1.1 request.
				pre, ok := s.takePreface()
				if ok {
					c := s.conn()
					if c == nil {
						return false
					}
					s.p.serveH2(s.ctx, &prefixConn{Conn: c, pre: pre}, s.fe, nil)
					return false
				}
				s.begin()
				s.closeAfter = true
				s.fail(he.Status, he.Msg)
				s.logRequest()
			case errors.As(err, &he):
				s.begin()
				s.closeAfter = true
				s.fail(he.Status, he.Msg)
				s.logRequest()
			case errors.Is(err, os.ErrDeadlineExceeded) && s.r.Buffered() > 0:
				s.begin()
				s.closeAfter = true
				s.fail(408, "the request did not arrive in time")
			}
			return false
		}
		s.fe.Counters.Requests.Add(1)
		s.begin()
		s.handle()
		s.logRequest()
		if s.closeAfter {
			if s.pending {
				s.pending = false
				s.cc.Write(s.out)
			}
			return false
		}
		first = false
		if parked, err = s.awaitRequest(); parked {
			return true
		}
	}
}

// parkAfter is how long a busy keep-alive connection waits for its next
// request with its goroutine before it is parked.
const parkAfter = 50 * time.Millisecond

var errDraining = errors.New("shutting down")

// awaitRequest reads the next request on a keep-alive connection, which
// may stay idle for timeout_client. A connection that can be parked is
// parked at once when its client was slow to send its last request (or
// sent only one so far): the next one is unlikely to be close. A busy one
// waits for up to parkAfter with its goroutine, then is parked: a busy
// connection costs no parking and waking per request, an idle one holds no
// goroutine and no buffer.
func (s *session) awaitRequest() (parked bool, err error) {
	p, cn := s.p, s.cn
	if s.pending {
		s.pending = false
		if s.canRespondAndWait() {
			err = s.respondAndWait()
		} else {
			_, err = s.cc.Write(s.out)
		}
		if err != nil {
			return false, err
		}
	}
	if cn.pk.Owner == nil {
		if !p.enterIdle(s) {
			return false, errDraining
		}
		err = s.r.ReadRequest(&s.req)
		p.leaveIdle(s)
		return false, err
	}
	if p.draining.Load() {
		return false, errDraining
	}
	waited := s.waited
	s.waited = 0
	if s.r.Buffered() > 0 { // pipelined
		cn.pipelines = true
		return false, s.r.ReadRequest(&s.req)
	}
	keep := s.cc.read
	now := mono()
	if cn.busy {
		wait := parkAfter
		switch {
		case keep > 0 && keep <= parkAfter:
			wait = keep
			s.cc.waitFor(now, wait)
		case waited != 0:
			now = waited // the wait began with the response
		default:
			s.armBusyWait(now)
		}
		err = s.r.ReadRequest(&s.req)
		if wait == keep || !errors.Is(err, os.ErrDeadlineExceeded) || s.r.Buffered() > 0 {
			return false, err
		}
		if p.draining.Load() {
			return false, errDraining
		}
		cn.busy, cn.lateWait = false, waited != 0
	}
	left := time.Duration(0) // no limit
	if keep > 0 {
		if left = keep - time.Duration(mono()-now); left <= 0 {
			return false, os.ErrDeadlineExceeded
		}
	}
	if p.park(s, left) {
		return true, nil
	}
	if p.draining.Load() {
		return false, errDraining
	}
	if cn.cc.Conn == nil {
		return false, net.ErrClosed
	}
	// Not parked: wait here for the rest of the time.
	if keep > 0 {
		s.cc.waitFor(mono(), left)
	}
	return false, s.r.ReadRequest(&s.req)
}

// armBusyWait sets the deadline of a busy connection's wait for its next
// request, parkAfter from now, or keeps the one armed for the previous
// wait while it is between half and all of that away: a busy connection
// then re-arms it only every few requests.
func (s *session) armBusyWait(now int64) {
	if left := s.cc.readUntil - now; left >= int64(parkAfter/2) && left <= int64(parkAfter) {
		s.cc.keep = true
	} else {
		s.cc.waitFor(now, parkAfter)
	}
}

// canRespondAndWait says whether the complete response in s.out may go
// out with the wait for the next request begun at once (respondAndWait):
// on a busy keep-alive connection that can be parked (its socket's
// readiness is the connection's), whose client does not pipeline.
func (s *session) canRespondAndWait() bool {
	cn := s.cn
	return !s.closeAfter && cn.busy && !cn.pipelines && cn.pk.Owner != nil && cn.raw != nil &&
		s.r.Buffered() == 0 && (s.cc.read <= 0 || s.cc.read > parkAfter) && !s.p.draining.Load()
}

// respondAndWait writes the response in s.out and waits for the next
// request in one step: the next read comes when the request is there,
// instead of right after the response, when it would nearly always find
// nothing yet and cost a system call per request for it. The wait starts
// by forgetting readiness seen before, so it is only for clients that send
// a request once they have the answer to the one before: a client that
// pipelines shows it (a request read along with the one before, or one
// found at once after a wait that ran out: see Wake) and is not waited for
// this way again.
func (s *session) respondAndWait() error {
	rc, err := s.lz.rawConn(s.cn.raw)
	if err != nil {
		_, err := s.cc.Write(s.out)
		return err
	}
	now := mono()
	s.armBusyWait(now)
	sent, werr, err := s.ww.do(rc, s.out)
	switch {
	case werr == syscall.EAGAIN:
		_, err = s.cc.Write(s.out[sent:]) // a full socket buffer: the rest as usual
		return err
	case werr != nil:
		return werr
	case sent < len(s.out):
		return err // the wait failed before the write: closed
	}
	s.waited = now
	return nil
}

// begin resets the per-request state.
func (s *session) begin() {
	s.closeAfter, s.committed = false, false
	s.setCookie, s.be = "", nil
	s.host, s.path, s.query = nil, nil, nil
	s.id = s.id[:0]
	s.log = logEntry{}
	if s.p.access != nil {
		s.log.start = time.Now()
	}
}

// handle answers the request just read.
func (s *session) handle() {
	req := &s.req
	s.closeAfter = req.Close || req.Minor == 0 || s.p.draining.Load()
	s.splitTarget()
	s.requestID()

	be := s.fe.Backend
	s.res.Reset()
	if s.fe.Rules != nil {
		s.fillEnv()
		if err := s.fe.Rules.Eval(&s.env, &s.res, randFloat()); err != nil {
			s.p.log.Debug("rule evaluation failed", "frontend", s.fe.Name, "err", err)
		}
		switch {
		case s.res.Redirect != "":
			s.redirect(s.res.RedirectCode, s.res.Redirect)
			return
		case s.res.Deny != nil:
			s.deny(s.res.Deny.Status, s.res.Deny.Body)
			return
		case s.res.Backend != "":
			if b := s.fe.Backends[s.res.Backend]; b != nil {
				be = b
			}
		}
	}
	if be == nil {
		s.fail(503, "no backend for this request")
		return
	}
	s.forward(be)
}

// splitTarget sets host, path and query from the request target and Host.
func (s *session) splitTarget() {
	t := s.req.Target
	s.host = s.req.Host
	if len(t) > 0 && t[0] != '/' && t[0] != '*' {
		// absolute-form: scheme://authority/path?query
		if i := indexString(t, "://"); i >= 0 {
			rest := t[i+3:]
			j := 0
			for j < len(rest) && rest[j] != '/' && rest[j] != '?' {
				j++
			}
			s.host = rest[:j]
			t = rest[j:]
			if len(t) == 0 {
				t = slash
			}
		}
	}
	s.path = t
	for i, c := range t {
		if c == '?' {
			s.path, s.query = t[:i], t[i+1:]
			break
		}
	}
}

var slash = []byte("/")

func indexString(b []byte, sub string) int {
	for i := 0; i+len(sub) <= len(b); i++ {
		if string(b[i:i+len(sub)]) == sub {
			return i
		}
	}
	return -1
}

// fillEnv exposes the request to the rules. The strings alias the read
// buffer: they are valid only while this request is handled, and nothing
// keeps them (results that outlive it are built by the rules as new strings).
func (s *session) fillEnv() {
	e := &s.env
	e.Scheme = s.scheme()
	if t := s.tls; t != nil {
		e.SSLSNI, e.SSLVersion, e.SSLALPN = t.SNI, t.Version, t.ALPN
		e.SSLClientVerified, e.SSLClientCN, e.SSLClientSHA256 = t.ClientVerified, t.ClientCN, t.ClientSHA256
	} else {
		e.SSLSNI, e.SSLVersion, e.SSLALPN = "", "", ""
		e.SSLClientVerified, e.SSLClientCN, e.SSLClientSHA256 = false, "", ""
	}
	e.Host = hostOnly(ustr(s.host))
	e.Port = s.port
	e.Method = ustr(s.req.Method)
	e.URI = ustr(s.uri())
	e.Path = ustr(s.path)
	e.Query = ustr(s.query)
	e.Src = s.src
}

// uri is the origin-form target: path and query.
func (s *session) uri() []byte {
	t := s.req.Target
	if len(t) > 0 && t[0] != '/' && t[0] != '*' {
		if len(s.query) > 0 {
			return t[len(t)-len(s.path)-1-len(s.query):]
		}
		return s.path
	}
	return t
}

// hostOnly strips a port from a Host value (the rules compare host names).
func hostOnly(h string) string {
	if len(h) > 0 && h[0] == '[' {
		if i := indexByteString(h, ']'); i > 0 {
			return h[:i+1]
		}
		return h
	}
	if i := indexByteString(h, ':'); i >= 0 {
		return h[:i]
	}
	return h
}

func indexByteString(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// Header implements rules.HeaderGetter.
func (s *session) Header(name string) string { return ustr(s.req.Header(name)) }

// Cookie implements rules.HeaderGetter: the value of cookie name, "" if absent.
func (s *session) Cookie(name string) string { return ustr(cookieValue(&s.req, name)) }

// discardBody drops an unread request body so the connection can serve the
// next request, or marks the connection for closing when that would cost
// too much.
func (s *session) discardBody() {
	req := &s.req
	switch {
	case req.ContentLength > 0 && req.ContentLength <= 64<<10:
		if _, err := h1.CopyBody(io.Discard, s.r, req.ContentLength, false, false, s.scratch()); err != nil {
			s.closeAfter = true
		}
	case req.ContentLength > 0 || req.Chunked:
		s.closeAfter = true
	}
}

// scratch returns a copy buffer; it lives as long as the pool keeps it.
func (s *session) scratch() []byte {
	return s.out[len(s.out):cap(s.out)]
}
