package h1

import (
	"io"
	"net"

	spl "github.com/fulcrum-lb/fulcrum/internal/splice"
)

// minCopyBuf is the smallest copy buffer CopyBody uses; a smaller one is
// replaced by an allocated one of defaultCopyBuf bytes.
const (
	minCopyBuf     = 64
	defaultCopyBuf = 32 << 10
)

// spliceMin is the smallest remainder of a body worth handing to splice(2)
// when both ends are plain TCP connections.
const spliceMin = 64 << 10

// CopyBody streams one message body from src to dst, keeping its framing,
// and returns the number of body bytes moved (payload, not framing):
//
//   - chunked: chunk by chunk, validating the chunked syntax strictly (a
//     malformed size, extension, line end or trailer, or a size line or
//     trailer field longer than the room the Reader has after the head (at
//     least a quarter of its head size), is an *Error with status 400; for
//     a response body the caller answers 502) and writing a
//     normal chunked encoding: lower-case hex size CRLF data CRLF ... "0"
//     CRLF trailers CRLF, with chunk extensions dropped and trailer fields
//     kept (except those that frame or route a message, which are dropped:
//     Content-Length, Host and the hop-by-hop fields);
//   - else length >= 0: exactly length bytes;
//   - else untilClose: until src's connection ends;
//   - else nothing: the message has no body.
//
// A body that ends early is io.ErrUnexpectedEOF. Each piece is written to
// dst as soon as it is read, so slow streams (server-sent events) flow; buf
// is the copy buffer (a buffer shorter than 64 bytes is replaced by an
// allocated one). Bytes after the body stay buffered in src for the next
// head. When dst and src's connection are both *net.TCPConn, long bodies
// are moved with splice(2).
func CopyBody(dst io.Writer, src *Reader, length int64, chunked, untilClose bool, buf []byte) (int64, error) {
	if len(buf) < minCopyBuf {
		buf = make([]byte, defaultCopyBuf)
	}
	switch {
	case chunked:
		src.grab()
		src.scanned = 0
		c := chunkCopy{dst: dst, src: src, out: buf[:0]}
		return c.run()
	case length >= 0:
		return copyN(dst, src, length, buf)
	case untilClose:
		return copyN(dst, src, -1, buf)
	}
	return 0, nil
}

// copyN copies length bytes, or until the end of the connection when length
// is negative.
func copyN(dst io.Writer, src *Reader, length int64, buf []byte) (int64, error) {
	var n int64
	left := func() int64 {
		if length < 0 {
			return 1 << 62
		}
		return length - n
	}
	if k := min(int64(src.Buffered()), left()); k > 0 {
		m, err := dst.Write(src.buf[src.r : src.r+int(k)])
		src.r += m
		n += int64(m)
		if err != nil {
			return n, err
		}
	}
	if left() >= spliceMin && src.pending == nil {
		if m, ok, err := splice(dst, src, length-n, length < 0); ok {
			n += m
			if err == nil && length >= 0 && n < length {
				err = io.ErrUnexpectedEOF
			}
			return n, err
		}
	}
	for left() > 0 {
		rn, rerr := src.Read(buf[:min(int64(len(buf)), left())])
		if rn > 0 {
			wn, werr := dst.Write(buf[:rn])
			n += int64(wn)
			if werr == nil && wn < rn {
				werr = io.ErrShortWrite
			}
			if werr != nil {
				return n, werr
			}
		}
		if rerr == io.EOF {
			if length < 0 {
				return n, nil
			}
			return n, io.ErrUnexpectedEOF
		}
		if rerr != nil {
			return n, rerr
		}
	}
	return n, nil
}

// splice moves the rest of a body between two plain TCP connections inside
// the kernel (TCPConn.ReadFrom uses splice(2) on Linux). ok is false when
// the connections are not both *net.TCPConn.
func splice(dst io.Writer, src *Reader, length int64, toEOF bool) (n int64, ok bool, err error) {
	d, ok1 := dst.(*net.TCPConn)
	s, ok2 := src.src.(*net.TCPConn)
	if !ok1 || !ok2 {
		return 0, false, nil
	}
	sp, err := spl.New(d, s)
	if err != nil {
		return 0, false, nil
	}
	if toEOF {
		length = 1 << 62
	}
	n, err = sp.Move(length)
	return n, true, err
}
