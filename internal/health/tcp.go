package health

import (
	"context"
	"net"
	"time"
)

// TCP is a connect check: a server is healthy when it accepts a TCP
// connection, which is closed at once. The zero value is ready to use and
// safe for concurrent use.
type TCP struct{}

// Check connects to addr within ctx's deadline.
func (TCP) Check(ctx context.Context, addr string) error {
	start := time.Now()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fail(ctx, start, err)
	}
	c.Close()
	return nil
}

var _ Checker = TCP{}
