package health

import (
	"context"
	"crypto/tls"
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

// CheckTLS connects to addr and completes a TLS handshake with cfg, which
// verifies the server's certificate as the backend's traffic would.
func (TCP) CheckTLS(ctx context.Context, addr string, cfg *tls.Config) error {
	start := time.Now()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fail(ctx, start, err)
	}
	defer c.Close()
	tc := tls.Client(c, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return &Failure{Reason: "TLS: " + describe(err), Err: err}
	}
	return nil
}
