package http

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/backend"
	"github.com/fulcrum-lb/fulcrum/internal/balance"
	"github.com/fulcrum-lb/fulcrum/internal/proxy/http/h1"
	"github.com/fulcrum-lb/fulcrum/internal/proxyproto"
	"github.com/fulcrum-lb/fulcrum/internal/runtime"
	"github.com/fulcrum-lb/fulcrum/internal/splice"
)

// outcome is how one attempt at a server ended.
type outcome int

const (
	done      outcome = iota // answered (or failed after answering began)
	retryable                // failed before anything reached the server's application or the client
	failed                   // failed; the error response was sent
)

// forward sends the request to a server of be, retrying on another server
// while that is safe, and streams the response back.
func (s *session) forward(be *runtime.Backend) {
	to := runtime.Effective(s.fe, be)
	s.log.backend = be.Name
	a := &s.tried
	a.Reset()
	s.breq = balance.Request{Client: s.src, Hash: s.hashKey(be)}
	queued := mono()
	var st stickiness
	if be.Persist != nil {
		st = sticky(be.Persist, be.Pool, s, monoTime(queued))
	}
	for try := 0; ; try++ {
		var srv *backend.Server
		var err error
		if try == 0 && st.server != nil && be.Pool.AcquireServer(st.server, a) {
			srv = st.server // the client's own server can take it
		} else {
			srv, err = be.Pool.Acquire(s.ctx, &s.breq, a, to.Queue)
		}
		if errors.Is(err, backend.ErrNoServer) && try > 0 {
			a.Reset() // every server tried: round again
			srv, err = be.Pool.Acquire(s.ctx, &s.breq, a, to.Queue)
		}
		if err != nil {
			switch {
			case errors.Is(err, backend.ErrNoServer):
				s.fe.Counters.NoServer.Add(1)
				s.fail(503, "no server is available to handle this request")
			case errors.Is(err, backend.ErrQueueTimeout):
				s.fe.Counters.QueueTimeout.Add(1)
				s.fail(503, "every server is busy")
			default:
				s.closeAfter = true
			}
			return
		}
		began := mono()
		s.log.queue = time.Duration(began - queued)
		s.log.server = srv.Name()
		s.log.retries = try
		s.be, s.lastTry = be, try >= to.Retries
		s.setCookie = ""
		if be.Persist != nil {
			s.setCookie = remember(be.Persist, &st, srv, monoTime(began))
		}
		out := s.attempt(be, srv, to, began)
		srv.Release()
		if out != retryable {
			return
		}
		if try >= to.Retries {
			s.fail(502, "the server could not be reached")
			return
		}
		queued = mono()
	}
}

// attempt runs one exchange with srv.
func (s *session) attempt(be *runtime.Backend, srv *backend.Server, to runtime.Timeouts, began int64) outcome {
	o := dialOpts{timeout: to.Connect, idleTimeout: be.IdleTimeout}
	if be.ServerTLS != nil {
		o.tls = be.ServerTLS[srv.Index()]
	}
	if be.SendProxy != "" {
		o.proxyHeader = s.proxyHeader(be.SendProxy)
	}
	uc, reused, err := s.p.up.get(s.ctx, srv, o)
	if err != nil {
		be.Pool.ReportConnect(srv, err)
		s.fe.Counters.ConnectFail.Add(1)
		return retryable
	}
	if !reused {
		be.Pool.ReportConnect(srv, nil)
	}
	sent := mono()
	s.log.connect = time.Duration(sent - began)
	out, keep := s.exchange(uc, srv, to, reused, sent)
	if keep {
		s.p.up.put(srv, uc, be.MaxIdle, be.IdleTimeout, mono())
	} else {
		uc.c.Close()
	}
	return out
}

