//go:build !linux

package park

import (
	"errors"
	"net"
	"time"
)

// Poller is available on Linux only; elsewhere New fails and idle
// connections keep their goroutine.
type Poller struct{}

// New fails: parking needs epoll.
func New() (*Poller, error) { return nil, errors.New("park: not supported on this system") }

// Park fails.
func (p *Poller) Park(c *Conn, timeout time.Duration) error { return ErrClosed }

// Cancel reports false: nothing is parked.
func (p *Poller) Cancel(c *Conn) bool { return false }

// Forget does nothing.
func (p *Poller) Forget(c *Conn) {}

// Parks returns 0.
func (p *Poller) Parks() uint64 { return 0 }

// Len returns 0.
func (p *Poller) Len() int { return 0 }

// ExpireAll does nothing.
func (p *Poller) ExpireAll() {}

// Close does nothing.
func (p *Poller) Close() {}

// Detach fails.
func Detach(c *net.TCPConn) (int, error) { return -1, errors.New("park: not supported on this system") }

// Attach fails.
func Attach(fd int) (*net.TCPConn, error) {
	return nil, errors.New("park: not supported on this system")
}
