package proxyproto

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"
)

// Peeker is the buffered reader Read reads from; *bufio.Reader is one.
type Peeker interface {
	// Peek returns the next n bytes without consuming them, blocking until
	// n bytes are buffered or an error occurs.
	Peek(n int) ([]byte, error)
	// Discard consumes n bytes.
	Discard(n int) (int, error)
	// Buffered is the number of bytes Peek returns without blocking.
	Buffered() int
}

// Read reads one header from r and consumes exactly its bytes: whatever
// follows stays in r. It works however the header is split over the reads r
// makes, and never waits for a byte the header does not need, so a header
// that arrives alone is returned at once. A header longer than r's buffer
// (or than MaxHeaderLen) is an error.
//
// Read sets no deadline: the caller bounds the wait, typically with
// SetReadDeadline on the connection under r. Errors: ErrNotProxy when the
// bytes are no header; an error wrapping ErrInvalid for a malformed one; an
// error wrapping io.EOF when the connection closed before its first byte,
// io.ErrUnexpectedEOF when it closed within the header, or the read error
// (a deadline gives os.ErrDeadlineExceeded).
func Read(r Peeker) (*Header, error) {
	want := 1
	for {
		b, rerr := r.Peek(want)
		if rerr == nil {
			// Look at everything already received, in one go.
			if n := min(r.Buffered(), MaxHeaderLen); n > len(b) {
				b, _ = r.Peek(n)
			}
		}
		n, more, err := scan(b)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			h, err := parse(b[:n])
			if err != nil {
				return nil, err
			}
			if _, err := r.Discard(n); err != nil {
				return nil, fmt.Errorf("proxyproto: consuming header: %w", err)
			}
			return h, nil
		}
		if rerr != nil {
			if errors.Is(rerr, bufio.ErrBufferFull) {
				return nil, fmt.Errorf("proxyproto: header longer than the %d-byte read buffer", len(b))
			}
			return nil, readError(rerr, len(b))
		}
		want = len(b) + more
	}
}

// ReadUnbuffered reads one header from r and not one byte more: it reads
// in pieces no longer than what the header still needs, at least 15 bytes
// (the shortest header) first, so whatever follows the header is still
// unread in r. A v2 header takes two reads; a v1 line a few more, as its
// length is found as it goes. It suits a *net.TCPConn whose data must stay
// in the kernel for splice(2).
//
// Like Read, it sets no deadline and returns the same errors; unlike Read,
// it cannot refuse a non-header before 15 bytes have arrived.
func ReadUnbuffered(r io.Reader) (*Header, error) {
	buf := make([]byte, 0, 128)
	_, more, _ := scan(nil)
	for {
		if need := len(buf) + more; need > cap(buf) {
			buf = append(buf[:cap(buf)], make([]byte, need-cap(buf))...)[:len(buf)]
		}
		k, rerr := io.ReadFull(r, buf[len(buf):len(buf)+more])
		buf = buf[:len(buf)+k]
		n, m, err := scan(buf)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			return parse(buf[:n])
		}
		if rerr != nil {
			if errors.Is(rerr, io.ErrUnexpectedEOF) {
				rerr = io.EOF // ReadFull's; readError tells the two cases apart
			}
			return nil, readError(rerr, len(buf))
		}
		more = m
	}
}

