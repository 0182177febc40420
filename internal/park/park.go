// Package park keeps idle connections without a goroutine each. An idle
// keep-alive connection waiting for its next request is handed to a Poller
// with the time it may stay idle; the Poller watches all of them with one
// epoll instance and one goroutine, and for each either starts its owner's
// wake function on a new goroutine when the connection turns readable (data,
// or the peer closing), or calls its expire function when the time is up.
// An idle connection then costs its socket and a few hundred bytes, not a
// goroutine stack and buffers (kilobytes each).
//
// The connection stays a Go net.Conn throughout: the Poller only watches its
// descriptor, in an epoll instance of its own that Go's scheduler polls like
// any other descriptor, so no thread blocks in epoll_wait.
package park

import (
	"errors"
	"syscall"
)

// ErrClosed is returned by Park once the Poller was closed or its
// connections expired by ExpireAll: the caller keeps the connection and
// should close it.
var ErrClosed = errors.New("park: poller closed")

// Owner is what the Poller tells of a parked connection.
type Owner interface {
	// Wake is started on a new goroutine when the connection is readable.
	Wake()
	// Expire is called, on the Poller's goroutine, when the connection was
	// idle for its whole timeout, or by ExpireAll and Close. It must close
	// the connection without blocking.
	Expire()
}

// Conn is a connection as the Poller sees it. Its owner sets FD and Owner
// once and hands the same Conn to Park each time the connection turns idle;
// the Poller owns it from Park until it starts Wake or calls Expire.
type Conn struct {
	// FD is the connection's descriptor. It must stay open while parked.
	FD    int
	Owner Owner

	deadline   int64 // Unix nanoseconds; 0: none
	index      int   // in the Poller's deadline heap, while parked with a deadline
	parked     bool
	slot       int32 // in Poller.parked
	registered bool  // FD is in the epoll set (disabled while not parked)
}

// deadlines is a min-heap of the parked connections that have a deadline,
// earliest first (container/heap). Parks may come with any timeout (what is
// left of one, say), so the order has to be kept across timeouts.
type deadlines []*Conn

func (h deadlines) Len() int           { return len(h) }
func (h deadlines) Less(i, j int) bool { return h[i].deadline < h[j].deadline }
func (h deadlines) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

func (h *deadlines) Push(x any) {
	c := x.(*Conn)
	c.index = len(*h)
	*h = append(*h, c)
}

func (h *deadlines) Pop() any {
	old := *h
	c := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return c
}

// FD returns the descriptor of c, or -1. The descriptor is only valid while
// c is open.
func FD(c syscall.Conn) int {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	if err := rc.Control(func(s uintptr) { fd = int(s) }); err != nil {
		return -1
	}
	return fd
}
