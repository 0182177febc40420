package http

import (
	"context"
	"errors"
	"io"
	nethttp "net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/backend"
	"github.com/fulcrum-lb/fulcrum/internal/balance"
	"github.com/fulcrum-lb/fulcrum/internal/proxy/http/h1"
	"github.com/fulcrum-lb/fulcrum/internal/proxyproto"
	"github.com/fulcrum-lb/fulcrum/internal/runtime"
)

// An HTTP/2 stream to an HTTP/1.1 backend is forwarded here, over the
// pooled server connections of the HTTP/1.1 path (upstreams), with its
// request head written and its response head parsed by package h1; the
// answer goes to the stream's ResponseWriter directly. Backends that speak
// HTTP/2 to their servers (proto h2c, h2) go through ReverseProxy instead.

// h2exchange is the reusable state of one forwarded stream.
type h2exchange struct {
	resp h1.Response
	out  []byte // the request head, then chunk framing of the body
	// fail is the error answer due if no server answers after the
	// attempt that set it (when the retries run out).
	fail int
	fmsg string
	// abort says the response was cut short after its head went out: the
	// stream must be reset, not ended as if complete.
	abort bool
	tried backend.Attempt
	breq  balance.Request
}

func (h *h2Handler) exchange() *h2exchange {
	if x, ok := h.p.h2.exchanges.Get().(*h2exchange); ok {
		return x
	}
	return &h2exchange{out: make([]byte, 0, 2048)}
}

// forward sends the request to a server of call.be over HTTP/1.1, retrying
// on another server while that is safe, as the HTTP/1.1 path does, and
// streams the response to w. It reports whether the stream must be reset.
func (h *h2Handler) forward(w *statusWriter, r *nethttp.Request, call *h2call) (abort bool) {
	be, to := call.be, call.to
	x := h.exchange()
	x.fail, x.fmsg, x.abort = 0, "", false
	defer func() {
		x.resp.Reset()
		if cap(x.out) <= 64<<10 {
			h.p.h2.exchanges.Put(x)
		}
	}()
	a, breq := &x.tried, &x.breq
	a.Reset()
	*breq = balance.Request{Client: h.src, Hash: h.hashKey(r, be)}
	queued := mono()
	var st stickiness
	if be.Persist != nil {
		st = sticky(be.Persist, be.Pool, h2source{r, h.src}, monoTime(queued))
	}
	ctx := r.Context()
	for try := 0; ; try++ {
		var srv *backend.Server
		var err error
		if try == 0 && st.server != nil && be.Pool.AcquireServer(st.server, a) {
			srv = st.server
		} else {
			srv, err = be.Pool.Acquire(ctx, breq, a, to.Queue)
		}
		if errors.Is(err, backend.ErrNoServer) && try > 0 {
			a.Reset() // every server tried: round again
			srv, err = be.Pool.Acquire(ctx, breq, a, to.Queue)
		}
		if err != nil {
			switch {
			case errors.Is(err, backend.ErrNoServer):
				h.fe.Counters.NoServer.Add(1)
				h.writeError(w, r, call, 503, "no server is available to handle this request")
			case errors.Is(err, backend.ErrQueueTimeout):
				h.fe.Counters.QueueTimeout.Add(1)
				h.writeError(w, r, call, 503, "every server is busy")
			default:
				h.writeError(w, r, call, 499, "the client went away")
			}
			return false
		}
		began := mono()
		call.log.queue += time.Duration(began - queued)
		call.log.server, call.log.retries, call.srv = srv.Name(), try, srv
		setCookie := ""
		if be.Persist != nil {
			setCookie = remember(be.Persist, &st, srv, monoTime(began))
		}
		out := h.attempt(w, r, x, call, srv, try >= to.Retries, setCookie, began)
		srv.Release()
		if out != retryable {
			return x.abort
		}
		if try >= to.Retries {
			code, msg := x.fail, x.fmsg
			if code == 0 {
				code, msg = 502, "the server could not be reached"
			}
			h.writeError(w, r, call, code, msg)
			return false
		}
		queued = mono()
	}
}