// replayable reports whether the request may be sent again after a failure
// that may have reached the server: an idempotent method and no body.
func (s *session) replayable() bool {
	if s.req.ContentLength > 0 || s.req.Chunked {
		return false
	}
	switch string(s.req.Method) {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return false
}

// exchange sends the request over uc and streams the response to the
// client. keep says uc may carry another request.
func (s *session) exchange(uc *upConn, srv *backend.Server, to runtime.Timeouts, reused bool, sent int64) (outcome, bool) {
	req := &s.req
	up := &uc.tc
	up.setTimeouts(to.Server, to.Server)
	hasBody := req.ContentLength > 0 || req.Chunked
	s.out = s.appendRequestHead(s.out[:0], srv)
	// A small body already read with the head goes out in the same write.
	inline := !req.Expect100 && req.ContentLength > 0 && req.ContentLength <= int64(s.r.Buffered()) && req.ContentLength <= 16<<10
	if inline {
		n := len(s.out)
		s.out = slices.Grow(s.out, int(req.ContentLength))[:n+int(req.ContentLength)]
		io.ReadFull(s.r, s.out[n:])
		hasBody = false
	}
	var err error
	if hasBody || req.Expect100 {
		_, err = up.Write(s.out)
	} else {
		err = uc.sendAndWait(s.out) // the whole request: the answer comes next
	}
	if err != nil {
		if inline {
			return s.upstreamFailed(err, false), false
		}
		return retryable, false // nothing of the body was read yet: it can go elsewhere
	}
	if req.Expect100 && hasBody {
		cont, out := s.awaitContinue(uc, srv)
		if !cont {
			return out, false
		}
	}
	if hasBody {
		buf := s.p.bufs.Get().(*[]byte)
		_, err := h1.CopyBody(up, s.r, req.ContentLength, req.Chunked, false, *buf)
		s.p.bufs.Put(buf)
		if err != nil {
			var he *h1.Error
			if errors.As(err, &he) {
				s.closeAfter = true
				s.fail(he.Status, he.Msg)
				return failed, false
			}
			if isClientErr(err, s.r) {
				s.closeAfter = true
				return failed, false
			}
			s.fail(502, "the server failed while receiving the request")
			return failed, false
		}
		s.log.bytesIn += req.ContentLength
	}
	resp, out := s.readResponse(uc, reused && !hasBody)
	if resp == nil {
		if out != retryable || !reused {
			srv.Pool().ReportResponse(srv, true, "no response")
		}
		return out, false
	}
	if resp.Status >= 500 {
		srv.Pool().ReportResponse(srv, true, "status "+strconv.Itoa(resp.Status))
		if !s.lastTry && s.be.RetryOn.Status(resp.Status) && s.replayable() {
			return retryable, false // the answer is dropped with its connection
		}
	} else {
		srv.Pool().ReportResponse(srv, false, "")
	}
	took := time.Duration(mono() - sent)
	srv.State.Load.Observe(int64(took), sent+int64(took)+epoch.UnixNano())
	s.log.response = took
	return done, s.relayResponse(uc, srv)
}

// awaitContinue reads the server's answer to Expect: 100-continue: on 100 it
// tells the client to go on; on a final status it relays that response and
// the client's body is never read.
func (s *session) awaitContinue(uc *upConn, srv *backend.Server) (cont bool, out outcome) {
	if err := uc.r.ReadResponse(&s.resp, false); err != nil {
		return false, s.upstreamFailed(err, true)
	}
	if s.resp.Status == 100 {
		s.cc.Write([]byte("HTTP/1.1 100 Continue\r\n\r\n"))
		return true, done
	}
	s.closeAfter = true // the body the client may still send is never read
	s.relayResponse(uc, srv)
	return false, done
}

// readResponse reads the final response head, relaying interim (1xx)
// responses. retryStale lets a reused connection that the server had closed
// count as retryable even for requests that are not replayable, since the
// server never saw the request.
func (s *session) readResponse(uc *upConn, retryStale bool) (*h1.Response, outcome) {
	head := string(s.req.Method) == "HEAD"
	for {
		err := uc.r.ReadResponse(&s.resp, head)
		if err != nil {
			if retryStale && uc.r.Buffered() == 0 && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) {
				return nil, retryable
			}
			return nil, s.upstreamFailed(err, false)
		}
		if s.resp.Status >= 200 || s.resp.Status == 101 {
			return &s.resp, done
		}
		// 1xx other than 101: pass it on and read on.
		s.out = s.appendResponseHead(s.out[:0])
		s.cc.Write(s.out)
	}
}

// upstreamFailed turns a server error into a retry (as retry_on allows)
// or an error response.
func (s *session) upstreamFailed(err error, _ bool) outcome {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		if !s.lastTry && s.be.RetryOn&runtime.RetryResponseTimeout != 0 && s.replayable() {
			return retryable
		}
		s.fail(504, "the server did not answer in time")
		return failed
	}
	if s.be.RetryOn&runtime.RetryEmptyResponse != 0 && s.replayable() {
		return retryable
	}
	var he *h1.Error
	if errors.As(err, &he) {
		s.fail(502, "the server sent an invalid response")
		return failed
	}
	s.fail(502, "the server closed the connection")
	return failed
}

// isClientErr tells a failure reading the client's body from one writing
// to the server.
func isClientErr(err error, _ *h1.Reader) bool {
	var ce *clientError
	return errors.As(err, &ce) || errors.Is(err, io.ErrUnexpectedEOF)
}

// clientError marks an error on the client connection.
type clientError struct{ err error }

func (e *clientError) Error() string { return "client: " + e.err.Error() }
func (e *clientError) Unwrap() error { return e.err }

