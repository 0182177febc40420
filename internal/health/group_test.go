package health

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/backend"
)

const wait = 5 * time.Second // generous: only a bug, never a slow machine, should hit it

func noJitter(time.Duration) time.Duration { return 0 }

// fixture is a pool "web" with servers s1, s2 ..., a group with no jitter and
// their common log.
type fixture struct {
	p    *backend.Pool
	g    *Group
	logs *logBuffer
}

func newFixture(t *testing.T, opts backend.Options, addrs ...string) *fixture {
	t.Helper()
	f := &fixture{logs: &logBuffer{}}
	log := newLogger(f.logs, slog.LevelDebug)
	opts.Name, opts.Logger, opts.Checked = "web", log, true
	var specs []backend.ServerSpec
	for i := range addrs {
		specs = append(specs, backend.ServerSpec{Name: "s" + string(rune('1'+i))})
	}
	f.p = newPool(t, opts, specs...)
	for i, a := range addrs {
		if a != "" {
			f.p.SetAddr(f.p.Servers()[i], a)
		}
	}
	f.g = NewGroup(log)
	f.g.Jitter = noJitter
	t.Cleanup(f.g.Stop)
	return f
}

func (f *fixture) server(i int) *backend.Server { return f.p.Servers()[i] }

// transitions returns the logged health transitions of the server named name.
func (f *fixture) transitions(name string) []string {
	return f.logs.lines(`msg="server state changed"`, "server="+name+" ")
}

// wantTransitions checks the log holds exactly the transitions named by
// want, each line containing every one of its substrings.
func (f *fixture) wantTransitions(t *testing.T, name string, want ...[]string) {
	t.Helper()
	got := f.transitions(name)
	if len(got) != len(want) {
		t.Fatalf("%d transitions logged for %s, want %d:\n%s", len(got), name, len(want), strings.Join(got, "\n"))
	}
	for i, subs := range want {
		for _, s := range subs {
			if !strings.Contains(got[i], s) {
				t.Errorf("transition %d: %q does not contain %q", i, got[i], s)
			}
		}
	}
}

// countingTCP is a TCP check that counts its calls.
type countingTCP struct{ calls atomic.Int64 }

func (c *countingTCP) Check(ctx context.Context, addr string) error {
	c.calls.Add(1)
	return TCP{}.Check(ctx, addr)
}