// attempt runs one exchange with srv.
func (h *h2Handler) attempt(w *statusWriter, r *nethttp.Request, x *h2exchange, call *h2call, srv *backend.Server, last bool, setCookie string, began int64) outcome {
	be, to := call.be, call.to
	o := dialOpts{timeout: to.Connect, idleTimeout: be.IdleTimeout}
	if be.ServerTLS != nil {
		o.tls = be.ServerTLS[srv.Index()]
	}
	switch be.SendProxy {
	case "":
	case "v1":
		o.proxyHeader = proxyproto.AppendV1(nil, h.srcAP, h.dstAP)
	default:
		o.proxyHeader = proxyproto.AppendV2(nil, h.srcAP, h.dstAP)
	}
	uc, reused, err := h.p.up.get(r.Context(), srv, o)
	if err != nil {
		if r.Context().Err() != nil {
			h.writeError(w, r, call, 499, "the client went away")
			return failed
		}
		be.Pool.ReportConnect(srv, err)
		h.fe.Counters.ConnectFail.Add(1)
		x.fail, x.fmsg = 502, "the server could not be reached"
		return retryable
	}
	if !reused {
		be.Pool.ReportConnect(srv, nil)
	}
	sent := mono()
	call.log.connect = time.Duration(sent - began)
	// A stream the client resets ends the wait for the server at once.
	c := uc.c
	var stop func() bool
	st, native := r.Context().(*h2stream)
	if native {
		st.watch(c) // no allocation, where context.AfterFunc makes several
	} else {
		stop = context.AfterFunc(r.Context(), func() { c.SetDeadline(time.Unix(1, 0)) })
	}
	out, keep := h.exchangeWith(w, r, x, call, uc, srv, reused, last, setCookie, sent)
	if native && !st.unwatch() || !native && !stop() {
		keep = false // its deadline was cut short
	}
	if keep {
		h.p.up.put(srv, uc, be.MaxIdle, be.IdleTimeout, mono())
	} else {
		uc.c.Close()
	}
	return out
}

// exchangeWith sends the request over uc and streams the response to w.
// keep says uc may carry another request.
func (h *h2Handler) exchangeWith(w *statusWriter, r *nethttp.Request, x *h2exchange, call *h2call, uc *upConn, srv *backend.Server, reused, last bool, setCookie string, sent int64) (outcome, bool) {
	be := call.be
	uc.tc.setTimeouts(call.to.Server, call.to.Server)
	hasBody := r.Body != nil && r.Body != nethttp.NoBody && r.ContentLength != 0
	chunked := hasBody && r.ContentLength < 0
	x.out = h.appendRequestHead(x.out[:0], r, call, hasBody, chunked)
	if !hasBody {
		if err := uc.sendAndWait(x.out); err != nil {
			return h.upstreamFailed(w, r, x, call, err, last, reused), false
		}
	} else {
		if _, err := uc.tc.Write(x.out); err != nil {
			x.fail, x.fmsg = 502, "the server could not be reached"
			return retryable, false // nothing of the body was read yet
		}
		n, clientErr, err := h.copyRequestBody(&uc.tc, r, x, chunked)
		call.log.bytesIn += n
		switch {
		case clientErr:
			call.log.status = 499
			return failed, false
		case err != nil:
			h.writeError(w, r, call, 502, "the server failed while receiving the request")
			return failed, false
		}
	}
	resp := &x.resp
	head := r.Method == "HEAD"
	for {
		if err := uc.r.ReadResponse(resp, head); err != nil {
			return h.upstreamFailed(w, r, x, call, err, last, reused && !hasBody), false
		}
		if resp.Status >= 200 {
			break
		}
		if resp.Status == 101 {
			srv.Pool().ReportResponse(srv, true, "status 101")
			h.writeError(w, r, call, 502, "the server sent an invalid response")
			return failed, false
		}
		h.relayInterim(w, resp) // 1xx: passed on, and the final one read next
	}
	if resp.Status >= 500 {
		srv.Pool().ReportResponse(srv, true, "status "+strconv.Itoa(resp.Status))
		if !last && be.RetryOn.Status(resp.Status) && !hasBody && isIdempotent(r.Method) {
			return retryable, false // the answer is dropped with its connection
		}
	} else {
		srv.Pool().ReportResponse(srv, false, "")
	}
	took := time.Duration(mono() - sent)
	srv.State.Load.Observe(int64(took), sent+int64(took)+epoch.UnixNano())
	call.log.response = took
	return done, h.relayResponse(w, x, call, uc, setCookie)
}

