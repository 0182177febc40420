package health

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/backend"
	"github.com/fulcrum-lb/fulcrum/internal/balance"
)

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// logBuffer collects slog text output; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the lines that contain every one of subs.
func (b *logBuffer) lines(subs ...string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for l := range strings.Lines(b.buf.String()) {
		all := true
		for _, s := range subs {
			all = all && strings.Contains(l, s)
		}
		if all {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return out
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLogger(b *logBuffer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: level}))
}

// newPool builds a pool of the named servers (no addresses yet).
func newPool(t *testing.T, opts backend.Options, specs ...backend.ServerSpec) *backend.Pool {
	t.Helper()
	b, err := balance.New(balance.RoundRobin, balance.Options{})
	if err != nil {
		t.Fatalf("balance.New: %v", err)
	}
	opts.Builder = b
	for i := range specs {
		if specs[i].Weight == 0 {
			specs[i].Weight = 1
		}
		if specs[i].Addr == "" {
			specs[i].Addr = "localhost:1"
		}
	}
	p := backend.NewPool(opts, specs, backend.NewRegistry())
	t.Cleanup(p.Close)
	return p
}

// acceptor is a loopback TCP server that accepts connections, counts them and
// closes them at once. It can be closed and reopened on the same address.
type acceptor struct {
	t        *testing.T
	addr     string
	accepted atomic.Int64
	mu       sync.Mutex
	ln       net.Listener
	done     chan struct{}
}

func newAcceptor(t *testing.T) *acceptor {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &acceptor{t: t, addr: ln.Addr().String()}
	a.serve(ln)
	t.Cleanup(a.Close)
	return a
}

func (a *acceptor) serve(ln net.Listener) {
	a.mu.Lock()
	a.ln, a.done = ln, make(chan struct{})
	done := a.done
	a.mu.Unlock()
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			a.accepted.Add(1)
			c.Close()
		}
	}()
}

// Close stops listening and waits for the accept loop to end.
func (a *acceptor) Close() {
	a.mu.Lock()
	ln, done := a.ln, a.done
	a.ln = nil
	a.mu.Unlock()
	if ln != nil {
		ln.Close()
		<-done
	}
}

// Reopen listens again on the same address.
func (a *acceptor) Reopen() {
	a.t.Helper()
	var ln net.Listener
	var err error
	waitFor(a.t, "listening again on "+a.addr, 5*time.Second, func() bool {
		ln, err = net.Listen("tcp", a.addr)
		return err == nil
	})
	a.serve(ln)
}

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// portOf returns the port of addr.
func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// failureOf returns err's Failure, failing the test if it is not one.
func failureOf(t *testing.T, err error) *Failure {
	t.Helper()
	var f *Failure
	if !errors.As(err, &f) {
		t.Fatalf("error %v (%T) is not a *Failure", err, err)
	}
	return f
}
