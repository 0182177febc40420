package http

import (
	"io"
	"net"
	"os"
	"syscall"
)

// lazyIO reads and writes a plain TCP client connection through its raw
// descriptor, so that a read or write that does not have to wait arms no
// deadline: the deadline (a runtime timer set, and deleted again at close)
// is armed only when the call is about to wait. A new connection's first
// request is there when it is accepted (TCP_DEFER_ACCEPT) and its response
// fits the empty socket buffer, so a connection that makes one request
// arms no timer at all. A session has one, lent to the connection it
// serves (timedConn.lz); it also keeps the raw connection of that
// connection for respondAndWait.
type lazyIO struct {
	// cn is the connection lent to. While it is detached (accepted
	// without a Go connection: Proxy.ServeFD), reads and writes go to its
	// descriptor until one has to wait, which attaches it first.
	cn    *clientConn
	rc    syscall.RawConn
	rcFor *net.TCPConn // the connection rc is of
	t     *timedConn
	p     []byte
	n     int
	err   error
	// readFn and writeFn are readStep and writeStep, bound once: no
	// allocation per call.
	readFn, writeFn func(fd uintptr) bool
}

// rawConn returns the RawConn of c, made once per connection.
func (l *lazyIO) rawConn(c *net.TCPConn) (syscall.RawConn, error) {
	if l.rcFor != c {
		rc, err := c.SyscallConn()
		if err != nil {
			return nil, err
		}
		l.rc, l.rcFor = rc, c
	}
	return l.rc, nil
}

// forget drops the connection and its RawConn.
func (l *lazyIO) forget() { l.cn, l.rc, l.rcFor, l.t, l.p, l.err = nil, nil, nil, nil, nil, nil }

// readFD reads the detached connection's descriptor; when nothing is there
// yet, it attaches the connection and reads as a Go connection, which
// waits.
func (l *lazyIO) readFD(t *timedConn, p []byte) (int, error) {
	cn := l.cn
	for {
		n, err := syscall.Read(cn.pk.FD, p)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			if !cn.attach() {
				return 0, net.ErrClosed
			}
			return t.Read(p)
		case err != nil:
			return 0, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", err)}
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// writeFD writes p to the detached connection's descriptor; when the
// socket buffer is full, it attaches the connection and writes the rest as
// a Go connection, which waits.
func (l *lazyIO) writeFD(t *timedConn, p []byte) (int, error) {
	cn := l.cn
	sent := 0
	for sent < len(p) {
		n, err := syscall.Write(cn.pk.FD, p[sent:])
		if n > 0 {
			sent += n
		}
		switch {
		case err == syscall.EINTR:
		case err == syscall.EAGAIN:
			if !cn.attach() {
				return sent, net.ErrClosed
			}
			n, err := t.Write(p[sent:])
			return sent + n, err
		case err != nil:
			return sent, &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", err)}
		case n <= 0:
			return sent, io.ErrShortWrite
		}
	}
	return sent, nil
}

// read reads into p from t's connection c, arming t's read deadline only
// if it has to wait.
func (l *lazyIO) read(t *timedConn, c *net.TCPConn, p []byte) (int, error) {
	rc, err := l.rawConn(c)
	if err != nil {
		return 0, err
	}
	if l.readFn == nil {
		l.readFn, l.writeFn = l.readStep, l.writeStep
	}
	l.t, l.p, l.n, l.err = t, p, 0, nil
	if err := rc.Read(l.readFn); err != nil {
		l.t, l.p = nil, nil
		return 0, err
	}
	n, err := l.n, l.err
	l.t, l.p, l.err = nil, nil, nil
	return n, err
}

func (l *lazyIO) readStep(fd uintptr) bool {
	for {
		n, err := syscall.Read(int(fd), l.p)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			l.t.armRead()
			return false
		case err != nil:
			l.err = &net.OpError{Op: "read", Net: "tcp", Source: l.rcFor.LocalAddr(), Addr: l.rcFor.RemoteAddr(), Err: os.NewSyscallError("read", err)}
		case n == 0 && len(l.p) > 0:
			l.err = io.EOF
		default:
			l.n = n
		}
		return true
	}
}

// write writes p to t's connection c, arming t's write deadline only if it
// has to wait.
func (l *lazyIO) write(t *timedConn, c *net.TCPConn, p []byte) (int, error) {
	rc, err := l.rawConn(c)
	if err != nil {
		return 0, err
	}
	if l.readFn == nil {
		l.readFn, l.writeFn = l.readStep, l.writeStep
	}
	l.t, l.p, l.n, l.err = t, p, 0, nil
	werr := rc.Write(l.writeFn)
	n, err := l.n, l.err
	l.t, l.p, l.err = nil, nil, nil
	if err == nil {
		err = werr
	}
	return n, err
}

func (l *lazyIO) writeStep(fd uintptr) bool {
	for l.n < len(l.p) {
		n, err := syscall.Write(int(fd), l.p[l.n:])
		if n > 0 {
			l.n += n
		}
		switch {
		case err == syscall.EINTR:
		case err == syscall.EAGAIN:
			l.t.armWrite()
			return false
		case err != nil:
			l.err = &net.OpError{Op: "write", Net: "tcp", Source: l.rcFor.LocalAddr(), Addr: l.rcFor.RemoteAddr(), Err: os.NewSyscallError("write", err)}
			return true
		case n <= 0:
			l.err = io.ErrShortWrite
			return true
		}
	}
	return true
}