// upstreamFailed turns a failure to get a response head into a retry (as
// retry_on allows) or an error answer. stale says the connection was
// reused and carried no body, so a server that had closed it never saw
// the request.
func (h *h2Handler) upstreamFailed(w *statusWriter, r *nethttp.Request, x *h2exchange, call *h2call, err error, last, stale bool) outcome {
	if r.Context().Err() != nil {
		// The client reset the stream or went away: not the server's
		// fault, and nobody is left to answer.
		call.log.status = 499
		return failed
	}
	srv, be := call.srv, call.be
	if stale && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) {
		x.fail, x.fmsg = 502, "the server closed the connection"
		return retryable
	}
	replayable := (r.Body == nil || r.Body == nethttp.NoBody || r.ContentLength == 0) && isIdempotent(r.Method)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		be.Pool.ReportResponse(srv, true, errServerTimeout.Error())
		x.fail, x.fmsg = 504, "the server did not answer in time"
		if !last && be.RetryOn&runtime.RetryResponseTimeout != 0 && replayable {
			return retryable
		}
		h.writeError(w, r, call, x.fail, x.fmsg)
		return failed
	}
	be.Pool.ReportResponse(srv, true, "no response")
	x.fail, x.fmsg = 502, "the server closed the connection"
	var he *h1.Error
	if errors.As(err, &he) {
		x.fmsg = "the server sent an invalid response"
	}
	if be.RetryOn&runtime.RetryEmptyResponse != 0 && replayable {
		return retryable
	}
	h.writeError(w, r, call, x.fail, x.fmsg)
	return failed
}