// stays checks that cond holds for d: for assertions that something does
// not happen (a false pass is possible on a very slow machine, a false
// failure is not).
func stays(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if !cond() {
			t.Fatalf("%s stopped holding", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestGroupTCPDownAndUp(t *testing.T) {
	t.Parallel()
	a := newAcceptor(t)
	f := newFixture(t, backend.Options{InitialUp: true}, a.addr)
	s := f.server(0)
	f.g.Add(f.p, Spec{Checker: TCP{}, Interval: 20 * time.Millisecond, FastInterval: 10 * time.Millisecond, Timeout: time.Second, Rise: 2, Fall: 3})

	waitFor(t, "a few good checks", wait, func() bool { return a.accepted.Load() >= 3 })
	if !s.State.Up() {
		t.Fatal("server went down while its checks passed")
	}
	f.wantTransitions(t, "s1")

	a.Close()
	waitFor(t, "s1 down", wait, func() bool { return !s.State.Up() })
	f.wantTransitions(t, "s1", []string{"level=WARN", "backend=web", "addr=" + a.addr, "state=DOWN", `reason="connection refused"`, `after="3 checks"`})

	a.Reopen()
	waitFor(t, "s1 up", wait, func() bool { return s.State.Up() })
	n := a.accepted.Load()
	waitFor(t, "more good checks", wait, func() bool { return a.accepted.Load() >= n+3 })
	f.wantTransitions(t, "s1",
		[]string{"state=DOWN"},
		[]string{"level=INFO", "addr=" + a.addr, "state=UP", `reason="check passed"`, `after="2 checks"`})
}

func TestGroupHTTPSequence(t *testing.T) {
	t.Parallel()
	scr, addr := serve(t,
		step{status: 200}, step{status: 200},
		step{status: 503}, step{status: 200}, // a single failure does not count
		step{status: 503}, step{status: 503}, step{status: 503}, // DOWN
		step{status: 200}, step{status: 500}, // a single success does not count
		step{status: 200}, step{status: 200}, // UP
		step{status: 200})
	f := newFixture(t, backend.Options{InitialUp: true}, addr)
	s := f.server(0)
	f.g.Add(f.p, Spec{Checker: mustHTTP(t, HTTPOptions{Path: "/health"}), Interval: 10 * time.Millisecond, Timeout: time.Second, Rise: 2, Fall: 3})

	waitFor(t, "12 requests", wait, func() bool { return len(scr.requests()) >= 12 })
	if !s.State.Up() {
		t.Fatal("s1 is down at the end of the script")
	}
	f.wantTransitions(t, "s1",
		[]string{"state=DOWN", `reason="status 503, expected 200-399"`, `after="3 checks"`},
		[]string{"state=UP", `reason="check passed"`, `after="2 checks"`})
}

func TestGroupPassiveDownComesBack(t *testing.T) {
	t.Parallel()
	a := newAcceptor(t)
	f := newFixture(t, backend.Options{InitialUp: true, PassiveFall: 2}, a.addr)
	s := f.server(0)
	f.g.Add(f.p, Spec{Checker: TCP{}, Interval: 30 * time.Millisecond, FastInterval: 10 * time.Millisecond, Timeout: time.Second, Rise: 3, Fall: 2})
	waitFor(t, "a good check", wait, func() bool { return a.accepted.Load() >= 1 })

	refused := errors.New("connection refused")
	f.p.ReportConnect(s, refused)
	f.p.ReportConnect(s, refused)
	if s.State.Up() {
		t.Fatal("s1 still up after PassiveFall connect failures")
	}
	waitFor(t, "s1 back up", wait, func() bool { return s.State.Up() })
	n := a.accepted.Load()
	waitFor(t, "more good checks", wait, func() bool { return a.accepted.Load() >= n+3 })
	f.wantTransitions(t, "s1",
		[]string{"state=DOWN", "check=passive"},
		[]string{"state=UP", `reason="check passed"`, `after="3 checks"`})
}

func TestGroupSkipsMaintAndUnresolved(t *testing.T) {
	t.Parallel()
	a := newAcceptor(t)
	f := newFixture(t, backend.Options{InitialUp: true}, closedAddr(t), "")
	s1, s2 := f.server(0), f.server(1)
	f.p.SetAdmin(s1, backend.Maint, "test")
	c := &countingTCP{}
	f.g.Add(f.p, Spec{Checker: c, Interval: 10 * time.Millisecond, Timeout: time.Second, Rise: 1, Fall: 1})

	stays(t, "no check of a server in maint or unresolved", 200*time.Millisecond, func() bool { return c.calls.Load() == 0 })
	if !s1.State.Up() || !s2.State.Up() {
		t.Fatal("an unchecked server changed state")
	}

	f.p.SetAdmin(s1, backend.Ready, "test")
	waitFor(t, "s1 down once out of maint", wait, func() bool { return !s1.State.Up() })
	f.p.SetAddr(s2, a.addr)
	waitFor(t, "checks of s2 once resolved", wait, func() bool { return a.accepted.Load() >= 2 })
	if !s2.State.Up() {
		t.Fatal("s2 went down while its checks passed")
	}
	f.wantTransitions(t, "s1", []string{"state=DOWN", `reason="connection refused"`, `after="1 check"`})
	f.wantTransitions(t, "s2")
}

func TestGroupIntervals(t *testing.T) {
	t.Parallel()
	const long = time.Hour // an interval that must not be the one used
	t.Run("counting down uses FastInterval, then DownInterval", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, backend.Options{InitialUp: true}, closedAddr(t))
		c := &countingTCP{}
		f.g.Add(f.p, Spec{Checker: c, Interval: long, FastInterval: 10 * time.Millisecond, DownInterval: long, Timeout: time.Second, Rise: 2, Fall: 3})
		waitFor(t, "s1 down", wait, func() bool { return !f.server(0).State.Up() })
		stays(t, "three checks", 100*time.Millisecond, func() bool { return c.calls.Load() == 3 })
	})
	t.Run("down uses DownInterval", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, backend.Options{InitialUp: false}, closedAddr(t))
		c := &countingTCP{}
		f.g.Add(f.p, Spec{Checker: c, Interval: long, FastInterval: long, DownInterval: 10 * time.Millisecond, Timeout: time.Second, Rise: 2, Fall: 3})
		waitFor(t, "five checks", wait, func() bool { return c.calls.Load() >= 5 })
		f.wantTransitions(t, "s1")
	})
	t.Run("counting up uses FastInterval, then Interval", func(t *testing.T) {
		t.Parallel()
		a := newAcceptor(t)
		f := newFixture(t, backend.Options{InitialUp: false}, a.addr)
		c := &countingTCP{}
		f.g.Add(f.p, Spec{Checker: c, Interval: long, FastInterval: 10 * time.Millisecond, DownInterval: long, Timeout: time.Second, Rise: 3, Fall: 3})
		waitFor(t, "s1 up", wait, func() bool { return f.server(0).State.Up() })
		stays(t, "three checks", 100*time.Millisecond, func() bool { return c.calls.Load() == 3 })
	})
}

