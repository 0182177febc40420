package http

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	nethttp "net/http"
	"net/http/httputil"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/backend"
	"github.com/fulcrum-lb/fulcrum/internal/balance"
	"github.com/fulcrum-lb/fulcrum/internal/proxyproto"
	"github.com/fulcrum-lb/fulcrum/internal/rules"
	"github.com/fulcrum-lb/fulcrum/internal/runtime"
)

// An HTTP/2 connection is served by fulcrum's own HTTP/2 server (h2conn.go)
// when every backend its frontend can reach speaks HTTP/1.1, and otherwise
// by the standard library's, one http.Server per client connection, whose
// writes batchConn gathers. Either way each stream goes to h2Handler: a
// stream for an HTTP/1.1 backend is forwarded by h2Handler.forward over the
// HTTP/1.1 path's pooled server connections (h2forward.go); one for a
// backend with proto h2c or h2 by httputil.ReverseProxy over h2Handler's
// RoundTrip, and its streams, flow control and trailers (gRPC) are then the
// standard library's. Both pick the server, retry and report health as the
// HTTP/1.1 path does.

// h2Preface starts every HTTP/2 connection (RFC 9113, 3.4).
var h2Preface = []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

// prefixConn replays bytes already read from a connection before reading
// on from it.
type prefixConn struct {
	net.Conn
	pre []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// takePreface returns the bytes buffered on a connection whose first
// request failed to parse, if they are (the start of) the HTTP/2 client
// preface.
func (s *session) takePreface() ([]byte, bool) {
	n := s.r.Buffered()
	if n == 0 {
		return nil, false
	}
	pre := make([]byte, n)
	io.ReadFull(s.r, pre)
	m := min(len(pre), len(h2Preface))
	return pre, bytes.Equal(pre[:m], h2Preface[:m])
}

// h2 holds what every HTTP/2 connection of a Proxy shares: transports to
// the servers, one per protocol, which take each dial's settings (connect
// timeout, TLS, PROXY header) from the request's context.
type h2 struct {
	once      sync.Once
	plain     transports
	exchanges sync.Pool // *h2exchange
	calls     sync.Pool // *h2call
}

// transports reach servers over HTTP/1.1 and HTTP/2, in clear or TLS.
type transports struct {
	h1, h2c, h1tls, h2tls *nethttp.Transport
}

func (t *transports) closeIdle() {
	for _, tr := range []*nethttp.Transport{t.h1, t.h2c, t.h1tls, t.h2tls} {
		if tr != nil {
			tr.CloseIdleConnections()
		}
	}
}

// pick returns the transport for be.
func (t *transports) pick(be *runtime.Backend) *nethttp.Transport {
	switch {
	case be.ServerTLS != nil && be.Proto == "h2":
		return t.h2tls
	case be.ServerTLS != nil:
		return t.h1tls
	case be.Proto == "h2c":
		return t.h2c
	}
	return t.h1
}

// dialInfo is what one dial to a server needs, carried in the context.
type dialInfo struct {
	timeout     time.Duration
	tls         *tls.Config
	proxyHeader []byte
}

type dialInfoKey struct{}

func dialTCP(ctx context.Context, network, addr string) (net.Conn, error) {
	di, _ := ctx.Value(dialInfoKey{}).(*dialInfo)
	d := net.Dialer{Timeout: 5 * time.Second, KeepAlive: -1}
	if di != nil && di.timeout > 0 {
		d.Timeout = di.timeout
	}
	c, err := d.DialContext(ctx, network, addr)
	if err != nil || di == nil || di.proxyHeader == nil {
		return c, err
	}
	if _, err := c.Write(di.proxyHeader); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// dialTLS dials and completes TLS, offering alpn.
func dialTLS(alpn string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialTCP(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		di, _ := ctx.Value(dialInfoKey{}).(*dialInfo)
		if di == nil || di.tls == nil {
			c.Close()
			return nil, errors.New("no TLS configuration for this server")
		}
		cfg := di.tls.Clone()
		cfg.NextProtos = []string{alpn}
		tc := tls.Client(c, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, err
		}
		return tc, nil
	}
}

// newTransports makes a set of transports, keeping up to 64 idle
// connections per server each.
func newTransports() transports {
	var h1, h2c, h2 nethttp.Protocols
	h1.SetHTTP1(true)
	h2c.SetUnencryptedHTTP2(true)
	h2.SetHTTP2(true)
	mk := func(p *nethttp.Protocols, tlsALPN string) *nethttp.Transport {
		tr := &nethttp.Transport{
			DialContext: dialTCP, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 60 * time.Second,
			DisableCompression: true, Protocols: p,
		}
		if tlsALPN != "" {
			tr.DialTLSContext = dialTLS(tlsALPN)
		}
		return tr
	}
	return transports{h1: mk(&h1, ""), h2c: mk(&h2c, ""), h1tls: mk(&h1, "http/1.1"), h2tls: mk(&h2, "h2")}
}

func (p *Proxy) h2init() {
	p.h2.once.Do(func() { p.h2.plain = newTransports() })
}

// oneConnListener hands one connection to an http.Server, then blocks
// Accept until that connection is over, so Serve returns with it.
type oneConnListener struct {
	c     net.Conn
	taken bool
	done  chan struct{}
	once  sync.Once
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	if !l.taken {
		l.taken = true
		return l.c, nil
	}
	<-l.done
	return nil, net.ErrClosed
}

func (l *oneConnListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *oneConnListener) Addr() net.Addr { return l.c.LocalAddr() }

// serveH2 serves an HTTP/2 connection until it ends; t describes the TLS
// it came over, nil for h2c.
func (p *Proxy) serveH2(ctx context.Context, c net.Conn, fe *runtime.Frontend, t *ConnTLS) {
	p.h2init()
	h := &h2Handler{p: p, fe: fe, tls: t, src: addrOf(c.RemoteAddr()), port: portOf(c.LocalAddr()),
		srcAP: addrPortOf(c.RemoteAddr()), dstAP: addrPortOf(c.LocalAddr())}
	defer h.private.closeIdle()
	h.srcStr = h.src.String()
	h.idKey = nethttp.CanonicalHeaderKey(fe.HTTP.RequestID)
	if nativeH2(fe) {
		p.serveH2Native(ctx, c, fe, h)
		return
	}
	h.rp = &httputil.ReverseProxy{
		Rewrite:        h.rewrite,
		Transport:      h,
		FlushInterval:  0, // known lengths batch; streaming responses (gRPC, SSE) still flush at once
		ErrorHandler:   h.error,
		ModifyResponse: h.modifyResponse,
		ErrorLog:       nil,
		BufferPool:     (*bufferPool)(&p.bufs), // else 32 KiB per response
	}
	// The connection is already decrypted (or is h2c, begun with the
	// preface): either way the server reads HTTP/2 frames in clear. A
	// *tls.Conn is hidden behind prefixConn, or net/http would treat it as
	// a TLS connection of its own.
	var protos nethttp.Protocols
	protos.SetUnencryptedHTTP2(true)
	if _, ok := c.(*prefixConn); !ok {
		c = &prefixConn{Conn: c}
	}
	l := &oneConnListener{done: make(chan struct{})}
	srv := &nethttp.Server{
		Handler: h, Protocols: &protos, IdleTimeout: fe.TimeoutClient,
		ReadHeaderTimeout: fe.TimeoutClient,
		HTTP2:             &nethttp.HTTP2Config{MaxConcurrentStreams: 250},
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ConnState: func(_ net.Conn, st nethttp.ConnState) {
			if st == nethttp.StateClosed || st == nethttp.StateHijacked {
				l.Close()
			}
		},
		ErrorLog: log.New(io.Discard, "", 0),
	}
	if !p.trackH2(srv, true) {
		c.Close()
		return
	}
	defer p.trackH2(srv, false)
	// Frames go out batched (batchConn); the writer stops once the
	// connection is closed, by the server or here.
	bc := newBatchConn(c, fe.TimeoutClient)
	defer bc.Close()
	l.c = bc
	srv.Serve(l)
}

// h2Handler proxies the streams of one HTTP/2 connection.
type h2Handler struct {
	p   *Proxy
	fe  *runtime.Frontend
	tls *ConnTLS // nil for h2c
	src netip.Addr
	// srcAP and dstAP are the client's and the frontend's addresses, for
	// PROXY headers; private are transports of this client connection
	// alone, for backends that are sent one (send_proxy).
	srcAP, dstAP netip.AddrPort
	privOnce     sync.Once
	private      transports
	srcStr       string
	idKey        string // the request ID header's canonical name
	port         int
	rp           *httputil.ReverseProxy
}

// h2call is one request's state, carried in its context.
type h2call struct {
	be   *runtime.Backend
	to   runtime.Timeouts
	res  rules.Result
	id   string
	log  logEntry
	srv  *backend.Server
	fail int // status of an error fulcrum answers itself
	fmsg string
	sw   statusWriter
	idb  [32]byte // holds a request ID made here
}

type h2callKey struct{}

// headerGetter exposes a net/http request to the rules.
type headerGetter struct{ r *nethttp.Request }

func (g headerGetter) Header(name string) string { return g.r.Header.Get(name) }
func (g headerGetter) Cookie(name string) string {
	if c, err := g.r.Cookie(name); err == nil {
		return c.Value
	}
	return ""
}

func (h *h2Handler) ServeHTTP(w nethttp.ResponseWriter, r *nethttp.Request) {
	h.fe.Counters.Requests.Add(1)
	// The call is pooled unless the request goes through ReverseProxy,
	// which keeps it in the request's context.
	call, _ := h.p.h2.calls.Get().(*h2call)
	if call == nil {
		call = new(h2call)
	}
	*call = h2call{be: h.fe.Backend}
	reuse := true
	defer func() {
		if reuse {
			*call = h2call{}
			h.p.h2.calls.Put(call)
		}
	}()
	if h.p.access != nil {
		call.log.start = time.Now()
	}
	if name := h.fe.HTTP.RequestID; name != "" {
		if v := r.Header[h.idKey]; len(v) > 0 {
			call.id = v[0]
		}
		if call.id == "" || len(call.id) > 128 {
			call.id = ustr(h.p.requestID(call.idb[:0])) // idb is never written again
		}
	}
	if h.fe.Rules != nil {
		scheme := "http"
		if h.tls != nil {
			scheme = "https"
		}
		env := rules.Request{Scheme: scheme, Host: hostOnly(r.Host), Port: h.port, Method: r.Method,
			URI: r.URL.RequestURI(), Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Src: h.src, Headers: headerGetter{r}}
		if t := h.tls; t != nil {
			env.SSLSNI, env.SSLVersion, env.SSLALPN = t.SNI, t.Version, t.ALPN
			env.SSLClientVerified, env.SSLClientCN, env.SSLClientSHA256 = t.ClientVerified, t.ClientCN, t.ClientSHA256
		}
		if err := h.fe.Rules.Eval(&env, &call.res, randFloat()); err != nil {
			h.p.log.Debug("rule evaluation failed", "frontend", h.fe.Name, "err", err)
		}
		switch {
		case call.res.Redirect != "":
			code := call.res.RedirectCode
			if code == 0 {
				code = 302
			}
			w.Header().Set("Location", call.res.Redirect)
			h.setResponseHeaders(w.Header(), call)
			w.WriteHeader(code)
			call.log.status = code
			h.logRequest(r, call)
			return
		case call.res.Deny != nil:
			h.setResponseHeaders(w.Header(), call)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(call.res.Deny.Status)
			io.WriteString(w, call.res.Deny.Body)
			call.log.status = call.res.Deny.Status
			h.logRequest(r, call)
			return
		case call.res.Backend != "":
			if b := h.fe.Backends[call.res.Backend]; b != nil {
				call.be = b
			}
		}
	}
	if call.be == nil {
		h.writeError(w, r, call, 503, "no backend for this request")
		return
	}
	call.to = runtime.Effective(h.fe, call.be)
	call.log.backend = call.be.Name
	sw := &call.sw
	sw.ResponseWriter = w
	abort := false
	if call.be.Proto == "" {
		abort = h.forward(sw, r, call)
	} else {
		reuse = false
		h.rp.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), h2callKey{}, call)))
	}
	if call.log.status == 0 {
		call.log.status = sw.status
	}
	call.log.bytesOut = sw.n
	h.logRequest(r, call)
	if abort {
		panic(nethttp.ErrAbortHandler) // resets the stream: the body was cut short
	}
}

