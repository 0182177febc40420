package sni

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// DefaultMax is the size limit Peek applies when given none: 16 KiB, room
// for any real ClientHello (those with post-quantum key shares are about
// 2 KiB) while bounding what one connection can make the proxy buffer.
const DefaultMax = 16 << 10

// Parse decodes the ClientHello at the start of b, the first bytes a client
// sent, carried by one or more TLS handshake records; n is the length of
// those records. The records may total at most max bytes (headers included;
// max <= 0 means DefaultMax).
//
// Errors: ErrNotTLS when b does not start with a handshake record;
// ErrIncomplete when b is a valid beginning that needs more bytes;
// ErrTooLarge when the records would exceed max; an error wrapping
// ErrMalformed otherwise. A record of another type before the ClientHello
// is complete, or handshake bytes after it in its last record, are
// malformed.
func Parse(b []byte, max int) (hello *Hello, n int, err error) {
	if max <= 0 {
		max = DefaultMax
	}
	if len(b) == 0 {
		return nil, 0, ErrIncomplete
	}
	if b[0] != recordTypeHandshake || (len(b) > 1 && b[1] != 3) {
		return nil, 0, ErrNotTLS
	}
	var (
		msg   []byte // the handshake bytes of the complete records so far
		owned bool   // msg is a copy (several records), not a slice of b
		p     int    // start of the next record
	)
	for {
		if len(b)-p < recordHeaderLen {
			if p+recordHeaderLen > max {
				return nil, 0, ErrTooLarge
			}
			return nil, 0, ErrIncomplete
		}
		typ, major := b[p], b[p+1]
		rlen := int(b[p+3])<<8 | int(b[p+4])
		if typ != recordTypeHandshake {
			return nil, 0, malformed("record of type %d before the end of the ClientHello", typ)
		}
		if major != 3 {
			return nil, 0, malformed("record version %#04x", uint16(major)<<8|uint16(b[p+2]))
		}
		if rlen == 0 {
			return nil, 0, malformed("empty handshake record")
		}
		if rlen > maxRecordLen {
			return nil, 0, malformed("record of %d bytes, at most %d", rlen, maxRecordLen)
		}
		end := p + recordHeaderLen + rlen
		if end > max {
			return nil, 0, ErrTooLarge
		}
		frag := b[p+recordHeaderLen : min(end, len(b))]
		// Check the handshake header as soon as it is there, so that a
		// message of another type, or one that cannot fit, is refused
		// before its bytes are waited for.
		if typ, total, ok := handshakeHeader(msg, frag); ok {
			if typ != typeClientHello {
				return nil, 0, malformed("handshake message type %d, want ClientHello (1)", typ)
			}
			// The rest of the message needs this record and, if it does
			// not fit in it, at least one more.
			rest := total - len(msg)
			need := p + recordHeaderLen + rest
			if rest > rlen {
				need += recordHeaderLen
			}
			if need > max {
				return nil, 0, ErrTooLarge
			}
		}
		if len(b) < end {
			return nil, 0, ErrIncomplete
		}
		switch {
		case msg == nil:
			msg = frag
		case !owned:
			msg = append(append(make([]byte, 0, 2*(len(msg)+len(frag))), msg...), frag...)
			owned = true
		default:
			msg = append(msg, frag...)
		}
		p = end
		_, total, ok := handshakeHeader(msg, nil)
		switch {
		case !ok || len(msg) < total:
			continue
		case len(msg) > total:
			return nil, 0, malformed("%d handshake bytes after the ClientHello", len(msg)-total)
		}
		h, err := ParseClientHello(msg)
		if err != nil {
			return nil, 0, err
		}
		return h, p, nil
	}
}

// handshakeHeader decodes the 4-byte handshake header found at the start of
// a followed by b: the message type and its total length, header included;
// ok is false while fewer than 4 bytes are there.
func handshakeHeader(a, b []byte) (typ byte, total int, ok bool) {
	var h [handshakeHeaderLen]byte
	n := copy(h[:], a)
	n += copy(h[n:], b)
	if n < handshakeHeaderLen {
		return 0, 0, false
	}
	return h[0], handshakeHeaderLen + (int(h[1])<<16 | int(h[2])<<8 | int(h[3])), true
}

// Peek reads the ClientHello that starts conn, under a read deadline
// timeout from now (none when timeout is 0; the deadline is cleared after),
// reading at most max bytes (max <= 0 means DefaultMax). It returns the
// decoded Hello and buffered, every byte it read from conn: the ClientHello
// records and whatever the client sent after them in the same reads. The
// caller writes buffered to the server before copying the rest of conn, so
// the server sees the original bytes.
//
// buffered is returned with every error too, so the caller may fall back:
// ErrNotTLS when the first byte is not a TLS handshake record (say, plain
// HTTP on a port that serves both); ErrTooLarge; an error wrapping
// ErrMalformed; or the read error, wrapped (os.ErrDeadlineExceeded for the
// deadline, io.ErrUnexpectedEOF for a client that closed within the
// ClientHello, io.EOF for one that closed before sending anything).
func Peek(conn net.Conn, timeout time.Duration, max int) (hello *Hello, buffered []byte, err error) {
	if max <= 0 {
		max = DefaultMax
	}
	if timeout > 0 {
		if err := conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
			return nil, nil, fmt.Errorf("sni: setting deadline: %w", err)
		}
		defer func() {
			if derr := conn.SetReadDeadline(time.Time{}); derr != nil && err == nil {
				hello, err = nil, fmt.Errorf("sni: clearing deadline: %w", derr)
			}
		}()
	}
	buf := make([]byte, 0, min(max, 2048))
	for {
		if len(buf) == cap(buf) {
			if len(buf) >= max {
				return nil, buf, ErrTooLarge
			}
			buf = append(buf, make([]byte, min(2*cap(buf), max)-len(buf))...)[:len(buf)]
		}
		k, rerr := conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		if k > 0 {
			h, _, perr := Parse(buf, max)
			if perr == nil {
				return h, buf, nil
			}
			if !errors.Is(perr, ErrIncomplete) {
				return nil, buf, perr
			}
		}
		if rerr != nil {
			if rerr == io.EOF && len(buf) > 0 {
				rerr = io.ErrUnexpectedEOF
			}
			return nil, buf, fmt.Errorf("sni: reading ClientHello: %w", rerr)
		}
	}
}
