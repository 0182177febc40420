package tcp

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/park"
)

// session is a client connection and its server connection, both TCP,
// whose directions a Poller holds while they are idle: an idle connection
// then costs its two sockets and this struct, not two goroutines.
//
// Each direction runs on a goroutine of its own while bytes come, and is
// parked when its source has had nothing for spliceHold; the Poller starts
// it again on a new goroutine when the source turns readable, or expires it
// when nothing has moved either way for its timeout. The session ends when
// both directions have ended: done is called then, once.
type session struct {
	client, server *net.TCPConn
	poller         *park.Poller
	act            activity
	dirs           [2]direction // client to server, server to client
	live           atomic.Int32 // directions not ended
	done           func()

	// mu orders parking against closing: a descriptor is only ever
	// handed to the Poller while it is open, never after abort closed it
	// (its number could name another connection's socket by then).
	mu      sync.Mutex
	aborted bool
}

// direction is one way of a session: src to dst.
type direction struct {
	s                   *session
	dst, src            *net.TCPConn
	readIdle, writeIdle time.Duration
	count               func(int64)
	pk                  park.Conn
}

// startSession runs a session on the calling goroutine until its
// server-to-client direction first parks or ends, and returns then; done is
// called once both directions have ended, maybe after startSession returns.
func startSession(client, server *net.TCPConn, poller *park.Poller, readClient, readServer time.Duration, up, down func(int64), done func()) {
	s := &session{client: client, server: server, poller: poller, done: done}
	s.act.touch(time.Now())
	s.dirs[0] = direction{s: s, dst: server, src: client, readIdle: readClient, writeIdle: readServer, count: up}
	s.dirs[1] = direction{s: s, dst: client, src: server, readIdle: readServer, writeIdle: readClient, count: down}
	s.live.Store(2)
	for i := range s.dirs {
		d := &s.dirs[i]
		d.pk.FD, d.pk.Owner = park.FD(d.src), d
	}
	go s.dirs[0].run()
	s.dirs[1].run()
}

// run copies until the direction parks or ends.
func (d *direction) run() {
	_, err := copyIdle(d.dst, d.src, d.readIdle, d.writeIdle, &d.s.act, d.count, d.park)
	switch err {
	case errParked:
		return
	case nil:
		closeWrite(d.dst) // the source's end goes on to the other side
	default:
		d.s.abort()
	}
	d.s.end()
}

// park hands the direction to the Poller until its source turns readable
// or nothing has moved either way for its timeout. false means that it
// was not parked (the Poller is closed, or the session is ending), and the
// caller goes on with it.
func (d *direction) park() bool {
	if d.pk.FD < 0 {
		return false
	}
	timeout := time.Duration(0) // no limit
	if d.readIdle > 0 {
		timeout = max(d.readIdle-d.s.act.idle(time.Now()), time.Millisecond)
	}
	d.s.mu.Lock()
	defer d.s.mu.Unlock()
	return !d.s.aborted && d.s.poller.Park(&d.pk, timeout) == nil
}

// Wake copies what the source has (park.Owner).
func (d *direction) Wake() { d.run() }

// Expire ends the session when nothing has moved either way for the
// direction's timeout; when the other direction moved meanwhile, the
// direction is parked again for what is left of it (park.Owner).
func (d *direction) Expire() {
	if d.readIdle > 0 && d.s.act.idle(time.Now()) < d.readIdle && d.park() {
		return
	}
	d.s.abort()
	d.s.end()
}

// abort closes both connections, which ends a direction that is copying,
// and ends the directions that are parked.
func (s *session) abort() {
	s.mu.Lock()
	if s.aborted {
		s.mu.Unlock()
		return
	}
	s.aborted = true
	s.client.Close()
	s.server.Close()
	s.mu.Unlock()
	// A direction parked before the close is still in the Poller; none
	// can be parked after it.
	for i := range s.dirs {
		if s.poller.Cancel(&s.dirs[i].pk) {
			s.end()
		}
	}
}

// end records that a direction has ended, and ends the session after the
// second.
func (s *session) end() {
	if s.live.Add(-1) == 0 {
		s.client.Close()
		s.server.Close()
		s.done()
	}
}