// relayResponse writes the response head and streams its body to the
// client; it reports whether the server connection may be reused.
func (s *session) relayResponse(uc *upConn, srv *backend.Server) bool {
	resp := &s.resp
	if resp.BodyUntilClose() || s.p.draining.Load() {
		s.closeAfter = true
	}
	s.log.status = resp.Status
	s.out = s.appendResponseHead(s.out[:0])
	// A small body already buffered goes out with the head, in one write.
	body := !resp.NoBody
	if body && resp.ContentLength >= 0 && resp.ContentLength <= int64(uc.r.Buffered()) && resp.ContentLength <= 16<<10 {
		n := len(s.out)
		s.out = slices.Grow(s.out, int(resp.ContentLength))[:n+int(resp.ContentLength)]
		io.ReadFull(uc.r, s.out[n:])
		s.log.bytesOut += resp.ContentLength
		body = false
	}
	s.committed = true
	if !body && resp.Status != 101 && !resp.Close && s.canRespondAndWait() {
		// Sent with the wait for the next request, once this exchange
		// is over (the server connection back in its pool).
		s.pending = true
		return true
	}
	if _, err := s.cc.Write(s.out); err != nil {
		s.closeAfter = true
		return false
	}
	if resp.Status == 101 {
		s.closeAfter = true
		s.tunnel(uc)
		return false
	}
	if !body {
		return !resp.Close
	}
	buf := s.p.bufs.Get().(*[]byte)
	n, spliced, err := s.spliceBody(uc, *buf)
	if !spliced {
		n, err = h1.CopyBody(s.cc, uc.r, resp.ContentLength, resp.Chunked, resp.BodyUntilClose(), *buf)
	}
	s.p.bufs.Put(buf)
	s.log.bytesOut += n
	if err != nil {
		s.closeAfter = true
		return false
	}
	return !resp.Close && !resp.BodyUntilClose()
}

// spliceMin is the shortest response body, after what the server's
// connection has buffered, that goes to the client with splice(2).
const spliceMin = 64 << 10

// spliceStep is the most a response body moves in one splice from the
// server before it goes on to the client. With whole pipes (1 MiB), one
// connection's burst held the others up: 1 MiB responses, 16 connections
// over two servers, fulcrum on one core, p99 46.1 ms against HAProxy's
// 17.3; in 128 KiB steps 14.5 ms, at 2075 responses/s instead of 2381
// (HAProxy 1631). 32 and 64 KiB steps gave the same p99, 256 KiB 41 ms.
const spliceStep = 128 << 10

// spliceBody moves a long response body (of known length, or until the
// server closes) from a plain TCP server connection to a plain TCP client
// with splice(2), so that its bytes never pass through user space; what
// the server connection has buffered goes first, through buf. It reports
// whether it did; if not, nothing was moved. The timeouts are those of a
// copy: each wait for the server is bounded by timeout_server, each wait
// for the client by timeout_client.
func (s *session) spliceBody(uc *upConn, buf []byte) (n int64, ok bool, err error) {
	resp := &s.resp
	if resp.Chunked || s.tls != nil {
		return 0, false, nil
	}
	up, isTCP := uc.tc.Conn.(*net.TCPConn)
	if !isTCP {
		return 0, false, nil
	}
	length, buffered := resp.ContentLength, int64(uc.r.Buffered())
	switch {
	case length >= 0 && length-buffered >= spliceMin:
	case length < 0 && resp.BodyUntilClose():
	default:
		return 0, false, nil
	}
	cl, isTCP := s.conn().(*net.TCPConn)
	if !isTCP {
		return 0, false, nil
	}
	sp, err := splice.New(cl, up)
	if err != nil {
		return 0, false, nil
	}
	if buffered > 0 {
		if length >= 0 {
			buffered = min(buffered, length)
		}
		if n, err = h1.CopyBody(s.cc, uc.r, buffered, false, false, buf); err != nil {
			return n, true, err
		}
	}
	sp.ArmRead, sp.ArmWrite, sp.Step = uc.tc.armRead, s.cc.armWrite, spliceStep
	s.p.spliced.Add(1)
	left := int64(1 << 62)
	if length >= 0 {
		left = length - n
	}
	m, err := sp.Move(left)
	n += m
	if err == nil && length >= 0 && m < left {
		err = io.ErrUnexpectedEOF
	}
	return n, true, err
}

// proxyHeader is the PROXY protocol header telling a server about this
// session's client.
func (s *session) proxyHeader(version string) []byte {
	var src, dst netip.AddrPort
	if c := s.conn(); c != nil {
		src, dst = addrPortOf(c.RemoteAddr()), addrPortOf(c.LocalAddr())
	}
	if version == "v1" {
		return proxyproto.AppendV1(nil, src, dst)
	}
	return proxyproto.AppendV2(nil, src, dst)
}

func addrPortOf(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}
