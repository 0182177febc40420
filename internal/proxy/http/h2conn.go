package http

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	nethttp "net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/fulcrum-lb/fulcrum/internal/runtime"
)

// An HTTP/2 connection whose streams all go to HTTP/1.1 backends is served
// here rather than by the standard library's HTTP/2 server: frames are read
// and written with golang.org/x/net/http2's Framer and HPACK, and each
// stream's request is handed to h2Handler.ServeHTTP, run by a pooled worker
// goroutine, with a ResponseWriter that writes the stream's frames itself.
// No goroutine, channel or timer per stream besides that worker, no
// goroutine whose stack grows anew per stream; frames still go out through
// batchConn, so the answers of many streams share one TLS record and one
// system call.
//
// The reading goroutine (serve) owns the stream table's additions and
// frame reading; the workers write their stream's frames. h2conn.mu guards
// what both share: the stream table, the flow-control windows and each
// stream's request body; h2conn.wmu the Framer's writing side and the
// HPACK encoder.

const (
	// h2MaxStreams is how many streams a client may have open at once
	// (SETTINGS_MAX_CONCURRENT_STREAMS), as the standard library's server
	// was configured.
	h2MaxStreams = 250
	// h2StreamWindow is what a client may send on one stream before the
	// handler reads it, and h2ConnWindow on the whole connection: the
	// request body bytes buffered per connection stay below it.
	h2StreamWindow = 256 << 10
	h2ConnWindow   = 1 << 20
)

// nativeH2 says whether the streams of fe's HTTP/2 connections can be
// served by h2conn: when every backend they can reach speaks HTTP/1.1 to
// its servers. Backends with proto h2 or h2c (gRPC) need the standard
// library's server and ReverseProxy.
func nativeH2(fe *runtime.Frontend) bool {
	if fe.Backend != nil && fe.Backend.Proto != "" {
		return false
	}
	for _, be := range fe.Backends {
		if be.Proto != "" {
			return false
		}
	}
	return true
}

// h2conn is one HTTP/2 client connection served natively.
type h2conn struct {
	p      *Proxy
	h      *h2Handler
	c      net.Conn
	bc     *batchConn
	fr     *http2.Framer
	ctx    context.Context // ends when the connection does
	cancel context.CancelFunc
	idle   time.Duration // timeout_client: how long it may stay without a stream
	done   chan struct{} // closed when serve has returned
	remote string        // the client's address, as Request.RemoteAddr

	wmu   sync.Mutex // the Framer's writes, henc and hbuf
	henc  *hpack.Encoder
	hbuf  bytes.Buffer
	lower map[string]string // header names in lower case, by canonical name

	maxFrame atomic.Int32 // the largest frame payload the client takes

	// The reading goroutine's: the header block being read and what it
	// decodes to.
	hdec    *hpack.Decoder
	hblock  []byte
	head    h2head
	maxHead int // the decoded size a header block may have

	mu          sync.Mutex
	flow        sync.Cond // on mu: a send window grew, or a stream or the connection ended
	streams     map[uint32]*h2stream
	active      int   // streams in the table
	sendWin     int64 // the connection's send window
	initWin     int64 // the client's initial stream send window
	recvWin     int64 // what the client may still send on the connection
	recvUnacked int64 // bytes consumed not yet given back with WINDOW_UPDATE
	lastID      uint32
	goAway      bool // no new streams: draining
	started     bool // the server's SETTINGS went out: GOAWAY may follow
	closed      bool
	running     sync.WaitGroup // handlers of this connection's streams
	spareHdrs   []nethttp.Header
}

// h2stream is one stream: its request, body and response state.
type h2stream struct {
	sc   *h2conn
	id   uint32
	req  *nethttp.Request
	body h2body

	// Under sc.mu.
	sendWin   int64
	recvWin   int64
	buf       []byte // received body bytes not read yet: buf[off:]
	off       int
	unacked   int64 // body bytes read, not yet given back to the stream's window
	declared  int64 // content-length, or -1
	received  int64
	ended     bool  // the client ended the stream (END_STREAM)
	bodyErr   error // the body is broken
	reset     bool  // the stream was reset (by either side) or is done
	discard   bool  // the handler closed the body: what comes is dropped
	bodyReady sync.Cond
	// The stream is its request's context (see Done); canceled says it
	// is done, done is Done's channel once asked for, after the funcs
	// registered by AfterFunc.
	canceled bool
	done     chan struct{}
	after    []*h2after
	// watched is a server connection to cut short when the stream is
	// done (watch); cut says that happened.
	watched net.Conn
	cut     bool

	// The handler's alone.
	hdr         nethttp.Header
	status      int
	wroteHeader bool
	sentHead    bool
	head        bool  // a HEAD request: no body goes out
	expect      bool  // 100-continue is due when the body is first read
	length      int64 // the response's content-length, or -1
	written     int64 // body bytes written
	sentAll     bool  // the response ended the stream
}

