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
	n, err := sysRead(l.cn.pk.FD, p)
	if err == syscall.EAGAIN {
		if !l.cn.attach() {
			return 0, net.ErrClosed
		}
		return t.Read(p)
	}
	return n, err
}

// writeFD writes p to the detached connection's descriptor; when the
// socket buffer is full, it attaches the connection and writes the rest as
// a Go connection, which waits.
func (l *lazyIO) writeFD(t *timedConn, p []byte) (int, error) {
	sent, err := sysWrite(l.cn.pk.FD, p)
	if err == syscall.EAGAIN {
		if !l.cn.attach() {
			return sent, net.ErrClosed
		}
		n, err := t.Write(p[sent:])
		return sent + n, err
	}
	return sent, err
}

// do reads into p from t's connection c (or writes p to it), arming t's
// read (write) deadline only if it has to wait.
func (l *lazyIO) do(t *timedConn, c *net.TCPConn, p []byte, write bool) (int, error) {
	rc, err := l.rawConn(c)
	if err != nil {
		return 0, err
	}
	if l.readFn == nil {
		l.readFn, l.writeFn = l.readStep, l.writeStep
	}
	l.t, l.p, l.n, l.err = t, p, 0, nil
	if write {
		err = rc.Write(l.writeFn)
	} else {
		err = rc.Read(l.readFn)
	}
	n := l.n
	if l.err != nil {
		err = l.err
	}
	l.t, l.p, l.err = nil, nil, nil
	return n, err
}

func (l *lazyIO) readStep(fd uintptr) bool {
	n, err := sysRead(int(fd), l.p)
	if err == syscall.EAGAIN {
		l.t.armRead()
		return false
	}
	l.n, l.err = n, err
	return true
}

func (l *lazyIO) writeStep(fd uintptr) bool {
	n, err := sysWrite(int(fd), l.p[l.n:])
	l.n += n
	if err == syscall.EAGAIN {
		l.t.armWrite()
		return false
	}
	l.err = err
	return true
}

// sysRead reads the non-blocking socket fd once, retrying when
// interrupted: syscall.EAGAIN when nothing is there yet, io.EOF at its end.
func sysRead(fd int, p []byte) (int, error) {
	for {
		n, err := syscall.Read(fd, p)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return 0, err
		case err != nil:
			return 0, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", err)}
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// sysWrite writes p to the non-blocking socket fd until all of it is
// written, the socket buffer is full (syscall.EAGAIN) or an error; it
// returns how much was written.
func sysWrite(fd int, p []byte) (int, error) {
	sent := 0
	for sent < len(p) {
		n, err := syscall.Write(fd, p[sent:])
		if n > 0 {
			sent += n
		}
		switch {
		case err == syscall.EINTR:
		case err == syscall.EAGAIN:
			return sent, err
		case err != nil:
			return sent, &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", err)}
		case n <= 0:
			return sent, io.ErrShortWrite
		}
	}
	return sent, nil
}