// readError wraps the error that stopped a read after got bytes of a header.
func readError(err error, got int) error {
	if err == io.EOF && got > 0 {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("proxyproto: reading header: %w", err)
}

// Accept reads the PROXY header of a freshly accepted connection if, and
// only if, its peer is within one of the trusted prefixes (IPv4-mapped
// peers are matched as IPv4). An untrusted peer's connection is returned as
// it is, with a nil Header and nothing read: any header it sends is payload.
//
// From a trusted peer, Accept reads the header with ReadUnbuffered under a
// read deadline timeout from now (none when timeout is 0), then clears the
// read deadline. When the header carries addresses the returned connection
// is a *Conn reporting them as RemoteAddr and LocalAddr; otherwise (LOCAL,
// UNKNOWN) it is conn itself. Either way no byte after the header has been
// read, so the caller may also keep using conn (a *net.TCPConn, for splice)
// with the Header's addresses. On error conn is left open for the caller to
// close.
func Accept(conn net.Conn, trusted []netip.Prefix, timeout time.Duration) (net.Conn, *Header, error) {
	if !isTrusted(conn.RemoteAddr(), trusted) {
		return conn, nil, nil
	}
	if timeout > 0 {
		if err := conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
			return nil, nil, fmt.Errorf("proxyproto: setting deadline: %w", err)
		}
	}
	h, err := ReadUnbuffered(conn)
	if timeout > 0 {
		if derr := conn.SetReadDeadline(time.Time{}); derr != nil && err == nil {
			err = fmt.Errorf("proxyproto: clearing deadline: %w", derr)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	if !h.Src.IsValid() {
		return conn, h, nil
	}
	return NewConn(conn, h, nil), h, nil
}

// isTrusted reports whether addr, a connection's peer, is in one of the
// prefixes.
func isTrusted(addr net.Addr, prefixes []netip.Prefix) bool {
	if len(prefixes) == 0 {
		return false
	}
	var ip netip.Addr
	switch a := addr.(type) {
	case *net.TCPAddr:
		ip = a.AddrPort().Addr()
	case *net.UDPAddr:
		ip = a.AddrPort().Addr()
	default:
		ap, err := netip.ParseAddrPort(addr.String())
		if err != nil {
			return false
		}
		ip = ap.Addr()
	}
	ip = ip.Unmap().WithZone("")
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Conn is a connection whose addresses come from a PROXY header, and whose
// Read first returns the bytes that were read past the header, if any.
//
// It hides nothing of the connection it wraps: Unwrap returns it, and
// ReadFrom, WriteTo, CloseRead and CloseWrite delegate to it, so io.Copy
// between a Conn over a *net.TCPConn and another TCP connection still uses
// splice(2) once the buffered bytes are written.
type Conn struct {
	conn          net.Conn
	hdr           *Header
	buf           []byte
	local, remote net.Addr
}

// NewConn wraps conn with the addresses of h (those it carries: a zero
// Src or Dst leaves conn's own) and buffered, bytes already read from conn
// after the header, which Read and WriteTo return first. NewConn takes
// ownership of buffered.
func NewConn(conn net.Conn, h *Header, buffered []byte) *Conn {
	c := &Conn{conn: conn, hdr: h, buf: buffered, local: conn.LocalAddr(), remote: conn.RemoteAddr()}
	if h != nil && h.Src.IsValid() {
		c.remote = addrOf(h.Src, h.Datagram)
	}
	if h != nil && h.Dst.IsValid() {
		c.local = addrOf(h.Dst, h.Datagram)
	}
	return c
}

// addrOf returns ap as a net.Addr.
func addrOf(ap netip.AddrPort, datagram bool) net.Addr {
	if datagram {
		return net.UDPAddrFromAddrPort(ap)
	}
	return net.TCPAddrFromAddrPort(ap)
}

// Unwrap returns the wrapped connection.
func (c *Conn) Unwrap() net.Conn { return c.conn }

// Header returns the header the connection was wrapped with.
func (c *Conn) Header() *Header { return c.hdr }

// Buffered is the number of bytes read past the header that Read has yet
// to return. While it is not 0, reading from Unwrap() would skip them.
func (c *Conn) Buffered() int { return len(c.buf) }

// Read returns the buffered bytes first, then reads from the connection.
func (c *Conn) Read(p []byte) (int, error) {
	if len(c.buf) > 0 {
		n := copy(p, c.buf)
		c.buf = c.buf[n:]
		if len(c.buf) == 0 {
			c.buf = nil
		}
		return n, nil
	}
	return c.conn.Read(p)
}

// WriteTo writes the buffered bytes to w, then copies the connection to w
// until EOF as io.Copy would, through the wrapped connection's own WriteTo
// (or w's ReadFrom) so that splice(2) is kept.
func (c *Conn) WriteTo(w io.Writer) (int64, error) {
	var n int64
	if len(c.buf) > 0 {
		k, err := w.Write(c.buf)
		n += int64(k)
		c.buf = c.buf[k:]
		if err != nil {
			return n, err
		}
		c.buf = nil
	}
	k, err := io.Copy(w, c.conn)
	return n + k, err
}

// ReadFrom copies r to the connection through the wrapped connection's own
// ReadFrom (splice(2) from a TCP connection), or io.Copy.
func (c *Conn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(writerOnly{c.conn}, r)
}

// writerOnly hides every method of a Writer but Write, so that io.Copy does
// not call back into a ReadFrom.
type writerOnly struct{ io.Writer }

// Write writes to the connection.
func (c *Conn) Write(p []byte) (int, error) { return c.conn.Write(p) }

// Close closes the connection.
func (c *Conn) Close() error { return c.conn.Close() }

// CloseWrite shuts down the writing side, when the connection supports it
// (TCP, Unix); otherwise it returns an error.
func (c *Conn) CloseWrite() error {
	if cw, ok := c.conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.New("proxyproto: connection has no CloseWrite")
}

// CloseRead shuts down the reading side, when the connection supports it.
func (c *Conn) CloseRead() error {
	if cr, ok := c.conn.(interface{ CloseRead() error }); ok {
		return cr.CloseRead()
	}
	return errors.New("proxyproto: connection has no CloseRead")
}

// LocalAddr is the header's destination, or the connection's own address.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr is the header's source, or the connection's own peer.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline sets the wrapped connection's deadlines.
func (c *Conn) SetDeadline(t time.Time) error { return c.conn.SetDeadline(t) }

// SetReadDeadline sets the wrapped connection's read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

// SetWriteDeadline sets the wrapped connection's write deadline.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }

// Interface guards.
var (
	_ net.Conn      = (*Conn)(nil)
	_ io.WriterTo   = (*Conn)(nil)
	_ io.ReaderFrom = (*Conn)(nil)
	_ Peeker        = (*bufio.Reader)(nil)
)