// serveH2Native serves an HTTP/2 connection until it ends. c's next bytes
// are the client's connection preface.
func (p *Proxy) serveH2Native(ctx context.Context, c net.Conn, fe *runtime.Frontend, h *h2Handler) {
	cctx, cancel := context.WithCancel(ctx)
	sc := &h2conn{p: p, h: h, c: c, ctx: cctx, cancel: cancel, idle: fe.TimeoutClient, done: make(chan struct{}),
		streams: make(map[uint32]*h2stream), sendWin: 65535, initWin: 65535, recvWin: h2ConnWindow,
		lower: make(map[string]string), remote: h.srcAP.String()}
	defer close(sc.done)
	defer cancel()
	sc.flow.L = &sc.mu
	sc.maxFrame.Store(16384)
	sc.bc = newBatchConn(c, fe.TimeoutClient)
	defer sc.bc.Close()
	sc.fr = http2.NewFramer(sc.bc, sc.bc)
	sc.fr.SetMaxReadFrameSize(16384)
	sc.fr.SetReuseFrames()
	sc.maxHead = 2 * p.opts.HeadSize
	sc.hdec = hpack.NewDecoder(4096, sc.onField)
	sc.hdec.SetMaxStringLength(4 * sc.maxHead) // as a block may be: a longer head is answered 431
	sc.henc = hpack.NewEncoder(&sc.hbuf)
	if !p.trackH2(sc, true) {
		return
	}
	defer p.trackH2(sc, false)
	sc.serve()
}