// rewrite prepares the request for the server (ReverseProxy has removed
// hop-by-hop and X-Forwarded-* headers already).
func (h *h2Handler) rewrite(pr *httputil.ProxyRequest) {
	call := pr.In.Context().Value(h2callKey{}).(*h2call)
	pr.Out.URL.Scheme = "http"
	pr.Out.URL.Host = pr.In.Host // replaced by the picked server's address
	pr.Out.Host = pr.In.Host
	if call.res.PathPrefix != "" {
		pr.Out.URL.Path = call.res.PathPrefix + pr.Out.URL.Path
		if pr.Out.URL.RawPath != "" {
			pr.Out.URL.RawPath = call.res.PathPrefix + pr.Out.URL.RawPath
		}
	}
	pr.SetXForwarded()
	if h.fe.HTTP.ClientCertHeaders {
		for _, n := range []string{"X-SSL-Client-Verified", "X-SSL-Client-CN", "X-SSL-Client-SHA256"} {
			pr.Out.Header.Del(n)
		}
		if t := h.tls; t != nil {
			if t.ClientVerified {
				pr.Out.Header.Set("X-SSL-Client-Verified", "1")
				pr.Out.Header.Set("X-SSL-Client-CN", t.ClientCN)
				pr.Out.Header.Set("X-SSL-Client-SHA256", t.ClientSHA256)
			} else {
				pr.Out.Header.Set("X-SSL-Client-Verified", "0")
			}
		}
	}
	if h.fe.HTTP.Forwarded {
		fwd := "for=" + h.srcStr
		if h.src.Is6() {
			fwd = `for="[` + h.srcStr + `]"`
		}
		fwd += ";proto=" + pr.Out.Header.Get("X-Forwarded-Proto") + `;host="` + pr.In.Host + `"`
		if prior := pr.In.Header.Values("Forwarded"); len(prior) > 0 {
			fwd = joinComma(prior) + ", " + fwd
		}
		pr.Out.Header.Set("Forwarded", fwd)
	}
	if name := h.fe.HTTP.RequestID; name != "" {
		pr.Out.Header.Set(name, call.id)
	}
	for _, d := range call.res.DelHeader {
		pr.Out.Header.Del(d)
	}
	for _, s := range call.res.SetHeader {
		pr.Out.Header.Set(s.Name, s.Value)
	}
}