// copyRequestBody streams the request body to the server, chunked when
// its length is unknown. clientErr says reading it failed (the client
// reset the stream or went away).
func (h *h2Handler) copyRequestBody(dst io.Writer, r *nethttp.Request, x *h2exchange, chunked bool) (n int64, clientErr bool, err error) {
	bp := h.p.bufs.Get().(*[]byte)
	defer h.p.bufs.Put(bp)
	buf := *bp
	for {
		m, rerr := r.Body.Read(buf)
		if m > 0 {
			n += int64(m)
			var werr error
			if chunked {
				x.out = strconv.AppendUint(x.out[:0], uint64(m), 16)
				x.out = append(x.out, "\r\n"...)
				if _, werr = dst.Write(x.out); werr == nil {
					x.out = append(append(x.out[:0], buf[:m]...), "\r\n"...)
					_, werr = dst.Write(x.out)
				}
			} else {
				_, werr = dst.Write(buf[:m])
			}
			if werr != nil {
				return n, false, werr
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return n, true, rerr
		}
	}
	if chunked {
		x.out = append(x.out[:0], "0\r\n"...)
		for k, vs := range r.Trailer {
			if !h1.ValidFieldName(k) {
				continue
			}
			for _, v := range vs {
				if h1.ValidFieldValue(v) {
					x.out = append(append(append(append(x.out, k...), ": "...), v...), "\r\n"...)
				}
			}
		}
		x.out = append(x.out, "\r\n"...)
		if _, err := dst.Write(x.out); err != nil {
			return n, false, err
		}
	}
	return n, false, nil
}

// relayInterim passes an informational (1xx) response on to the client.
func (h *h2Handler) relayInterim(w *statusWriter, resp *h1.Response) {
	hdr := w.Header()
	var names []string
	for _, f := range resp.Headers {
		if resp.IsHopByHop(f.Name) {
			continue
		}
		k := headerKey(f.Name)
		hdr[k] = append(hdr[k], string(f.Value))
		names = append(names, k)
	}
	w.ResponseWriter.WriteHeader(resp.Status)
	for _, k := range names {
		delete(hdr, k)
	}
}

// relayResponse writes the response head and streams its body to the
// client; it reports whether the server connection may be reused.
func (h *h2Handler) relayResponse(w *statusWriter, x *h2exchange, call *h2call, uc *upConn, setCookie string) bool {
	resp := &x.resp
	hdr := w.Header()
	h.copyHeaders(hdr, resp)
	if setCookie != "" && call.be.Persist != nil {
		line := call.be.Persist.Cookie.AppendSetCookie(nil, setCookie) // "Set-Cookie: …\r\n"
		hdr["Set-Cookie"] = append(hdr["Set-Cookie"], string(line[len("Set-Cookie: "):len(line)-2]))
	}
	h.setResponseHeaders(hdr, call)
	w.WriteHeader(resp.Status)
	call.log.status = resp.Status
	if resp.NoBody {
		return !resp.Close
	}
	bp := h.p.bufs.Get().(*[]byte)
	defer h.p.bufs.Put(bp)
	var n int64
	var err error
	switch {
	case resp.ContentLength >= 0 && !resp.Chunked:
		// A known length is not flushed per write: the stream's buffer
		// goes out with the end of the body (as ReverseProxy does).
		n, err = h1.CopyBody(w, uc.r, resp.ContentLength, false, false, *bp)
	case resp.Chunked:
		d := dechunker{w: w, hdr: hdr}
		n, err = h1.CopyBody(&d, uc.r, -1, true, false, *bp)
	default:
		n, err = h1.CopyBody(flushWriter{w}, uc.r, -1, false, true, *bp)
	}
	call.log.bytesOut = n
	if err != nil {
		x.abort = true
		return false
	}
	return !resp.Close && !resp.BodyUntilClose()
}

// copyHeaders copies the response's end-to-end fields, and its length,
// into hdr. The values share one string, and the value slices one array:
// three allocations, however many fields.
func (h *h2Handler) copyHeaders(hdr nethttp.Header, resp *h1.Response) {
	var cl []byte
	var num [20]byte
	if resp.ContentLength >= 0 && !resp.Chunked {
		cl = strconv.AppendInt(num[:0], resp.ContentLength, 10)
	}
	size, n := len(cl), 1
	for _, f := range resp.Headers {
		size += len(f.Value)
		n++
	}
	var sb strings.Builder
	sb.Grow(size)
	for _, f := range resp.Headers {
		sb.Write(f.Value)
	}
	sb.Write(cl)
	all := sb.String()
	vals := make([]string, n)
	i, off := 0, 0
	for _, f := range resp.Headers {
		v := all[off : off+len(f.Value)]
		off += len(f.Value)
		if resp.IsHopByHop(f.Name) || eqFold(f.Name, "Content-Length") {
			continue
		}
		k := headerKey(f.Name)
		if old, ok := hdr[k]; ok {
			hdr[k] = append(old, v)
			continue
		}
		vals[i] = v
		hdr[k] = vals[i : i+1 : i+1]
		i++
	}
	if cl != nil {
		vals[i] = all[off:]
		hdr["Content-Length"] = vals[i : i+1 : i+1]
	}
}

// commonHeaders are response field names in canonical form, so that the
// usual ones cost no allocation.
var commonHeaders = [...]string{
	"Accept-Ranges", "Access-Control-Allow-Origin", "Age", "Cache-Control", "Content-Disposition",
	"Content-Encoding", "Content-Language", "Content-Location", "Content-Range", "Content-Security-Policy",
	"Content-Type", "Date", "Etag", "Expires", "Grpc-Message", "Grpc-Status", "Last-Modified", "Link",
	"Location", "Retry-After", "Server", "Set-Cookie", "Strict-Transport-Security", "Vary",
	"Www-Authenticate", "X-Content-Type-Options", "X-Frame-Options", "X-Request-Id",
}

// headerKey is name in canonical form (the key net/http looks fields up
// by).
func headerKey(name []byte) string {
	for _, c := range commonHeaders {
		if eqFold(name, c) {
			return c
		}
	}
	return nethttp.CanonicalHeaderKey(string(name))
}

// flushWriter flushes the stream after every write: for bodies of unknown
// length, which may be streams (server-sent events).
type flushWriter struct{ w *statusWriter }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err == nil {
		err = nethttp.NewResponseController(f.w.ResponseWriter).Flush()
	}
	return n, err
}