// serve reads frames until the connection ends, then ends every stream.
func (sc *h2conn) serve() {
	defer func() {
		sc.mu.Lock()
		sc.closed = true
		var fns []func()
		for _, st := range sc.streams {
			st.reset = true
			st.bodyReady.Broadcast()
			fns = st.cancelLocked(fns)
		}
		sc.flow.Broadcast()
		sc.mu.Unlock()
		runAfter(fns)
		sc.cancel()
		sc.bc.Close() // a handler's write no longer waits for the client
		sc.running.Wait()
	}()
	if sc.idle > 0 {
		sc.c.SetReadDeadline(time.Now().Add(sc.idle))
	}
	var pre [24]byte
	if _, err := io.ReadFull(sc.bc, pre[:]); err != nil || !bytes.Equal(pre[:], h2Preface) {
		return
	}
	if err := sc.write(func() error {
		if err := sc.fr.WriteSettings(
			http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: h2MaxStreams},
			http2.Setting{ID: http2.SettingInitialWindowSize, Val: h2StreamWindow},
			http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: uint32(sc.maxHead)},
		); err != nil {
			return err
		}
		return sc.fr.WriteWindowUpdate(0, h2ConnWindow-65535)
	}); err != nil {
		return
	}
	sc.mu.Lock()
	sc.started = true
	goAway := sc.goAway
	sc.mu.Unlock()
	if goAway { // shut down before it began
		sc.goAwayAndClose(http2.ErrCodeNo)
		return
	}
	for {
		f, err := sc.fr.ReadFrame()
		if err != nil {
			var se http2.StreamError
			var ce http2.ConnectionError
			switch {
			case errors.As(err, &se):
				sc.resetStream(se.StreamID, se.Code)
				continue
			case errors.As(err, &ce):
				sc.goAwayAndClose(http2.ErrCode(ce))
			case errors.Is(err, http2.ErrFrameTooLarge):
				sc.goAwayAndClose(http2.ErrCodeFrameSize)
			case errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF):
			default:
				if isTimeout(err) {
					sc.mu.Lock()
					busy := sc.active > 0
					sc.mu.Unlock()
					if busy {
						continue // a stream began as the wait ran out
					}
					sc.goAwayAndClose(http2.ErrCodeNo)
				}
			}
			return
		}
		var cerr http2.ErrCode
		switch f := f.(type) {
		case *http2.HeadersFrame:
			sc.head.id, sc.head.ended = f.StreamID, f.StreamEnded()
			if f.HeadersEnded() {
				cerr = sc.decodeHead(f.HeaderBlockFragment())
			} else {
				sc.hblock = append(sc.hblock[:0], f.HeaderBlockFragment()...)
			}
		case *http2.ContinuationFrame:
			// The Framer sees that it follows HEADERS on the same stream.
			if sc.hblock = append(sc.hblock, f.HeaderBlockFragment()...); len(sc.hblock) > 4*sc.maxHead {
				cerr = http2.ErrCodeEnhanceYourCalm
			} else if f.HeadersEnded() {
				cerr = sc.decodeHead(sc.hblock)
				sc.hblock = sc.hblock[:0]
			}
		case *http2.DataFrame:
			cerr = sc.onData(f)
		case *http2.WindowUpdateFrame:
			cerr = sc.onWindowUpdate(f)
		case *http2.SettingsFrame:
			cerr = sc.onSettings(f)
		case *http2.PingFrame:
			if !f.IsAck() {
				data := f.Data
				sc.write(func() error { return sc.fr.WritePing(true, data) })
			}
		case *http2.RSTStreamFrame:
			cerr = sc.onReset(f)
		case *http2.GoAwayFrame:
			// The client opens no more streams; those open go on.
		case *http2.PriorityFrame:
			if f.StreamID == f.StreamDep {
				sc.resetStream(f.StreamID, http2.ErrCodeProtocol)
			}
		case *http2.PushPromiseFrame:
			cerr = http2.ErrCodeProtocol
		}
		if cerr != http2.ErrCodeNo {
			sc.goAwayAndClose(cerr)
			return
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// write runs fn, which writes frames, alone.
func (sc *h2conn) write(fn func() error) error {
	sc.wmu.Lock()
	defer sc.wmu.Unlock()
	return fn()
}

// goAwayAndClose tells the client the connection ends, with code, and
// ends it: what is queued still goes out (batchConn.Close).
func (sc *h2conn) goAwayAndClose(code http2.ErrCode) {
	sc.mu.Lock()
	last := sc.lastID
	sc.goAway = true
	sc.mu.Unlock()
	sc.write(func() error { return sc.fr.WriteGoAway(last, code, nil) })
	sc.bc.Close()
}

// resetStream resets stream id with code and forgets it.
func (sc *h2conn) resetStream(id uint32, code http2.ErrCode) {
	var fns []func()
	sc.mu.Lock()
	if st := sc.streams[id]; st != nil {
		st.reset = true
		st.bodyReady.Broadcast()
		sc.flow.Broadcast()
		fns = st.cancelLocked(nil)
	}
	sc.mu.Unlock()
	runAfter(fns)
	sc.write(func() error { return sc.fr.WriteRSTStream(id, code) })
}

// onHeaders opens a stream, or takes a stream's trailers. It returns a
// connection error, or ErrCodeNo.
func (sc *h2conn) onHeaders(f *h2head) http2.ErrCode {
	id := f.id
	if id%2 == 0 {
		return http2.ErrCodeProtocol
	}
	sc.mu.Lock()
	if st := sc.streams[id]; st != nil {
		// Trailers: they must end the stream.
		if st.ended {
			sc.mu.Unlock()
			sc.resetStream(id, http2.ErrCodeStreamClosed)
			return http2.ErrCodeNo
		}
		defer sc.mu.Unlock()
		if !f.ended {
			return http2.ErrCodeProtocol
		}
		if f.invalid || f.has != 0 {
			st.bodyErr = errors.New("malformed trailers")
		} else if !st.reset && !st.discard {
			tr := make(nethttp.Header)
			for _, hf := range f.fields {
				k := nethttp.CanonicalHeaderKey(hf.Name)
				tr[k] = append(tr[k], hf.Value)
			}
			st.req.Trailer = tr // read by the handler only after the body's end
		}
		st.endBody()
		return http2.ErrCodeNo
	}
	if id <= sc.lastID {
		sc.mu.Unlock()
		return http2.ErrCodeStreamClosed
	}
	sc.lastID = id
	refuse := sc.goAway || sc.active >= h2MaxStreams
	sc.mu.Unlock()
	if refuse {
		sc.write(func() error { return sc.fr.WriteRSTStream(id, http2.ErrCodeRefusedStream) })
		return http2.ErrCodeNo
	}
	st := &h2stream{sc: sc, id: id, declared: -1}
	st.body.st = st
	st.bodyReady.L = &sc.mu
	if f.truncated {
		sc.write(func() error { return sc.writeHeaderBlock(id, 431, nil, false, true) })
		return http2.ErrCodeNo
	}
	if f.invalid || !st.buildRequest(f) {
		sc.write(func() error { return sc.fr.WriteRSTStream(id, http2.ErrCodeProtocol) })
		return http2.ErrCodeNo
	}
	sc.mu.Lock()
	st.sendWin, st.recvWin = sc.initWin, h2StreamWindow
	st.ended = f.ended
	sc.streams[id] = st
	sc.active++
	if sc.active == 1 && sc.idle > 0 {
		sc.c.SetReadDeadline(time.Time{})
	}
	sc.mu.Unlock()
	sc.running.Add(1)
	sc.p.h2run(st)
	return http2.ErrCodeNo
}

// buildRequest makes the stream's request from its header block; false
// when the block is malformed (RFC 9113, 8.2 and 8.3).
func (st *h2stream) buildRequest(f *h2head) bool {
	method, path := f.pseudo[pMethod], f.pseudo[pPath]
	scheme, authority := f.pseudo[pScheme], f.pseudo[pAuthority]
	if f.has&(1<<pProtocol) != 0 {
		return false // extended CONNECT is not offered
	}
	var u *url.URL
	if method == "CONNECT" {
		if path != "" || scheme != "" || authority == "" {
			return false
		}
		u = &url.URL{Host: authority}
		path = authority
	} else {
		if method == "" || path == "" || scheme == "" {
			return false
		}
		var err error
		if path == "*" && method == "OPTIONS" {
			u = &url.URL{Path: "*"}
		} else if u, err = url.ParseRequestURI(path); err != nil {
			return false
		}
	}
	if !httpguts.ValidHeaderFieldName(method) { // a token
		return false
	}
	fields := f.fields
	hdr := st.sc.takeHeader()
	vals := make([]string, len(fields)) // every field's first value, one allocation
	var cookies []string
	for _, hf := range fields {
		switch hf.Name {
		case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
			return false
		case "te":
			if hf.Value != "trailers" {
				return false
			}
		case "cookie":
			cookies = append(cookies, hf.Value)
			continue
		case "content-length":
			n, err := strconv.ParseInt(hf.Value, 10, 64)
			if err != nil || n < 0 || st.declared >= 0 && st.declared != n {
				return false
			}
			st.declared = n
		}
		k := nethttp.CanonicalHeaderKey(hf.Name)
		if vs := hdr[k]; vs != nil {
			hdr[k] = append(vs, hf.Value)
		} else {
			vals[0] = hf.Value
			hdr[k], vals = vals[:1:1], vals[1:]
		}
	}
	if len(cookies) > 0 {
		hdr["Cookie"] = []string{strings.Join(cookies, "; ")}
	}
	if authority == "" {
		authority = hdr.Get("Host")
	}
	r := (&nethttp.Request{Method: method, URL: u, Proto: "HTTP/2.0", ProtoMajor: 2, Header: hdr,
		Host: authority, RequestURI: path, RemoteAddr: st.sc.remote}).WithContext(st)
	switch {
	case f.ended:
		if st.declared > 0 {
			return false
		}
		r.Body = nethttp.NoBody
	default:
		r.Body = &st.body
		r.ContentLength = st.declared
		st.expect = strings.EqualFold(hdr.Get("Expect"), "100-continue")
	}
	st.head = method == "HEAD"
	st.req = r
	return true
}

// onData takes body bytes for a stream.
func (sc *h2conn) onData(f *http2.DataFrame) http2.ErrCode {
	id, n := f.StreamID, int64(f.Length)
	data := f.Data()
	sc.mu.Lock()
	if sc.recvWin -= n; sc.recvWin < 0 {
		sc.mu.Unlock()
		return http2.ErrCodeFlowControl
	}
	st := sc.streams[id]
	if st == nil || st.ended {
		closed := st != nil
		sc.mu.Unlock()
		if id > sc.lastID {
			return http2.ErrCodeProtocol
		}
		sc.giveBack(nil, 0, n)
		if closed {
			sc.resetStream(id, http2.ErrCodeStreamClosed)
		}
		return http2.ErrCodeNo
	}
	if st.recvWin -= n; st.recvWin < 0 {
		sc.mu.Unlock()
		sc.giveBack(nil, 0, n)
		sc.resetStream(id, http2.ErrCodeFlowControl)
		return http2.ErrCodeNo
	}
	st.received += int64(len(data))
	bad := st.declared >= 0 && (st.received > st.declared || f.StreamEnded() && st.received != st.declared)
	drop := n // what is not kept: padding, or all of it
	if !st.reset && !st.discard && !bad {
		if st.off == len(st.buf) {
			st.buf, st.off = st.buf[:0], 0
		}
		st.buf = append(st.buf, data...)
		drop -= int64(len(data))
	}
	if bad {
		st.bodyErr = errors.New("the request body does not match its content-length")
	}
	if f.StreamEnded() || bad {
		st.endBody()
	} else {
		st.bodyReady.Broadcast()
	}
	sc.mu.Unlock()
	if drop > 0 {
		sc.giveBack(st, drop, drop)
	}
	if bad {
		sc.resetStream(id, http2.ErrCodeProtocol)
	}
	return http2.ErrCodeNo
}

// endBody marks the request body complete (sc.mu held).
func (st *h2stream) endBody() {
	st.ended = true
	st.bodyReady.Broadcast()
}

// giveBack returns n bytes to the stream's receive window (st nil: none)
// and connN to the connection's, with WINDOW_UPDATE frames once a quarter
// of a window is due.
func (sc *h2conn) giveBack(st *h2stream, n, connN int64) {
	var sInc, cInc int64
	sc.mu.Lock()
	if st != nil && !st.ended && !st.reset {
		st.unacked += n
		if st.unacked >= h2StreamWindow/4 {
			sInc, st.unacked = st.unacked, 0
			st.recvWin += sInc
		}
	}
	sc.recvUnacked += connN
	if sc.recvUnacked >= h2ConnWindow/4 {
		cInc, sc.recvUnacked = sc.recvUnacked, 0
		sc.recvWin += cInc
	}
	sc.mu.Unlock()
	if sInc == 0 && cInc == 0 {
		return
	}
	sc.write(func() error {
		if sInc > 0 {
			if err := sc.fr.WriteWindowUpdate(st.id, uint32(sInc)); err != nil {
				return err
			}
		}
		if cInc > 0 {
			return sc.fr.WriteWindowUpdate(0, uint32(cInc))
		}
		return nil
	})
}

func (sc *h2conn) onWindowUpdate(f *http2.WindowUpdateFrame) http2.ErrCode {
	inc := int64(f.Increment)
	sc.mu.Lock()
	if f.StreamID == 0 {
		sc.sendWin += inc
		over := sc.sendWin > 1<<31-1
		sc.flow.Broadcast()
		sc.mu.Unlock()
		if over {
			return http2.ErrCodeFlowControl
		}
		return http2.ErrCodeNo
	}
	if f.StreamID > sc.lastID {
		sc.mu.Unlock()
		return http2.ErrCodeProtocol
	}
	over := false
	if st := sc.streams[f.StreamID]; st != nil {
		st.sendWin += inc
		over = st.sendWin > 1<<31-1
		sc.flow.Broadcast()
	}
	sc.mu.Unlock()
	if over {
		sc.resetStream(f.StreamID, http2.ErrCodeFlowControl)
	}
	return http2.ErrCodeNo
}

func (sc *h2conn) onSettings(f *http2.SettingsFrame) http2.ErrCode {
	if f.IsAck() {
		return http2.ErrCodeNo
	}
	code := http2.ErrCodeNo
	f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			code = http2.ErrCodeProtocol
			if s.ID == http2.SettingInitialWindowSize {
				code = http2.ErrCodeFlowControl
			}
			return err
		}
		switch s.ID {
		case http2.SettingInitialWindowSize:
			sc.mu.Lock()
			delta := int64(s.Val) - sc.initWin
			sc.initWin = int64(s.Val)
			for _, st := range sc.streams {
				st.sendWin += delta
			}
			sc.flow.Broadcast()
			sc.mu.Unlock()
		case http2.SettingMaxFrameSize:
			sc.maxFrame.Store(int32(s.Val))
		case http2.SettingHeaderTableSize:
			sc.write(func() error { sc.henc.SetMaxDynamicTableSizeLimit(s.Val); return nil })
		}
		return nil
	})
	if code != http2.ErrCodeNo {
		return code
	}
	sc.write(func() error { return sc.fr.WriteSettingsAck() })
	return http2.ErrCodeNo
}