func joinComma(v []string) string {
	var b bytes.Buffer
	for i, s := range v {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(s)
	}
	return b.String()
}

// RoundTrip picks a server and sends the request, retrying on another
// server after a failed connect (or, for a replayable request, any failure
// before the response).
func (h *h2Handler) RoundTrip(req *nethttp.Request) (*nethttp.Response, error) {
	call := req.Context().Value(h2callKey{}).(*h2call)
	be, to := call.be, call.to
	trs := &h.p.h2.plain
	di := &dialInfo{timeout: to.Connect}
	if be.SendProxy != "" {
		h.privOnce.Do(func() { h.private = newTransports() })
		trs = &h.private
		if be.SendProxy == "v1" {
			di.proxyHeader = proxyproto.AppendV1(nil, h.srcAP, h.dstAP)
		} else {
			di.proxyHeader = proxyproto.AppendV2(nil, h.srcAP, h.dstAP)
		}
	}
	rt := trs.pick(be)
	replayable := (req.Body == nil || req.Body == nethttp.NoBody) && isIdempotent(req.Method)
	var a backend.Attempt
	breq := balance.Request{Client: h.src, Hash: h.hashKey(req, be)}
	ctx := context.WithValue(req.Context(), dialInfoKey{}, di)
	queued := time.Now()
	var st stickiness
	if be.Persist != nil {
		st = sticky(be.Persist, be.Pool, h2source{req, h.src}, queued)
	}
	var lastErr error
	for try := 0; try <= to.Retries; try++ {
		var srv *backend.Server
		var err error
		if try == 0 && st.server != nil && be.Pool.AcquireServer(st.server, &a) {
			srv = st.server
		} else {
			srv, err = be.Pool.Acquire(ctx, &breq, &a, to.Queue)
		}
		if errors.Is(err, backend.ErrNoServer) && try > 0 {
			a.Reset()
			srv, err = be.Pool.Acquire(ctx, &breq, &a, to.Queue)
		}
		if err != nil {
			if lastErr != nil {
				break
			}
			call.fail, call.fmsg = 503, "no server is available to handle this request"
			if errors.Is(err, backend.ErrQueueTimeout) {
				call.fmsg = "every server is busy"
			}
			return nil, err
		}
		call.log.queue += time.Since(queued)
		call.log.server, call.log.retries, call.srv = srv.Name(), try, srv
		out := req.Clone(ctx)
		out.URL.Host = srv.State.Addr()
		if be.ServerTLS != nil {
			out.URL.Scheme = "https"
			di.tls = be.ServerTLS[srv.Index()]
		}
		began := time.Now()
		// The response head must come within timeout_server.
		rctx, cancel := context.WithCancelCause(ctx)
		timer := time.AfterFunc(to.Server, func() { cancel(errServerTimeout) })
		resp, err := rt.RoundTrip(out.WithContext(rctx))
		if !timer.Stop() && err != nil {
			err = errServerTimeout
		}
		if err != nil && req.Context().Err() != nil {
			// The client reset the stream or went away: not the server's
			// fault, and nobody is left to answer.
			cancel(nil)
			srv.Release()
			call.fail, call.fmsg = 499, "the client went away"
			return nil, req.Context().Err()
		}
		if err != nil {
			cancel(nil)
			srv.Release()
			var op *net.OpError
			dialErr := errors.As(err, &op) && op.Op == "dial"
			if dialErr {
				be.Pool.ReportConnect(srv, err)
			} else {
				be.Pool.ReportResponse(srv, true, err.Error())
			}
			lastErr = err
			timeout := errors.Is(err, errServerTimeout)
			retry := dialErr || replayable &&
				(timeout && be.RetryOn&runtime.RetryResponseTimeout != 0 || !timeout && be.RetryOn&runtime.RetryEmptyResponse != 0)
			if !retry {
				break
			}
			queued = time.Now()
			continue
		}
		now := time.Now()
		srv.State.Load.Observe(int64(now.Sub(began)), now.UnixNano())
		call.log.response = now.Sub(began)
		if resp.StatusCode >= 500 {
			be.Pool.ReportResponse(srv, true, "status "+strconv.Itoa(resp.StatusCode))
		} else {
			be.Pool.ReportResponse(srv, false, "")
		}
		if try < to.Retries && replayable && be.RetryOn.Status(resp.StatusCode) {
			resp.Body.Close() // this answer is dropped; another server is asked
			cancel(nil)
			srv.Release()
			queued = time.Now()
			continue
		}
		if be.Persist != nil {
			if v := remember(be.Persist, &st, srv, now); v != "" {
				line := be.Persist.Cookie.AppendSetCookie(nil, v) // "Set-Cookie: …\r\n"
				resp.Header.Add("Set-Cookie", string(line[len("Set-Cookie: "):len(line)-2]))
			}
		}
		resp.Body = &releaseBody{ReadCloser: resp.Body, srv: srv, cancel: cancel}
		return resp, nil
	}
	switch {
	case errors.Is(lastErr, errServerTimeout):
		call.fail, call.fmsg = 504, "the server did not answer in time"
	default:
		call.fail, call.fmsg = 502, "the server could not be reached"
	}
	return nil, lastErr
}

