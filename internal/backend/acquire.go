package backend

import (
	"context"
	"errors"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/balance"
)

// ErrNoServer means no server of the backend is up and usable.
var ErrNoServer = errors.New("no server available")

// ErrQueueTimeout means every usable server stayed at its maxconn for the
// whole queue timeout.
var ErrQueueTimeout = errors.New("timed out waiting for a free server")

// Attempt is one client's series of tries on a pool: it remembers which
// servers were tried so that a retry goes elsewhere, and it is the
// balance.Accepter that keeps pickers off full and tried servers. The zero
// value is ready to use; it must not be shared between clients.
type Attempt struct {
	set   *Set
	small [1]uint64
	tried []uint64 // bitset over Server.index
}

// Accept implements balance.Accepter.
func (a *Attempt) Accept(i int) bool {
	s := a.set.Servers[i]
	return !a.Tried(s) && !s.Full()
}

// Tried reports whether s was already handed out to this attempt.
func (a *Attempt) Tried(s *Server) bool {
	w := s.index / 64
	return w < len(a.tried) && a.tried[w]&(1<<(s.index%64)) != 0
}

func (a *Attempt) mark(s *Server) {
	w := s.index / 64
	if a.tried == nil {
		a.tried = a.small[:]
	}
	for len(a.tried) <= w {
		a.tried = append(a.tried, 0)
	}
	a.tried[w] |= 1 << (s.index % 64)
}

// Acquire picks a server for r that a has not tried, takes one of its
// connection slots and marks it tried. When every usable server is at its
// maxconn, the caller waits in the pool's FIFO queue for up to queueTimeout
// (or until ctx ends). It returns ErrNoServer when no untried server is usable,
// ErrQueueTimeout when the wait ran out, or ctx's error. The caller must call
// Release on the returned server when its connection ends.
func (p *Pool) Acquire(ctx context.Context, r *balance.Request, a *Attempt, queueTimeout time.Duration) (*Server, error) {
	// Newcomers queue behind clients already waiting, so the queue is FIFO.
	if p.queued.Load() == 0 {
		s, full := p.tryAcquire(r, a)
		if s != nil {
			return s, nil
		}
		if !full {
			return nil, ErrNoServer
		}
	}
	deadline := time.Now().Add(queueTimeout)
	for {
		wait := time.Until(deadline)
		if wait <= 0 {
			p.QueueTimeouts.Add(1)
			return nil, ErrQueueTimeout
		}
		if err := p.wait(ctx, wait); err != nil {
			if errors.Is(err, errWaitTimeout) {
				p.QueueTimeouts.Add(1)
				return nil, ErrQueueTimeout
			}
			return nil, err
		}
		s, full := p.tryAcquire(r, a)
		if s != nil {
			return s, nil
		}
		if !full {
			return nil, ErrNoServer
		}
	}
}

// tryAcquire picks without waiting. full reports that no slot was free but
// some usable server is only full, so waiting may help.
func (p *Pool) tryAcquire(r *balance.Request, a *Attempt) (s *Server, full bool) {
	for range 4 { // a slot can be taken between Pick and TryInc; try again a few times
		set := p.set.Load()
		a.set = set
		i := set.Picker.Pick(r, a)
		if i < 0 {
			break
		}
		s := set.Servers[i]
		if s.State.Load.TryInc(s.MaxConn) {
			a.mark(s)
			s.State.Counters.Conns.Add(1)
			return s, false
		}
	}
	set := p.set.Load()
	for _, s := range set.Servers {
		if s.EffectiveWeight() > 0 && !a.Tried(s) && s.Full() {
			return nil, true
		}
	}
	return nil, false
}

var errWaitTimeout = errors.New("queue wait timed out")

// wait queues the caller until a slot may have come free.
func (p *Pool) wait(ctx context.Context, d time.Duration) error {
	ch := make(chan struct{})
	p.qmu.Lock()
	p.queue = append(p.queue, ch)
	p.queued.Add(1)
	p.qmu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	var err error
	select {
	case <-ch:
		return nil
	case <-t.C:
		err = errWaitTimeout
	case <-ctx.Done():
		err = ctx.Err()
	}
	if !p.dequeue(ch) {
		// We were woken as we gave up: hand the wake-up to the next in line.
		p.wakeOne()
	}
	return err
}

// dequeue removes ch from the queue; false if a waker already took it.
func (p *Pool) dequeue(ch chan struct{}) bool {
	p.qmu.Lock()
	defer p.qmu.Unlock()
	for i, c := range p.queue {
		if c == ch {
			p.queue = append(p.queue[:i], p.queue[i+1:]...)
			p.queued.Add(-1)
			return true
		}
	}
	return false
}

// wakeOne wakes the longest waiting client, if any. Without waiters it costs
// one atomic load.
func (p *Pool) wakeOne() {
	if p.queued.Load() == 0 {
		return
	}
	p.qmu.Lock()
	if len(p.queue) > 0 {
		close(p.queue[0])
		p.queue = p.queue[1:]
		p.queued.Add(-1)
	}
	p.qmu.Unlock()
}

// wakeAll wakes every waiting client, for when the set of servers changed.
func (p *Pool) wakeAll() {
	if p.queued.Load() == 0 {
		return
	}
	p.qmu.Lock()
	for _, c := range p.queue {
		close(c)
	}
	p.queue = nil
	p.queued.Store(0)
	p.qmu.Unlock()
}

// Queued returns the number of clients waiting for a free slot.
func (p *Pool) Queued() int { return int(p.queued.Load()) }

// Reset forgets the servers tried, for a new client or a new round.
func (a *Attempt) Reset() {
	a.set = nil
	clear(a.tried)
	a.tried = a.tried[:0]
}

// AcquireServer takes a connection slot on s itself, for persistence: it
// succeeds only if s may serve right now (up, ready, resolved, of the kind
// the current set serves from, primary or backup), has not been tried by a
// and is below its maxconn. The caller must Release s when done.
func (p *Pool) AcquireServer(s *Server, a *Attempt) bool {
	set := p.set.Load()
	if s.pool != p || !eligible(s) || s.State.Admin() != Ready || s.Backup != set.Backup || a.Tried(s) {
		return false
	}
	if !s.State.Load.TryInc(s.MaxConn) {
		return false
	}
	a.mark(s)
	s.State.Counters.Conns.Add(1)
	return true
}