func (sc *h2conn) onReset(f *http2.RSTStreamFrame) http2.ErrCode {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if f.StreamID > sc.lastID {
		return http2.ErrCodeProtocol
	}
	var fns []func()
	if st := sc.streams[f.StreamID]; st != nil {
		st.reset = true
		fns = st.cancelLocked(nil)
		st.bodyReady.Broadcast()
		sc.flow.Broadcast()
	}
	runAfter(fns) // each on a goroutine of its own: nothing waits for sc.mu
	return http2.ErrCodeNo
}

// Shutdown tells the client no new stream will be served (GOAWAY) and
// closes the connection once its streams are done, or when ctx ends.
func (sc *h2conn) Shutdown(ctx context.Context) error {
	sc.mu.Lock()
	sc.goAway = true
	last, idle, started := sc.lastID, sc.active == 0, sc.started
	sc.mu.Unlock()
	if started { // else serve sends it once its SETTINGS are out
		sc.write(func() error { return sc.fr.WriteGoAway(last, http2.ErrCodeNo, nil) })
		if idle {
			sc.bc.Close()
		}
	}
	select {
	case <-sc.done:
	case <-ctx.Done():
		sc.bc.Close()
		<-sc.done
	}
	return nil
}

// writeHeaderBlock writes a HEADERS frame (and CONTINUATION frames as
// needed) on stream id: the response head with status, or with status 0
// trailers (hdr's TrailerPrefix fields); end ends the stream. sc.wmu held.
func (sc *h2conn) writeHeaderBlock(id uint32, status int, hdr nethttp.Header, trailers, end bool) error {
	sc.hbuf.Reset()
	if !trailers {
		sc.henc.WriteField(hpack.HeaderField{Name: ":status", Value: statusString(status)})
	}
	hasDate := false
	for k, vs := range hdr {
		isTrailer := strings.HasPrefix(k, nethttp.TrailerPrefix)
		if isTrailer != trailers {
			continue
		}
		if trailers {
			k = k[len(nethttp.TrailerPrefix):]
		}
		switch k {
		case "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "Trailer":
			continue
		case "Date":
			hasDate = true
		}
		name := sc.lowerName(k)
		for _, v := range vs {
			sc.henc.WriteField(hpack.HeaderField{Name: name, Value: v})
		}
	}
	if !trailers && !hasDate {
		sc.henc.WriteField(hpack.HeaderField{Name: "date", Value: sc.p.date()})
	}
	block := sc.hbuf.Bytes()
	frame := int(sc.maxFrame.Load())
	first := true
	for first || len(block) > 0 {
		n := min(len(block), frame)
		var err error
		if first {
			err = sc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block[:n], EndStream: end, EndHeaders: n == len(block)})
		} else {
			err = sc.fr.WriteContinuation(id, n == len(block), block[:n])
		}
		if err != nil {
			return err
		}
		block, first = block[n:], false
	}
	return nil
}

