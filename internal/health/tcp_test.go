package health

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"
)

func TestTCPCheck(t *testing.T) {
	t.Parallel()
	a := newAcceptor(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := (TCP{}).Check(ctx, a.addr); err != nil {
		t.Fatalf("Check(open) = %v, want nil", err)
	}
	waitFor(t, "the connection to be accepted", 5*time.Second, func() bool { return a.accepted.Load() == 1 })

	a.Close()
	err := (TCP{}).Check(ctx, a.addr)
	if err == nil || err.Error() != "connection refused" {
		t.Fatalf("Check(closed) = %v, want connection refused", err)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("errors.Is(%v, ECONNREFUSED) = false", err)
	}

	a.Reopen()
	if err := (TCP{}).Check(ctx, a.addr); err != nil {
		t.Fatalf("Check(reopened) = %v, want nil", err)
	}
}

func TestTCPCheckExpiredContext(t *testing.T) {
	t.Parallel()
	a := newAcceptor(t)
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	err := (TCP{}).Check(ctx, a.addr)
	if f := failureOf(t, err); !f.Timeout {
		t.Fatalf("Check with an expired deadline = %v, want a timeout", err)
	}
}
