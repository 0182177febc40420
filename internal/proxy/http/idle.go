package http

import (
	"net"
	"syscall"
	"time"
)

// awaitRequest waits, between requests on a plain TCP client connection,
// until the client sends something, holding no read buffer meanwhile: an
// idle keep-alive connection then costs its goroutine and socket only. It
// returns false when the keep-alive time runs out or the connection fails
// (the caller closes it); for other connections it returns true at once and
// the buffered read waits as usual.
//
// The poller is edge-triggered, so it first peeks (MSG_PEEK|MSG_DONTWAIT):
// it waits only when the socket is really empty, which guarantees an edge
// when data comes.
func (s *session) awaitRequest(first bool) bool {
	if first || s.r.Buffered() > 0 {
		return true
	}
	tc, ok := s.cc.Conn.(*net.TCPConn)
	if !ok {
		return true
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return true
	}
	s.r.Release()
	if s.fe.TimeoutClient > 0 {
		tc.SetReadDeadline(time.Now().Add(s.fe.TimeoutClient))
	}
	if s.p.draining.Load() {
		return false // Drain may have set its deadline before ours
	}
	var one [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), one[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return n > 0 || (err != syscall.EAGAIN && err != syscall.EINTR) // data, EOF or an error: go read
	})
	s.cc.readArmed = time.Time{} // the deadline was moved: re-arm on the next read
	return err == nil
}