var errServerTimeout = errors.New("timeout_server elapsed before the response")

func isIdempotent(m string) bool {
	switch m {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return false
}

func (h *h2Handler) hashKey(r *nethttp.Request, be *runtime.Backend) uint64 {
	switch k := be.Key; {
	case k == "" || k == "src":
		return balance.HashAddr(h.src)
	case k == "uri":
		return balance.HashString(r.URL.RequestURI())
	case len(k) > 7 && k[:7] == "header:":
		if v := r.Header.Get(k[7:]); v != "" {
			return balance.HashString(v)
		}
	case len(k) > 7 && k[:7] == "cookie:":
		if c, err := r.Cookie(k[7:]); err == nil && c.Value != "" {
			return balance.HashString(c.Value)
		}
	}
	return 0
}

// releaseBody gives the server's slot back when the response body is done.
type releaseBody struct {
	io.ReadCloser
	srv    *backend.Server
	cancel context.CancelCauseFunc
	once   sync.Once
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() {
		b.cancel(nil)
		b.srv.Release()
	})
	return err
}

func (h *h2Handler) modifyResponse(resp *nethttp.Response) error {
	call := resp.Request.Context().Value(h2callKey{}).(*h2call)
	h.setResponseHeaders(resp.Header, call)
	return nil
}

