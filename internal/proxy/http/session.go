package http

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/backend"
	"github.com/fulcrum-lb/fulcrum/internal/balance"
	"github.com/fulcrum-lb/fulcrum/internal/proxy/http/h1"
	"github.com/fulcrum-lb/fulcrum/internal/rules"
	"github.com/fulcrum-lb/fulcrum/internal/runtime"
)

// timedConn keeps an inactivity deadline ahead of every read and write, so
// a slow but live stream never times out and a silent one does. Re-arming a
// deadline costs a timer update, so it is done only once a sixteenth of the
// timeout has passed since the last time: a silent peer is cut off between
// 15/16 of the timeout and the timeout after its last byte.
type timedConn struct {
	net.Conn
	read, write           time.Duration
	readArmed, writeArmed time.Time
}

func (t *timedConn) Read(p []byte) (int, error) {
	if t.read > 0 {
		if now := time.Now(); now.Sub(t.readArmed) > t.read/16 {
			t.Conn.SetReadDeadline(now.Add(t.read))
			t.readArmed = now
		}
	}
	return t.Conn.Read(p)
}

func (t *timedConn) Write(p []byte) (int, error) {
	if t.write > 0 {
		if now := time.Now(); now.Sub(t.writeArmed) > t.write/16 {
			t.Conn.SetWriteDeadline(now.Add(t.write))
			t.writeArmed = now
		}
	}
	return t.Conn.Write(p)
}

// reset points t at c with new timeouts, to be armed on first use.
func (t *timedConn) reset(c net.Conn, read, write time.Duration) {
	*t = timedConn{Conn: c, read: read, write: write}
}

// session is one client connection and the request it is serving. Sessions
// are pooled; everything per request is reset by begin.
type session struct {
	p   *Proxy
	ctx context.Context
	fe  *runtime.Frontend
	cc  timedConn
	r   *h1.Reader
	tls *ConnTLS // nil for plain connections
	tl  ConnTLS  // what tls points to, kept in the pooled session

	src    netip.Addr
	srcStr string
	port   int

	req   h1.Request
	resp  h1.Response
	tried backend.Attempt // kept here so the picker's Accepter does not escape per request
	breq  balance.Request
	env   rules.Request
	res   rules.Result
	out   []byte // outgoing heads
	id    []byte // request ID

	// Per request.
	host, path, query []byte
	be                *runtime.Backend // the backend being tried
	setCookie         string           // persistence cookie value to answer, or ""
	lastTry           bool             // no retry may follow this attempt
	closeAfter        bool             // close the client connection after this response
	committed         bool             // response bytes were written to the client
	log               logEntry
}

func (p *Proxy) session(ctx context.Context, c net.Conn, fe *runtime.Frontend, t *ConnTLS) *session {
	s, _ := p.sessions.Get().(*session)
	if s == nil {
		s = &session{p: p, out: make([]byte, 0, 4096), id: make([]byte, 0, 64)}
		s.r = h1.NewReader(&s.cc, p.opts.HeadSize)
	}
	s.ctx, s.fe, s.tls = ctx, fe, nil
	if t != nil {
		s.tl = *t
		s.tls = &s.tl
	}
	s.cc.reset(c, fe.TimeoutClient, fe.TimeoutClient)
	s.r.Reset(&s.cc)
	s.src = addrOf(c.RemoteAddr())
	s.srcStr = s.src.String()
	s.port = portOf(c.LocalAddr())
	s.env.Headers = s
	return s
}

func (p *Proxy) release(s *session) {
	s.cc.Conn.Close()
	s.r.Release()
	s.cc = timedConn{}
	s.ctx, s.fe = nil, nil
	p.sessions.Put(s)
}

func addrOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}

// serve reads and answers requests until the connection ends.
func (s *session) serve() {
	for first := true; ; first = false {
		// Between requests the session is idle: a shutdown closes it.
		if !first && !s.p.enterIdle(s) {
			return
		}
		err := s.r.ReadRequest(&s.req)
		if !first {
			s.p.leaveIdle(s)
		}
		if err != nil {
			var he *h1.Error
			switch {
			case errors.As(err, &he) && first && s.fe.HTTP.H2C:
				// HTTP/2 with prior knowledge starts with a preface that
				// is no HTTP/1.1 request.
				pre, ok := s.takePreface()
				if ok {
					s.p.serveH2(s.ctx, &prefixConn{Conn: s.cc.Conn, pre: pre}, s.fe, nil)
					return
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
			return
		}
		s.fe.Counters.Requests.Add(1)
		s.begin()
		s.handle()
		s.logRequest()
		if s.closeAfter {
			return
		}
	}
}

// begin resets the per-request state.
func (s *session) begin() {
	s.closeAfter, s.committed = false, false
	s.setCookie, s.be = "", nil
	s.host, s.path, s.query = nil, nil, nil
	s.id = s.id[:0]
	s.log = logEntry{start: time.Now()}
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
