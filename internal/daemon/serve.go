package daemon

import (
	"context"
	"crypto/tls"
	"net"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/config"
	"github.com/fulcrum-lb/fulcrum/internal/park"
	httpproxy "github.com/fulcrum-lb/fulcrum/internal/proxy/http"
	"github.com/fulcrum-lb/fulcrum/internal/proxy/tcp"
	"github.com/fulcrum-lb/fulcrum/internal/proxyproto"
	"github.com/fulcrum-lb/fulcrum/internal/runtime"
	"github.com/fulcrum-lb/fulcrum/internal/sni"
	"github.com/fulcrum-lb/fulcrum/internal/tlsconf"
)

// serve hands a connection that passed the gates to its mode's handler,
// terminating TLS on the way when the frontend has ssl. cs.Closed is
// called once the connection is closed: by the http proxy, which may keep
// an idle connection after serve returns, or else when serve returns.
func (d *Daemon) serve(cs *connState, fe *runtime.Frontend) {
	handed := false
	defer func() {
		if !handed {
			cs.Closed()
		}
	}()
	if cs.c == nil {
		fd := cs.fd
		if d.rawEligible(fe) {
			cs.fd = -1 // the proxy's now
			handed = true
			d.http.ServeFD(d.ctx, fd, cs.src, cs.port, fe, cs)
			return
		}
		// A reload changed the frontend since the accept: a Go
		// connection after all.
		cs.fd = -1
		c, err := park.Attach(fd)
		if err != nil {
			d.log.Warn("connection lost", "frontend", fe.Name, "client", cs.src.String(), "err", err)
			return
		}
		cs.Moved(c)
	}
	c := cs.c
	// conn is c as the handlers see it: with the addresses of a PROXY
	// protocol header when one came from a trusted source. tcp mode keeps c
	// itself (for splice) and takes the addresses from t.
	var conn net.Conn = c
	var t tcp.Target
	if len(fe.AcceptProxy) > 0 {
		pc, h, err := proxyproto.Accept(c, fe.AcceptProxy, fe.TimeoutClient)
		if err != nil {
			fe.Counters.ProxyFail.Add(1)
			d.log.Warn("bad PROXY protocol header", "frontend", fe.Name, "client", c.RemoteAddr().String(), "err", err)
			return
		}
		if h != nil && h.Src.IsValid() {
			conn, t.Client, t.Dst = pc, h.Src, h.Dst
		}
	}
	if fe.TLS == nil {
		switch {
		case fe.Mode == config.ModeHTTP:
			handed = true
			d.http.Serve(d.ctx, conn, fe, nil, c, cs)
		case fe.SNIRoutes != nil:
			handed = true
			d.passthrough(c, fe, t, cs.Closed)
		default:
			handed = true
			d.tcp.Serve(d.ctx, c, fe, t, cs.Closed)
		}
		return
	}
	// On a TLS frontend the first byte tells TLS (a handshake record) from
	// plain HTTP: Noxy's examples put one ssl block on :80 and :443.
	var first [1]byte
	c.SetReadDeadline(time.Now().Add(fe.TimeoutClient))
	if _, err := conn.Read(first[:]); err != nil {
		return
	}
	c.SetReadDeadline(time.Time{})
	rc := &replayConn{Conn: conn, pre: first[:]}
	if !tlsconf.IsHandshakeRecord(first[0]) {
		if fe.PlainHTTP && fe.Mode == config.ModeHTTP {
			handed = true
			d.http.Serve(d.ctx, rc, fe, nil, c, cs)
		}
		return // tcp mode, or plain_http off: not for this frontend
	}
	tc := tls.Server(rc, fe.TLS.Config())
	ctx, cancel := context.WithTimeout(d.ctx, fe.TimeoutClient)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		fe.Counters.TLSFail.Add(1)
		d.log.Debug("TLS handshake failed", "frontend", fe.Name, "client", c.RemoteAddr().String(), "err", err)
		return
	}
	info := tlsconf.Info(tc.ConnectionState())
	if fe.Mode == config.ModeHTTP {
		// A TLS connection is never parked: its records are buffered
		// above the socket.
		handed = true
		d.http.Serve(d.ctx, tc, fe, &httpproxy.ConnTLS{
			SNI: info.SNI, Version: info.Version, ALPN: info.ALPN,
			ClientVerified: info.ClientVerified, ClientCN: info.ClientCN, ClientSHA256: info.ClientFingerprint,
		}, nil, cs)
		return
	}
	if fe.SNIRoutes != nil {
		if be, ok := fe.SNIRoutes.Match(info.SNI); ok {
			t.Backend = be
		}
	}
	d.tcp.Serve(d.ctx, tc, fe, t, nil)
}

// passthrough routes a TLS connection it does not terminate by the server
// name of its ClientHello; the server gets the client's bytes unchanged.
// closed is called once the connection is closed (tcp.Proxy.Serve).
func (d *Daemon) passthrough(c *net.TCPConn, fe *runtime.Frontend, t tcp.Target, closed func()) {
	hello, buffered, err := sni.Peek(c, fe.TimeoutClient, 0)
	if err != nil {
		d.log.Debug("no TLS ClientHello to route by", "frontend", fe.Name, "client", c.RemoteAddr().String(), "err", err)
		c.Close()
		closed()
		return
	}
	if be, ok := fe.SNIRoutes.Match(hello.ServerName); ok {
		t.Backend = be
	}
	t.Preamble = buffered
	d.tcp.Serve(d.ctx, c, fe, t, closed)
}

// replayConn returns bytes already read from a connection before reading
// on from it.
type replayConn struct {
	net.Conn
	pre []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// Transparent says c adds nothing to the connection any more: its bytes
// were read.
func (c *replayConn) Transparent() bool { return len(c.pre) == 0 }

// CloseWrite half-closes the underlying TCP connection.
func (c *replayConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
