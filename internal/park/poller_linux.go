package park

import (
	"container/heap"
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// Poller watches parked connections. Create it with New; Close stops it.
type Poller struct {
	epfd int
	file *os.File // epfd, watched by Go's scheduler
	rc   syscall.RawConn

	mu sync.Mutex
	// parked holds the parked connections by slot; an epoll event names
	// the slot and its generation, so that an event left over from a
	// connection that is gone never reaches the next one in its slot.
	parked []*Conn
	gens   []uint32
	free   []int32   // empty slots
	n      int       // parked connections
	parks  uint64    // successful Parks since New
	timers deadlines // the parked connections with a deadline
	armed  int64     // the loop's wake-up for the next deadline, in Unix nanoseconds; 0: none
	closed bool

	// The loop's own.
	events  []syscall.EpollEvent
	nev     int
	wake    []*Conn
	expired []*Conn

	done chan struct{}
}

// New starts a Poller; its goroutine runs until Close.
func New() (*Poller, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	// Non-blocking, os.NewFile hands the descriptor to Go's poller, so
	// that waiting for it parks a goroutine, not a thread.
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	f := os.NewFile(uintptr(fd), "park")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	p := &Poller{
		epfd: fd, file: f, rc: rc,
		events: make([]syscall.EpollEvent, 256),
		done:   make(chan struct{}),
	}
	go p.loop()
	return p, nil
}

// Park watches c until it is readable or has been idle for timeout (no
// limit when timeout <= 0). On success the Poller owns c until it starts
// c.Wake or calls c.Expire, which may happen before Park returns. On error
// (ErrClosed, or the kernel refusing the descriptor) the caller keeps c.
func (p *Poller) Park(c *Conn, timeout time.Duration) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	slot := p.slot()
	// Level-triggered and one-shot: bytes that are already there fire at
	// once, and c fires once per Park.
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: slot, Pad: int32(p.gens[slot])}
	op := syscall.EPOLL_CTL_MOD
	if !c.registered {
		op = syscall.EPOLL_CTL_ADD
	}
	if err := syscall.EpollCtl(p.epfd, op, c.FD, &ev); err != nil {
		p.free = append(p.free, slot)
		return os.NewSyscallError("epoll_ctl", err)
	}
	c.registered = true
	c.deadline = 0
	if timeout > 0 {
		c.deadline = time.Now().UnixNano() + int64(timeout)
		heap.Push(&p.timers, c)
	}
	c.parked = true
	p.parked[slot], c.slot = c, slot
	p.n++
	p.parks++
	if c.deadline != 0 && (p.armed == 0 || c.deadline < p.armed) {
		p.armed = c.deadline
		p.file.SetReadDeadline(time.Unix(0, c.deadline))
	}
	return nil
}

// slot returns an empty slot of parked.
func (p *Poller) slot() int32 {
	if n := len(p.free); n > 0 {
		s := p.free[n-1]
		p.free = p.free[:n-1]
		return s
	}
	p.parked = append(p.parked, nil)
	p.gens = append(p.gens, 0)
	return int32(len(p.parked) - 1)
}

// unpark takes c out of the deadline heap and its slot.
func (p *Poller) unpark(c *Conn) {
	if c.deadline != 0 {
		heap.Remove(&p.timers, c.index)
	}
	c.parked = false
	p.parked[c.slot] = nil
	p.gens[c.slot]++
	p.free = append(p.free, c.slot)
	p.n--
}

// Cancel takes c out of the Poller if it is parked, and reports whether it
// was: the caller owns c again. false means that c was not parked, or that
// the Poller has started its Wake or called its Expire, which own it then.
func (p *Poller) Cancel(c *Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !c.parked {
		return false
	}
	p.unpark(c)
	return true
}