func TestGroupTimeoutReason(t *testing.T) {
	t.Parallel()
	_, addr := serve(t, step{status: 200, delay: 50 * time.Millisecond})
	f := newFixture(t, backend.Options{InitialUp: true}, addr)
	f.g.Add(f.p, Spec{Checker: mustHTTP(t, HTTPOptions{}), Interval: 30 * time.Millisecond, Timeout: 20 * time.Millisecond, Rise: 1, Fall: 2})
	waitFor(t, "s1 down", wait, func() bool { return !f.server(0).State.Up() })
	f.wantTransitions(t, "s1", []string{"state=DOWN", `reason="timeout after 20ms"`, `after="2 checks"`})
}

func TestGroupPortOverride(t *testing.T) {
	t.Parallel()
	a := newAcceptor(t)
	f := newFixture(t, backend.Options{InitialUp: false}, closedAddr(t))
	f.g.Add(f.p, Spec{Checker: TCP{}, Interval: 10 * time.Millisecond, Timeout: time.Second, Rise: 2, Fall: 2, Port: portOf(t, a.addr)})
	waitFor(t, "s1 up through the check port", wait, func() bool { return f.server(0).State.Up() })
	if a.accepted.Load() < 2 {
		t.Fatalf("check port accepted %d connections, want at least 2", a.accepted.Load())
	}
}

func TestGroupAgent(t *testing.T) {
	t.Parallel()
	a := newAcceptor(t)
	ag := newAgentServer(t, "75%\n", true)
	f := newFixture(t, backend.Options{InitialUp: true}, a.addr)
	s := f.server(0)
	f.g.Add(f.p, Spec{Checker: TCP{}, Interval: 10 * time.Millisecond, Timeout: time.Second, Rise: 2, Fall: 2})
	f.g.AddAgent(f.p, AgentSpec{Port: ag.port(t), Interval: 10 * time.Millisecond, Timeout: time.Second, Send: "hello\n"})

	waitFor(t, "weight 75%", wait, func() bool { return s.State.AgentPercent() == 75 })
	ag.set("drain\n")
	waitFor(t, "drain", wait, func() bool { return s.State.Admin() == backend.Drain })
	ag.set("ready 100%\n")
	waitFor(t, "ready", wait, func() bool { return s.State.Admin() == backend.Ready && s.State.AgentPercent() == 100 })

	ag.set("down#maintenance\n")
	waitFor(t, "s1 down", wait, func() bool { return !s.State.Up() })
	n := a.accepted.Load()
	waitFor(t, "passing active checks", wait, func() bool { return a.accepted.Load() >= n+5 })
	if s.State.Up() {
		t.Fatal("the active check brought up a server the agent holds down")
	}

	ag.set("up 50%\n")
	waitFor(t, "s1 up at 50%", wait, func() bool { return s.State.Up() && s.State.AgentPercent() == 50 })
	n = a.accepted.Load()
	waitFor(t, "more active checks", wait, func() bool { return a.accepted.Load() >= n+5 })
	f.wantTransitions(t, "s1",
		[]string{"state=DOWN", "reason=maintenance"},
		[]string{"state=UP", `reason="agent says up"`})
	if got := f.logs.lines(`msg="server admin state changed"`); len(got) != 2 {
		t.Errorf("%d admin transitions logged, want 2 (drain, ready):\n%s", len(got), strings.Join(got, "\n"))
	}

	ag.mu.Lock()
	defer ag.mu.Unlock()
	for i, g := range ag.got {
		if g != "hello\n" {
			t.Fatalf("agent query %d sent %q, want %q", i, g, "hello\n")
		}
	}
}

func TestGroupAgentUpWaitsForCheck(t *testing.T) {
	t.Parallel()
	a := newAcceptor(t)
	a.Close()
	ag := newAgentServer(t, "75%\n", false)
	f := newFixture(t, backend.Options{InitialUp: true}, a.addr)
	s := f.server(0)
	f.g.Add(f.p, Spec{Checker: TCP{}, Interval: 10 * time.Millisecond, Timeout: time.Second, Rise: 2, Fall: 2})
	f.g.AddAgent(f.p, AgentSpec{Port: ag.port(t), Interval: 10 * time.Millisecond, Timeout: time.Second})
	waitFor(t, "s1 down", wait, func() bool { return !s.State.Up() })

	// The agent's "up" does not override failing checks.
	ag.setAndWait(t, "down#held\n")
	ag.setAndWait(t, "up\n")
	if s.State.Up() {
		t.Fatal("the agent brought up a server whose checks fail")
	}

	// Passing checks do not override the agent's "down".
	ag.setAndWait(t, "down#held\n")
	a.Reopen()
	n := a.accepted.Load()
	waitFor(t, "passing checks", wait, func() bool { return a.accepted.Load() >= n+5 })
	if s.State.Up() {
		t.Fatal("the active check brought up a server the agent holds down")
	}

	ag.set("up\n")
	waitFor(t, "s1 up", wait, func() bool { return s.State.Up() })
	f.wantTransitions(t, "s1",
		[]string{"state=DOWN", `reason="connection refused"`},
		[]string{"state=UP", `reason="agent says up"`})
}

