// Package limit provides the connection gate of the data plane: a counting
// semaphore whose waiters are served first in, first out, for global and
// frontend maxconn.
package limit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrTimeout means the limit stayed reached for the whole queue timeout.
var ErrTimeout = errors.New("timed out waiting for a connection slot")

// Limiter admits at most Max holders at a time; others wait in FIFO order.
// A released slot is handed straight to the longest waiter, so a newcomer can
// never overtake the queue. A nil *Limiter admits everyone. Safe for
// concurrent use.
type Limiter struct {
	max    int64
	active atomic.Int64
	queued atomic.Int32

	mu    sync.Mutex
	queue []chan struct{}

	// Timeouts counts waiters that gave up.
	Timeouts atomic.Uint64
}

// New returns a limiter of max slots, or nil (no limit) when max <= 0.
func New(max int) *Limiter {
	if max <= 0 {
		return nil
	}
	return &Limiter{max: int64(max)}
}

// Max returns the limit (0 for a nil limiter).
func (l *Limiter) Max() int {
	if l == nil {
		return 0
	}
	return int(l.max)
}

// Active returns the number of slots held.
func (l *Limiter) Active() int {
	if l == nil {
		return 0
	}
	return int(l.active.Load())
}

// Queued returns the number of waiters.
func (l *Limiter) Queued() int {
	if l == nil {
		return 0
	}
	return int(l.queued.Load())
}

// TryAcquire takes a slot if one is free and nobody is waiting.
func (l *Limiter) TryAcquire() bool {
	if l == nil {
		return true
	}
	return l.queued.Load() == 0 && l.take()
}

// take increments active unless it is at max.
func (l *Limiter) take() bool {
	for {
		n := l.active.Load()
		if n >= l.max {
			return false
		}
		if l.active.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Acquire takes a slot, waiting in line for up to timeout (or until ctx
// ends). It returns ErrTimeout or ctx's error when it gets none; otherwise the
// caller must call Release once.
func (l *Limiter) Acquire(ctx context.Context, timeout time.Duration) error {
	if l.TryAcquire() {
		return nil
	}
	ch := make(chan struct{})
	l.mu.Lock()
	// Count ourselves as waiting before looking at active: a Release that
	// decrements active then sees queued != 0 and comes to the lock.
	l.queued.Add(1)
	if len(l.queue) == 0 && l.take() {
		l.queued.Add(-1)
		l.mu.Unlock()
		return nil
	}
	l.queue = append(l.queue, ch)
	l.mu.Unlock()

	t := time.NewTimer(timeout)
	defer t.Stop()
	var err error
	select {
	case <-ch:
		return nil // the slot was handed over
	case <-t.C:
		err = ErrTimeout
		l.Timeouts.Add(1)
	case <-ctx.Done():
		err = ctx.Err()
	}
	l.mu.Lock()
	for i, c := range l.queue {
		if c == ch {
			l.queue = append(l.queue[:i], l.queue[i+1:]...)
			l.queued.Add(-1)
			l.mu.Unlock()
			return err
		}
	}
	l.mu.Unlock()
	// Handed a slot as we gave up: pass it on.
	l.Release()
	return err
}

// Release gives back a slot: to the longest waiter if there is one.
func (l *Limiter) Release() {
	if l == nil {
		return
	}
	if l.queued.Load() == 0 {
		l.active.Add(-1)
		// A waiter may have queued between the load and the decrement:
		// give it the slot.
		if l.queued.Load() == 0 {
			return
		}
		l.mu.Lock()
		if len(l.queue) > 0 && l.take() {
			l.pop()
		}
		l.mu.Unlock()
		return
	}
	l.mu.Lock()
	if len(l.queue) > 0 {
		l.pop() // the slot passes to the waiter; active is unchanged
	} else {
		l.active.Add(-1)
	}
	l.mu.Unlock()
}

func (l *Limiter) pop() {
	close(l.queue[0])
	l.queue = l.queue[1:]
	l.queued.Add(-1)
}