// dechunker takes the chunked encoding that h1.CopyBody writes (sizes in
// lower-case hex, no extensions, trailer fields already filtered) and
// writes the data to the stream, flushing after each write, and the
// trailer fields as the stream's trailers.
type dechunker struct {
	w     *statusWriter
	hdr   nethttp.Header
	state int   // what the next bytes are: dcSize, dcData, dcDataEnd, dcTrailer, dcDone
	left  int64 // bytes of data left in this chunk, or of its CRLF
	line  []byte
}

const (
	dcSize = iota
	dcData
	dcDataEnd
	dcTrailer
	dcDone
)

var errChunkFraming = errors.New("malformed chunked framing")

func (d *dechunker) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		switch d.state {
		case dcSize, dcTrailer:
			i := indexByteBytes(p, '\n')
			if i < 0 {
				d.line = append(d.line, p...)
				p = nil
				continue
			}
			d.line = append(d.line, p[:i+1]...)
			p = p[i+1:]
			line := d.line
			d.line = d.line[:0]
			if len(line) < 2 || line[len(line)-2] != '\r' {
				return 0, errChunkFraming
			}
			line = line[:len(line)-2]
			if d.state == dcTrailer {
				if len(line) == 0 {
					d.state = dcDone
					continue
				}
				i := indexByteBytes(line, ':')
				if i <= 0 {
					return 0, errChunkFraming
				}
				k := nethttp.TrailerPrefix + headerKey(line[:i])
				v := strings.TrimSpace(string(line[i+1:]))
				d.hdr[k] = append(d.hdr[k], v)
				continue
			}
			size, err := strconv.ParseInt(string(line), 16, 64)
			if err != nil || size < 0 {
				return 0, errChunkFraming
			}
			if size == 0 {
				d.state = dcTrailer
				continue
			}
			d.state, d.left = dcData, size
		case dcData:
			m := int64(len(p))
			if m > d.left {
				m = d.left
			}
			if _, err := d.w.Write(p[:m]); err != nil {
				return 0, err
			}
			p = p[m:]
			if d.left -= m; d.left == 0 {
				d.state, d.left = dcDataEnd, 2
			}
		case dcDataEnd:
			m := min(int64(len(p)), d.left)
			p = p[m:]
			if d.left -= m; d.left == 0 {
				d.state = dcSize
			}
		case dcDone:
			return 0, errChunkFraming
		}
	}
	if d.state != dcDone {
		if err := nethttp.NewResponseController(d.w.ResponseWriter).Flush(); err != nil {
			return 0, err
		}
	}
	return total, nil
}