func (h *h2Handler) setResponseHeaders(hdr nethttp.Header, call *h2call) {
	if sh := h.fe.HTTP.ServerHeader; sh != "" {
		hdr.Del("Server")
		if sh != "-" {
			hdr.Set("Server", sh)
		}
	}
	for _, d := range call.res.DelResponseHeader {
		hdr.Del(d)
	}
	for _, s := range call.res.SetResponseHeader {
		hdr.Set(s.Name, s.Value)
	}
}

// error answers a request no server answered.
func (h *h2Handler) error(w nethttp.ResponseWriter, r *nethttp.Request, err error) {
	call := r.Context().Value(h2callKey{}).(*h2call)
	code, msg := call.fail, call.fmsg
	if code == 0 {
		code, msg = 502, "the server failed"
		if errors.Is(err, context.Canceled) {
			code, msg = 499, "the client went away"
		}
	}
	h.writeError(w, r, call, code, msg)
}

func (h *h2Handler) writeError(w nethttp.ResponseWriter, r *nethttp.Request, call *h2call, code int, msg string) {
	if code >= 500 {
		h.fe.Counters.Errors.Add(1)
	}
	ctype, body := errorBody(code, msg, []byte(r.Header.Get("Accept")))
	if page, ok := h.fe.HTTP.ErrorPages[code]; ok {
		ctype, body = page.ContentType, page.Body
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if code == 503 {
		w.Header().Set("Retry-After", "1")
	}
	h.setResponseHeaders(w.Header(), call)
	w.WriteHeader(code)
	w.Write(body)
	call.log.status = code
}

// statusWriter remembers the status and counts the body bytes written.
type statusWriter struct {
	nethttp.ResponseWriter
	status int
	n      int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(nethttp.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the stream (for trailers and
// flushing).
func (w *statusWriter) Unwrap() nethttp.ResponseWriter { return w.ResponseWriter }

// logRequest writes the access log line of an HTTP/2 request.
func (h *h2Handler) logRequest(r *nethttp.Request, call *h2call) {
	if h.p.access == nil {
		return
	}
	h.p.access.write(&call.log, logFields{client: h.srcStr, frontend: h.fe.Name,
		method: []byte(r.Method), host: []byte(r.Host), path: []byte(r.URL.EscapedPath()), id: []byte(call.id)})
}

// h2source is an HTTP/2 request as a balanceSource.
type h2source struct {
	r   *nethttp.Request
	src netip.Addr
}

func (h h2source) cookie(name string) []byte {
	if c, err := h.r.Cookie(name); err == nil {
		return []byte(c.Value)
	}
	return nil
}

func (h h2source) header(name string) []byte { return []byte(h.r.Header.Get(name)) }
func (h h2source) addr() netip.Addr          { return h.src }

// bufferPool lends ReverseProxy the proxy's copy buffers.
type bufferPool sync.Pool

func (b *bufferPool) Get() []byte  { return *(*sync.Pool)(b).Get().(*[]byte) }
func (b *bufferPool) Put(p []byte) { (*sync.Pool)(b).Put(&p) }