// lowerName is a header's canonical name in lower case, as HTTP/2 has it
// (sc.wmu held).
func (sc *h2conn) lowerName(k string) string {
	if l, ok := sc.lower[k]; ok {
		return l
	}
	l := strings.ToLower(k)
	if len(sc.lower) < 256 {
		sc.lower[k] = l
	}
	return l
}

var statusStrings = func() (s [600]string) {
	for i := 100; i < 600; i++ {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

func statusString(code int) string {
	if code >= 100 && code < 600 {
		return statusStrings[code]
	}
	return strconv.Itoa(code)
}

// h2body is a stream's request body as the handler reads it.
type h2body struct{ st *h2stream }

var errStreamReset = errors.New("http2: stream reset")

func (b *h2body) Read(p []byte) (int, error) {
	st := b.st
	sc := st.sc
	if st.expect {
		st.expect = false
		if !st.sentHead {
			sc.write(func() error { return sc.writeHeaderBlock(st.id, 100, nil, false, false) })
		}
	}
	sc.mu.Lock()
	for st.off == len(st.buf) && !st.ended && st.bodyErr == nil && !st.reset {
		st.bodyReady.Wait()
	}
	var n int
	var err error
	switch {
	case st.off < len(st.buf) && !st.reset:
		n = copy(p, st.buf[st.off:])
		st.off += n
	case st.bodyErr != nil:
		err = st.bodyErr
	case st.reset:
		err = errStreamReset
	default:
		err = io.EOF
	}
	sc.mu.Unlock()
	if n > 0 {
		sc.giveBack(st, int64(n), int64(n))
	}
	return n, err
}

// Close drops what is left of the body; what still comes is dropped too.
func (b *h2body) Close() error {
	st := b.st
	sc := st.sc
	sc.mu.Lock()
	left := int64(len(st.buf) - st.off)
	st.buf, st.off, st.discard = nil, 0, true
	sc.mu.Unlock()
	if left > 0 {
		sc.giveBack(nil, 0, left)
	}
	return nil
}

// h2rw is a stream as its handler's ResponseWriter.
type h2rw h2stream

func (w *h2rw) Header() nethttp.Header {
	if w.hdr == nil {
		w.hdr = w.sc.takeHeader()
	}
	return w.hdr
}

// takeHeader returns an empty header map for a request or a response,
// one a finished stream gave back (giveHeader) if there is one: its
// buckets are kept.
func (sc *h2conn) takeHeader() nethttp.Header {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if n := len(sc.spareHdrs); n > 0 {
		h := sc.spareHdrs[n-1]
		sc.spareHdrs = sc.spareHdrs[:n-1]
		return h
	}
	return make(nethttp.Header)
}

// giveHeader keeps h, a header map of a finished stream, for the next
// stream (sc.mu held); a large one is dropped.
func (sc *h2conn) giveHeader(h nethttp.Header) {
	if h != nil && len(h) <= 32 && len(sc.spareHdrs) < 64 {
		clear(h)
		sc.spareHdrs = append(sc.spareHdrs, h)
	}
}

func (w *h2rw) WriteHeader(code int) {
	st := (*h2stream)(w)
	if st.wroteHeader {
		return
	}
	if code >= 100 && code < 200 {
		if code != 101 {
			sc := st.sc
			sc.write(func() error { return sc.writeHeaderBlock(st.id, code, st.hdr, false, false) })
		}
		return
	}
	st.status, st.wroteHeader = code, true
	st.length = -1
	if v := st.hdr["Content-Length"]; len(v) == 1 {
		if n, err := strconv.ParseInt(v[0], 10, 64); err == nil && n >= 0 {
			st.length = n
		}
	}
}

func (w *h2rw) Write(p []byte) (int, error) {
	st := (*h2stream)(w)
	if !st.wroteHeader {
		w.WriteHeader(200)
	}
	if st.head || st.status == 204 || st.status == 304 || st.sentAll {
		return len(p), nil
	}
	// The write that completes a body of known length ends the stream
	// with its last DATA frame (and the head, if it has not gone yet).
	st.written += int64(len(p))
	last := st.length >= 0 && st.written >= st.length
	if err := st.flush(last && len(p) == 0); err != nil {
		return 0, err
	}
	if len(p) > 0 {
		if err := st.sendData(p, last); err != nil {
			return 0, err
		}
	}
	st.sentAll = last
	return len(p), nil
}

// FlushError sends what the handler wrote so far (http.ResponseController).
func (w *h2rw) FlushError() error {
	st := (*h2stream)(w)
	if !st.wroteHeader {
		w.WriteHeader(200)
	}
	return st.flush(false)
}

func (w *h2rw) Flush() { w.FlushError() }

// flush sends the response head if it has not gone yet; end ends the
// stream, with the head or with an empty DATA frame.
func (st *h2stream) flush(end bool) error {
	sc := st.sc
	if !st.sentHead {
		st.sentHead = true
		return sc.write(func() error { return sc.writeHeaderBlock(st.id, st.status, st.hdr, false, end) })
	}
	if end {
		return st.sendData(nil, true)
	}
	return nil
}

// sendData sends p on the stream as DATA frames, as the flow-control
// windows allow; end ends the stream with the last one.
func (st *h2stream) sendData(p []byte, end bool) error {
	sc := st.sc
	for {
		frame := int64(sc.maxFrame.Load())
		sc.mu.Lock()
		var n int64
		for {
			if st.reset || sc.closed {
				sc.mu.Unlock()
				return errStreamReset
			}
			n = min(int64(len(p)), frame, sc.sendWin, st.sendWin)
			if n > 0 || len(p) == 0 {
				break
			}
			sc.flow.Wait()
		}
		n = max(n, 0) // windows a SETTINGS frame shrank may be negative
		sc.sendWin -= n
		st.sendWin -= n
		sc.mu.Unlock()
		last := end && int(n) == len(p)
		if err := sc.write(func() error { return sc.fr.WriteData(st.id, last, p[:n]) }); err != nil {
			return err
		}
		p = p[n:]
		if len(p) == 0 && (last || !end) {
			return nil
		}
	}
}

// run serves the stream's request, then ends the stream.
func (st *h2stream) run() {
	sc := st.sc
	defer sc.running.Done()
	aborted := false
	func() {
		defer func() {
			if e := recover(); e != nil {
				aborted = true
				if e != nethttp.ErrAbortHandler {
					sc.p.log.Error("HTTP/2 stream handler failed", "frontend", sc.h.fe.Name, "panic", e)
				}
			}
		}()
		sc.h.ServeHTTP((*h2rw)(st), st.req)
	}()
	if !aborted && !st.sentAll {
		if !st.wroteHeader {
			(*h2rw)(st).WriteHeader(200)
		}
		var err error
		if hasTrailers(st.hdr) {
			if err = st.flush(false); err == nil {
				err = sc.write(func() error { return sc.writeHeaderBlock(st.id, 0, st.hdr, true, true) })
			}
		} else {
			err = st.flush(true)
		}
		aborted = err != nil
	}
	sc.mu.Lock()
	ended, wasReset := st.ended, st.reset
	st.reset = true
	fns := st.cancelLocked(nil)
	// Nothing refers to the header maps once the handler is done.
	sc.giveHeader(st.hdr)
	sc.giveHeader(st.req.Header)
	st.hdr, st.req.Header = nil, nil
	delete(sc.streams, st.id)
	sc.active--
	last := sc.active == 0
	if last && sc.idle > 0 && !sc.closed {
		sc.c.SetReadDeadline(time.Now().Add(sc.idle))
	}
	left := int64(len(st.buf) - st.off)
	st.buf, st.off = nil, 0
	goAway := sc.goAway
	sc.mu.Unlock()
	runAfter(fns)
	if left > 0 {
		sc.giveBack(nil, 0, left)
	}
	switch {
	case wasReset:
	case aborted:
		sc.write(func() error { return sc.fr.WriteRSTStream(st.id, http2.ErrCodeInternal) })
	case !ended:
		// Answered before the request's end: the rest is not wanted.
		sc.write(func() error { return sc.fr.WriteRSTStream(st.id, http2.ErrCodeNo) })
	}
	if last && goAway {
		sc.bc.Close()
	}
}

func hasTrailers(h nethttp.Header) bool {
	for k := range h {
		if strings.HasPrefix(k, nethttp.TrailerPrefix) {
			return true
		}
	}
	return false
}

// h2run has a pooled worker goroutine serve st, or a new one when none is
// waiting. Workers wait for the next stream for up to h2WorkerIdle, and
// stop when the Proxy closes.
func (p *Proxy) h2run(st *h2stream) {
	select {
	case p.h2jobs <- st:
	default:
		p.wg.Add(1)
		go p.h2worker(st)
	}
}

const h2WorkerIdle = 10 * time.Second

func (p *Proxy) h2worker(st *h2stream) {
	defer p.wg.Done()
	t := time.NewTimer(h2WorkerIdle)
	defer t.Stop()
	for {
		st.run()
		t.Reset(h2WorkerIdle)
		select {
		case st = <-p.h2jobs:
		case <-t.C:
			return
		case <-p.stop:
			return
		}
	}
}

// date is the current time as an HTTP Date field value, remade once a
// second.
func (p *Proxy) date() string {
	now := time.Now()
	if d := p.dateCache.Load(); d != nil && d.sec == now.Unix() {
		return d.s
	}
	d := &dateValue{sec: now.Unix(), s: now.UTC().Format(nethttp.TimeFormat)}
	p.dateCache.Store(d)
	return d.s
}

type dateValue struct {
	sec int64
	s   string
}

// The stream is its request's context: it is done when the stream is
// reset, answered or its connection ends. It costs nothing unless asked
// for its channel, where context.WithCancel and context.AfterFunc would
// cost several allocations per stream.

func (st *h2stream) Deadline() (time.Time, bool) { return st.sc.ctx.Deadline() }
func (st *h2stream) Value(key any) any           { return st.sc.ctx.Value(key) }

func (st *h2stream) Done() <-chan struct{} {
	sc := st.sc
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if st.done == nil {
		st.done = make(chan struct{})
		if st.canceled {
			close(st.done)
		}
	}
	return st.done
}

func (st *h2stream) Err() error {
	sc := st.sc
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if st.canceled {
		return context.Canceled
	}
	return nil
}

// h2after is one func registered with AfterFunc; stopped once it ran or
// was stopped.
type h2after struct {
	st      *h2stream
	f       func()
	stopped bool
}

// AfterFunc runs f on a goroutine of its own once the stream is done,
// unless stopped first (it is what context.AfterFunc calls).
func (st *h2stream) AfterFunc(f func()) func() bool {
	a := &h2after{st: st, f: f}
	sc := st.sc
	sc.mu.Lock()
	if st.canceled {
		a.stopped = true
		sc.mu.Unlock()
		go f()
		return a.stop
	}
	st.after = append(st.after, a)
	sc.mu.Unlock()
	return a.stop
}

// stop keeps a from running: false if it ran (or was stopped) already.
func (a *h2after) stop() bool {
	sc := a.st.sc
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if a.stopped {
		return false
	}
	a.stopped = true
	return true
}

// cancelLocked marks the stream done (sc.mu held) and appends to fns the
// funcs that are due to run (runAfter).
func (st *h2stream) cancelLocked(fns []func()) []func() {
	if st.canceled {
		return fns
	}
	st.canceled = true
	if st.done != nil {
		close(st.done)
	}
	if st.watched != nil {
		st.watched.SetDeadline(time.Unix(1, 0)) // wakes what waits on it; does not block
		st.watched, st.cut = nil, true
	}
	for _, a := range st.after {
		if !a.stopped {
			a.stopped = true
			fns = append(fns, a.f)
		}
	}
	st.after = nil
	return fns
}

// runAfter starts the funcs of a stream that is done.
func runAfter(fns []func()) {
	for _, f := range fns {
		go f()
	}
}

// watch has c's reads and writes fail at once when the stream is done,
// until unwatch: the wait for a server ends when the client resets the
// stream or goes away.
func (st *h2stream) watch(c net.Conn) {
	sc := st.sc
	sc.mu.Lock()
	if st.canceled {
		c.SetDeadline(time.Unix(1, 0))
		st.cut = true
	} else {
		st.watched, st.cut = c, false
	}
	sc.mu.Unlock()
}

// unwatch ends watch; false if c was cut short.
func (st *h2stream) unwatch() bool {
	sc := st.sc
	sc.mu.Lock()
	defer sc.mu.Unlock()
	st.watched = nil
	return !st.cut
}

// h2head is a decoded header block: a request's head, or trailers.
type h2head struct {
	id        uint32
	ended     bool // END_STREAM
	pseudo    [5]string
	has       uint8 // which pseudo fields came (bit i: pseudo[i])
	fields    []hpack.HeaderField
	size      int  // decoded size so far (RFC 9113, 6.5.2)
	truncated bool // past sc.maxHead: the fields after are dropped
	invalid   bool // a field breaks RFC 9113, 8.2 and 8.3
}

// The request pseudo-header fields, indexes of h2head.pseudo.
const (
	pMethod = iota
	pScheme
	pAuthority
	pPath
	pProtocol
)

// decodeHead decodes a complete header block into sc.head and handles it.
func (sc *h2conn) decodeHead(block []byte) http2.ErrCode {
	h := &sc.head
	h.pseudo, h.has, h.fields, h.size, h.truncated, h.invalid = [5]string{}, 0, h.fields[:0], 0, false, false
	if _, err := sc.hdec.Write(block); err != nil {
		return http2.ErrCodeCompression
	}
	if err := sc.hdec.Close(); err != nil {
		return http2.ErrCodeCompression
	}
	return sc.onHeaders(h)
}

// onField takes one decoded field of sc.head (the HPACK decoder's emit
// function): pseudo fields first, each once, then regular ones, with
// lower-case names and valid values.
func (sc *h2conn) onField(hf hpack.HeaderField) {
	h := &sc.head
	if h.truncated || h.invalid {
		return
	}
	if h.size += int(hf.Size()); h.size > sc.maxHead {
		h.truncated = true
		return
	}
	if hf.IsPseudo() {
		i := -1
		switch hf.Name {
		case ":method":
			i = pMethod
		case ":scheme":
			i = pScheme
		case ":authority":
			i = pAuthority
		case ":path":
			i = pPath
		case ":protocol":
			i = pProtocol
		}
		if i < 0 || len(h.fields) > 0 || h.has&(1<<i) != 0 {
			h.invalid = true
			return
		}
		h.pseudo[i], h.has = hf.Value, h.has|1<<i
		return
	}
	if !validWireName(hf.Name) || !httpguts.ValidHeaderFieldValue(hf.Value) {
		h.invalid = true
		return
	}
	h.fields = append(h.fields, hf)
}

// validWireName says name is a field name as HTTP/2 sends it: a token in
// lower case.
func validWireName(name string) bool {
	for i := 0; i < len(name); i++ {
		if c := name[i]; 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return httpguts.ValidHeaderFieldName(name)
}
