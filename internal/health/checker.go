package health

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// Checker probes one server once.
//
// Check connects to addr ("ip:port") and returns nil if the server is
// healthy. The error's text is the reason logged when the verdict flips, so
// it must be short and say what went wrong ("connection refused",
// "status 503, expected 200-399"); the checkers of this package return a
// *Failure. Check must return by ctx's deadline (the group gives every check
// one) and must release everything it opened before it returns. A Checker
// must be safe for concurrent use: one Checker serves every server of a
// backend.
type Checker interface {
	Check(ctx context.Context, addr string) error
}

// TLSChecker is a Checker that can also probe over TLS with cfg (which
// carries the server name to verify).
type TLSChecker interface {
	Checker
	CheckTLS(ctx context.Context, addr string, cfg *tls.Config) error
}

// CheckerFunc adapts a function to a Checker.
type CheckerFunc func(ctx context.Context, addr string) error

// Check calls f(ctx, addr).
func (f CheckerFunc) Check(ctx context.Context, addr string) error { return f(ctx, addr) }

// Failure is a failed check. Its Error is Reason alone, short enough for a log
// line; the underlying error stays reachable with errors.Is and errors.As.
type Failure struct {
	// Reason says what went wrong, e.g. "connection refused".
	Reason string
	// Timeout is true when the check ran out of time.
	Timeout bool
	// Err is the underlying error, if any.
	Err error
}

// Error returns f.Reason.
func (f *Failure) Error() string { return f.Reason }

// Unwrap returns f.Err.
func (f *Failure) Unwrap() error { return f.Err }

// failf returns a Failure with a formatted reason and no underlying error.
func failf(format string, args ...any) *Failure {
	return &Failure{Reason: fmt.Sprintf(format, args...)}
}

// fail turns a network or context error from a check that started at start
// under ctx into a Failure with a short reason. A timeout names the check's
// budget (ctx's deadline minus start, to the millisecond).
func fail(ctx context.Context, start time.Time, err error) *Failure {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	if isTimeout(err) {
		reason := "timeout"
		if dl, ok := ctx.Deadline(); ok {
			reason = fmt.Sprintf("timeout after %v", dl.Sub(start).Round(time.Millisecond))
		}
		return &Failure{Reason: reason, Timeout: true, Err: err}
	}
	return &Failure{Reason: describe(err), Err: err}
}

// isTimeout reports whether err is a deadline running out, whichever layer
// noticed it first (the context, a connection deadline, the dialer).
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// describe returns a short text for a network error: the common errno
// values by name, otherwise the innermost operation's error without the
// "dial tcp ADDR:" prefix (the address is logged beside it).
func describe(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "check canceled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by server"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "host unreachable"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by server"
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	return err.Error()
}