// Forget takes the descriptor of c, which is not parked, out of the
// Poller's epoll set. Call it before closing a descriptor of c's socket
// that was parked while another descriptor of the same socket stays open:
// the kernel drops a registration only when the socket itself is closed.
func (p *Poller) Forget(c *Conn) {
	if !c.registered {
		return
	}
	p.mu.Lock()
	syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, c.FD, nil)
	p.mu.Unlock()
	c.registered = false
}

// Parks returns how many times a connection was parked since New.
func (p *Poller) Parks() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.parks
}

// Len returns the number of parked connections.
func (p *Poller) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// ExpireAll calls Expire for every parked connection and refuses later
// Parks: for a shutdown, where idle connections close at once.
func (p *Poller) ExpireAll() {
	p.mu.Lock()
	p.closed = true
	all := make([]*Conn, 0, p.n)
	for _, c := range p.parked {
		if c != nil {
			p.unpark(c)
			all = append(all, c)
		}
	}
	p.mu.Unlock()
	for _, c := range all {
		c.Owner.Expire()
	}
}

// Close expires every parked connection and stops the Poller.
func (p *Poller) Close() {
	p.ExpireAll()
	p.file.Close() // ends the loop's wait
	<-p.done
}

func (p *Poller) loop() {
	defer close(p.done)
	for {
		err := p.rc.Read(p.collect)
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return // closed
		}
		p.dispatch(time.Now().UnixNano())
	}
}

// collect takes the ready events without waiting; false makes the caller
// wait until there are some.
func (p *Poller) collect(fd uintptr) bool {
	for {
		n, err := syscall.EpollWait(int(fd), p.events, 0)
		if err == syscall.EINTR {
			continue
		}
		if n <= 0 {
			return false
		}
		p.nev = n
		return true
	}
}

// dispatch wakes the connections that are readable, expires those past
// their deadline and re-arms the wake-up for the next deadline.
func (p *Poller) dispatch(now int64) {
	p.mu.Lock()
	for _, ev := range p.events[:p.nev] {
		c := p.parked[ev.Fd]
		if c == nil || p.gens[ev.Fd] != uint32(ev.Pad) {
			continue // expired meanwhile
		}
		p.unpark(c)
		p.wake = append(p.wake, c)
	}
	p.nev = 0
	for len(p.timers) > 0 && p.timers[0].deadline <= now {
		c := p.timers[0]
		p.unpark(c)
		p.expired = append(p.expired, c)
	}
	var next int64
	if len(p.timers) > 0 {
		next = p.timers[0].deadline
	}
	if next != p.armed {
		p.armed = next
		var t time.Time
		if next != 0 {
			t = time.Unix(0, next)
		}
		p.file.SetReadDeadline(t)
	}
	p.mu.Unlock()
	for i, c := range p.wake {
		go c.Owner.Wake()
		p.wake[i] = nil
	}
	p.wake = p.wake[:0]
	for i, c := range p.expired {
		c.Owner.Expire()
		p.expired[i] = nil
	}
	p.expired = p.expired[:0]
}

// Detach closes c, leaving its socket open on a new descriptor, which it
// returns. The socket then costs none of the Go runtime's per-connection
// state (its poll descriptor, deadline timers and addresses) while it is
// parked; Attach makes it a connection again. The peer sees nothing of it.
func Detach(c *net.TCPConn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1, err
	}
	nfd := -1
	var derr error
	if err := rc.Control(func(fd uintptr) {
		r, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_DUPFD_CLOEXEC, 0)
		if e != 0 {
			derr = os.NewSyscallError("fcntl", e)
			return
		}
		nfd = int(r)
	}); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, derr
	}
	c.Close()
	return nfd, nil
}

// Attach returns the connection of the socket fd that Detach returned, and
// closes fd (the connection has a descriptor of its own). Take fd out of
// the Poller first (Forget). On error the socket is closed.
func Attach(fd int) (*net.TCPConn, error) {
	f := os.NewFile(uintptr(fd), "")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		c.Close()
		return nil, errors.New("park: not a TCP connection")
	}
	return tc, nil
}