func indexByteBytes(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// appendRequestHead appends the HTTP/1.1 request head for the server:
// hop-by-hop fields removed, forwarding fields added, rules applied, as
// the HTTP/1.1 path does.
func (h *h2Handler) appendRequestHead(dst []byte, r *nethttp.Request, call *h2call, hasBody, chunked bool) []byte {
	fe := h.fe
	dst = append(dst, r.Method...)
	dst = append(dst, ' ')
	dst = append(dst, call.res.PathPrefix...)
	dst = append(dst, r.URL.RequestURI()...)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, r.Host...)
	dst = append(dst, "\r\n"...)
	conn := r.Header["Connection"]
	var xff, fwd []string
	for k, vs := range r.Header {
		switch k {
		case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
			"Trailer", "Transfer-Encoding", "Upgrade", "Content-Length", "Host",
			"X-Forwarded-Host", "X-Forwarded-Proto":
			continue
		case "Te":
			for _, v := range vs {
				if hasToken(v, "trailers") {
					dst = append(dst, "Te: trailers\r\n"...)
					break
				}
			}
			continue
		case "X-Forwarded-For":
			xff = vs
			continue
		case "Forwarded":
			if fe.HTTP.Forwarded {
				fwd = vs
				continue
			}
		case "X-Ssl-Client-Verified", "X-Ssl-Client-Cn", "X-Ssl-Client-Sha256":
			if fe.HTTP.ClientCertHeaders {
				continue
			}
		}
		if len(conn) > 0 && listed(conn, k) || fe.HTTP.RequestID != "" && strings.EqualFold(k, fe.HTTP.RequestID) ||
			len(call.res.DelHeader) > 0 && inFold(call.res.DelHeader, k) || len(call.res.SetHeader) > 0 && setFold(call, k) {
			continue
		}
		for _, v := range vs {
			dst = append(dst, k...)
			dst = append(dst, ": "...)
			dst = append(dst, v...)
			dst = append(dst, "\r\n"...)
		}
	}
	// X-Forwarded-For: the previous hops, then this client.
	dst = append(dst, "X-Forwarded-For: "...)
	for _, v := range xff {
		dst = append(dst, v...)
		dst = append(dst, ", "...)
	}
	dst = append(dst, h.srcStr...)
	dst = append(dst, "\r\nX-Forwarded-Host: "...)
	dst = append(dst, r.Host...)
	dst = append(dst, "\r\nX-Forwarded-Proto: "...)
	dst = append(dst, h.scheme()...)
	dst = append(dst, "\r\n"...)
	if fe.HTTP.Forwarded {
		dst = append(dst, "Forwarded: "...)
		for _, v := range fwd {
			dst = append(dst, v...)
			dst = append(dst, ", "...)
		}
		if h.src.Is6() {
			dst = append(dst, `for="[`...)
			dst = append(dst, h.srcStr...)
			dst = append(dst, `]"`...)
		} else {
			dst = append(dst, "for="...)
			dst = append(dst, h.srcStr...)
		}
		dst = append(dst, ";proto="...)
		dst = append(dst, h.scheme()...)
		dst = append(dst, `;host="`...)
		dst = append(dst, r.Host...)
		dst = append(dst, "\"\r\n"...)
	}
	if t := h.tls; t != nil && fe.HTTP.ClientCertHeaders {
		dst = appendClientCertHeaders(dst, t)
	}
	if name := fe.HTTP.RequestID; name != "" {
		dst = append(dst, name...)
		dst = append(dst, ": "...)
		dst = append(dst, call.id...)
		dst = append(dst, "\r\n"...)
	}
	for _, s := range call.res.SetHeader {
		dst = append(dst, s.Name...)
		dst = append(dst, ": "...)
		dst = append(dst, s.Value...)
		dst = append(dst, "\r\n"...)
	}
	switch {
	case chunked:
		dst = append(dst, "Transfer-Encoding: chunked\r\n"...)
	case hasBody:
		dst = h1.AppendContentLength(dst, r.ContentLength)
	case r.Method == "POST" || r.Method == "PUT" || r.Method == "PATCH":
		dst = append(dst, "Content-Length: 0\r\n"...)
	}
	return append(dst, "\r\n"...)
}

func (h *h2Handler) scheme() string {
	if h.tls != nil {
		return "https"
	}
	return "http"
}

// hasToken reports whether the comma-separated list v holds token,
// ignoring case.
func hasToken(v, token string) bool {
	for part := range strings.SplitSeq(v, ",") {
		if strings.EqualFold(strings.TrimSpace(part), token) {
			return true
		}
	}
	return false
}

// listed reports whether a Connection field lists name.
func listed(conn []string, name string) bool {
	for _, v := range conn {
		if hasToken(v, name) {
			return true
		}
	}
	return false
}

func inFold(names []string, k string) bool {
	for _, n := range names {
		if strings.EqualFold(n, k) {
			return true
		}
	}
	return false
}

func setFold(call *h2call, k string) bool {
	for _, s := range call.res.SetHeader {
		if strings.EqualFold(s.Name, k) {
			return true
		}
	}
	return false
}