func TestGroupAgentOnly(t *testing.T) {
	t.Parallel()
	ag := newAgentServer(t, "down\n", false)
	f := newFixture(t, backend.Options{InitialUp: true}, ag.addr)
	s := f.server(0)
	f.g.AddAgent(f.p, AgentSpec{Port: ag.port(t), Interval: 10 * time.Millisecond, Timeout: time.Second})
	waitFor(t, "s1 down", wait, func() bool { return !s.State.Up() })
	ag.set("up\n")
	waitFor(t, "s1 up", wait, func() bool { return s.State.Up() })
	f.wantTransitions(t, "s1",
		[]string{"state=DOWN", `reason="agent says down"`},
		[]string{"state=UP", `reason="agent says up"`})
}

func TestGroupAgentUnreachable(t *testing.T) {
	t.Parallel()
	f := newFixture(t, backend.Options{InitialUp: true}, "127.0.0.1:1")
	s := f.server(0)
	f.g.AddAgent(f.p, AgentSpec{Port: portOf(t, closedAddr(t)), Interval: 10 * time.Millisecond, Timeout: time.Second})
	waitFor(t, "debug lines", wait, func() bool {
		return len(f.logs.lines("level=DEBUG", `msg="agent unreachable"`, `reason="connection refused"`)) >= 3
	})
	if !s.State.Up() || s.State.Admin() != backend.Ready || s.State.AgentPercent() != 100 {
		t.Fatal("an unreachable agent changed the server's state")
	}
	f.wantTransitions(t, "s1")
}

func TestGroupJitter(t *testing.T) {
	t.Parallel()
	f := newFixture(t, backend.Options{InitialUp: true}, "127.0.0.1:1", "127.0.0.1:2")
	var mu sync.Mutex
	var got []time.Duration
	f.g.Jitter = func(d time.Duration) time.Duration {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, d)
		return time.Hour
	}
	c := &countingTCP{}
	f.g.Add(f.p, Spec{Checker: c, Interval: 30 * time.Millisecond})
	f.g.AddAgent(f.p, AgentSpec{Port: 1, Interval: 40 * time.Millisecond})
	stays(t, "no check before the jittered start", 100*time.Millisecond, func() bool { return c.calls.Load() == 0 })
	mu.Lock()
	defer mu.Unlock()
	want := []time.Duration{30 * time.Millisecond, 30 * time.Millisecond, 40 * time.Millisecond, 40 * time.Millisecond}
	if !slices.Equal(got, want) {
		t.Fatalf("Jitter called with %v, want %v", got, want)
	}
}

// TestGroupStop is not parallel: it counts the process's goroutines.
func TestGroupStop(t *testing.T) {
	a := newAcceptor(t)
	scr, haddr := serve(t, step{status: 200})
	ag := newAgentServer(t, "up 80%\n", false)
	base := runtime.NumGoroutine()

	f := newFixture(t, backend.Options{InitialUp: true}, a.addr, haddr, ag.addr)
	f.g.Add(f.p, Spec{Checker: TCP{}, Interval: 10 * time.Millisecond, Timeout: time.Second})
	hp := newPool(t, backend.Options{Name: "api", Checked: true}, backend.ServerSpec{Name: "h1"})
	hp.SetAddr(hp.Servers()[0], haddr)
	f.g.Add(hp, Spec{Checker: mustHTTP(t, HTTPOptions{}), Interval: 10 * time.Millisecond, Timeout: time.Second})
	f.g.AddAgent(f.p, AgentSpec{Port: ag.port(t), Interval: 10 * time.Millisecond, Timeout: time.Second})
	if n := f.g.running.Load(); n != 7 {
		t.Fatalf("%d goroutines running, want 7 (3 tcp, 1 http, 3 agent)", n)
	}
	waitFor(t, "checks of every kind", wait, func() bool {
		return a.accepted.Load() >= 3 && len(scr.requests()) >= 3 && f.server(2).State.AgentPercent() == 80
	})

	f.g.Stop()
	if n := f.g.running.Load(); n != 0 {
		t.Fatalf("%d goroutines running after Stop, want 0", n)
	}
	waitFor(t, "goroutines back to the baseline", wait, func() bool { return runtime.NumGoroutine() <= base })

	f.g.Add(f.p, Spec{Checker: TCP{}})
	f.g.AddAgent(f.p, AgentSpec{Port: 1})
	if n := f.g.running.Load(); n != 0 {
		t.Fatalf("Add after Stop started %d goroutines", n)
	}
	f.g.Stop() // a second Stop is harmless
}
