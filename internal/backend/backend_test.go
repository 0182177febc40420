package backend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/balance"
)

func rr(t testing.TB) balance.Builder {
	b, err := balance.New(balance.RoundRobin, balance.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// syncBuf is a log sink safe for concurrent writers.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func specs(n int) []ServerSpec {
	out := make([]ServerSpec, n)
	for i := range out {
		out[i] = ServerSpec{Name: fmt.Sprintf("s%d", i+1), Addr: fmt.Sprintf("127.0.0.1:%d", 9001+i), Weight: 1, Resolved: fmt.Sprintf("127.0.0.1:%d", 9001+i)}
	}
	return out
}

func newPool(t testing.TB, sp []ServerSpec, mod func(*Options)) (*Pool, *syncBuf) {
	var buf syncBuf
	o := Options{Name: "web", Builder: rr(t), InitialUp: true, Logger: slog.New(slog.NewTextHandler(&buf, nil))}
	if mod != nil {
		mod(&o)
	}
	p := NewPool(o, sp, NewRegistry())
	t.Cleanup(p.Close)
	return p, &buf
}

func names(set *Set) string {
	var s []string
	for _, srv := range set.Servers {
		s = append(s, srv.Name())
	}
	return strings.Join(s, ",")
}

func TestRegistryKeepsStateAcrossPools(t *testing.T) {
	reg := NewRegistry()
	o := Options{Name: "web", Builder: rr(t), InitialUp: true}
	p1 := NewPool(o, specs(2), reg)
	p1.SetHealth(p1.Servers()[1], false, Verdict{Check: "active", Reason: "test", Checks: 3})
	p1.Servers()[0].State.Load.Inc()
	p2 := NewPool(o, specs(3), reg)
	for i := range 2 {
		if p1.Servers()[i].State != p2.Servers()[i].State {
			t.Errorf("server %d: State not shared across pools", i)
		}
	}
	if p2.Servers()[1].State.Up() {
		t.Error("s2 came back up after rebuild; want its health kept")
	}
	if got := p2.Servers()[0].State.Load.Active(); got != 1 {
		t.Errorf("s1 active = %d after rebuild, want 1", got)
	}
	if got := names(p2.Set()); got != "s1,s3" {
		t.Errorf("eligible = %q, want s1,s3", got)
	}
	reg.Retain(map[ID]bool{{Backend: "web", Server: "s1"}: true})
	if reg.Len() != 1 {
		t.Errorf("Len after Retain = %d, want 1", reg.Len())
	}
}

func TestSetEligibility(t *testing.T) {
	sp := specs(4)
	sp[2].Backup = true
	sp[3].Backup = true
	sp[3].Disabled = true
	p, _ := newPool(t, sp, nil)
	s := p.Servers()
	if got := names(p.Set()); got != "s1,s2" || p.Set().Backup {
		t.Fatalf("initial set = %q backup=%v, want s1,s2 primaries", got, p.Set().Backup)
	}
	p.SetAdmin(s[0], Drain, "test")
	if got := names(p.Set()); got != "s1,s2" {
		t.Errorf("after drain set = %q; draining server stays with weight 0", got)
	}
	for range 10 {
		if i := p.Set().Picker.Pick(&balance.Request{}, nil); p.Set().Servers[i] == s[0] {
			t.Fatal("picked a draining server")
		}
	}
	p.SetHealth(s[1], false, Verdict{Check: "active", Reason: "test", Checks: 1})
	// s1 draining and s2 down: no usable primary, so the backups serve.
	if got := names(p.Set()); got != "s3" || !p.Set().Backup {
		t.Errorf("set = %q backup=%v, want the backup s3 (s4 is disabled)", got, p.Set().Backup)
	}
	p.SetAdmin(s[0], Ready, "test")
	if got := names(p.Set()); got != "s1" || p.Set().Backup {
		t.Errorf("set = %q backup=%v, want primary s1 back", got, p.Set().Backup)
	}
	p.SetAdmin(s[0], Maint, "test")
	p.SetHealth(s[2], false, Verdict{Check: "active", Reason: "test", Checks: 1})
	if got := names(p.Set()); got != "" {
		t.Errorf("set = %q, want empty", got)
	}
	var a Attempt
	if _, err := p.Acquire(context.Background(), &balance.Request{}, &a, time.Second); !errors.Is(err, ErrNoServer) {
		t.Errorf("Acquire on empty pool = %v, want ErrNoServer", err)
	}
}

func TestAgentPercentScalesWeight(t *testing.T) {
	sp := specs(1)
	sp[0].Weight = 10
	p, buf := newPool(t, sp, nil)
	s := p.Servers()[0]
	tests := []struct{ pct, want int }{{100, 10}, {50, 5}, {1, 1}, {0, 0}, {200, 20}}
	for _, tt := range tests {
		p.SetAgentPercent(s, tt.pct)
		if got := s.EffectiveWeight(); got != tt.want {
			t.Errorf("pct %d: EffectiveWeight = %d, want %d", tt.pct, got, tt.want)
		}
	}
	if !strings.Contains(buf.String(), "weight_pct=50") {
		t.Errorf("no weight change logged:\n%s", buf)
	}
}

func TestUnresolvedServerIsNotEligible(t *testing.T) {
	sp := specs(2)
	sp[1].Resolved = ""
	sp[1].Addr = "web2:80"
	p, buf := newPool(t, sp, nil)
	if got := names(p.Set()); got != "s1" {
		t.Fatalf("set = %q, want s1 only", got)
	}
	p.SetAddr(p.Servers()[1], "127.0.0.2:80")
	if got := names(p.Set()); got != "s1,s2" {
		t.Fatalf("set after resolution = %q, want s1,s2", got)
	}
	p.SetAddr(p.Servers()[1], "127.0.0.3:80")
	if got := p.Servers()[1].State.Addr(); got != "127.0.0.3:80" {
		t.Errorf("Addr = %q", got)
	}
	if !strings.Contains(buf.String(), "from=127.0.0.2:80 to=127.0.0.3:80") {
		t.Errorf("address change not logged:\n%s", buf)
	}
}

func TestHealthTransitionsLoggedOnce(t *testing.T) {
	p, buf := newPool(t, specs(2), nil)
	s := p.Servers()[0]
	for range 3 {
		p.SetHealth(s, false, Verdict{Check: "active", Reason: "connection refused", Checks: 3})
	}
	for range 3 {
		p.SetHealth(s, true, Verdict{Check: "active", Reason: "check passed", Checks: 2})
	}
	out := buf.String()
	if n := strings.Count(out, "state=DOWN"); n != 1 {
		t.Errorf("%d DOWN lines, want 1:\n%s", n, out)
	}
	if n := strings.Count(out, "state=UP"); n != 1 {
		t.Errorf("%d UP lines, want 1:\n%s", n, out)
	}
	want := `backend=web server=s1 addr=127.0.0.1:9001 state=DOWN reason="connection refused" check=active after="3 checks"`
	if !strings.Contains(out, want) {
		t.Errorf("log lacks %s:\n%s", want, out)
	}
}

func TestMaxConnSkipsFullServer(t *testing.T) {
	sp := specs(2)
	sp[0].MaxConn = 1
	p, _ := newPool(t, sp, nil)
	ctx := context.Background()
	var held []*Server
	for range 5 {
		var a Attempt
		s, err := p.Acquire(ctx, &balance.Request{}, &a, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, s)
	}
	if got := p.Servers()[0].State.Load.Active(); got != 1 {
		t.Errorf("s1 holds %d connections, maxconn 1", got)
	}
	if got := p.Servers()[1].State.Load.Active(); got != 4 {
		t.Errorf("s2 holds %d connections, want 4", got)
	}
	for _, s := range held {
		s.Release()
	}
}

func TestQueueWaitsForFreeSlot(t *testing.T) {
	sp := specs(1)
	sp[0].MaxConn = 1
	p, _ := newPool(t, sp, nil)
	ctx := context.Background()
	var a Attempt
	first, err := p.Acquire(ctx, &balance.Request{}, &a, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// A second client times out while the slot is held.
	var b Attempt
	if _, err := p.Acquire(ctx, &balance.Request{}, &b, 20*time.Millisecond); !errors.Is(err, ErrQueueTimeout) {
		t.Fatalf("Acquire = %v, want ErrQueueTimeout", err)
	}
	if p.QueueTimeouts.Load() != 1 || p.Queued() != 0 {
		t.Errorf("QueueTimeouts %d Queued %d, want 1 0", p.QueueTimeouts.Load(), p.Queued())
	}
	// Two waiters are served in order as the slot is released.
	got := make(chan string, 2)
	for _, name := range []string{"w1", "w2"} {
		go func() {
			var c Attempt
			s, err := p.Acquire(ctx, &balance.Request{}, &c, 5*time.Second)
			if err != nil {
				got <- err.Error()
				return
			}
			got <- name
			time.Sleep(5 * time.Millisecond)
			s.Release()
		}()
		want := 1
		if name == "w2" {
			want = 2
		}
		deadline := time.Now().Add(5 * time.Second)
		for p.Queued() != want && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	first.Release()
	if a, b := <-got, <-got; a != "w1" || b != "w2" {
		t.Errorf("served %s then %s, want w1 then w2", a, b)
	}
}

func TestPassiveFailuresMarkDown(t *testing.T) {
	p, buf := newPool(t, specs(2), func(o *Options) { o.PassiveFall = 3; o.PassiveHold = 30 * time.Millisecond })
	s := p.Servers()[0]
	refused := errors.New("connection refused")
	p.ReportConnect(s, refused)
	p.ReportConnect(s, refused)
	p.ReportConnect(s, nil) // a success resets the count
	p.ReportConnect(s, refused)
	p.ReportConnect(s, refused)
	if !s.State.Up() {
		t.Fatal("down after 2 consecutive failures; fall is 3")
	}
	p.ReportConnect(s, refused)
	if s.State.Up() {
		t.Fatal("still up after 3 consecutive failures")
	}
	if got := names(p.Set()); got != "s2" {
		t.Errorf("set = %q, want s2", got)
	}
	if !strings.Contains(buf.String(), "check=passive") {
		t.Errorf("passive transition not logged:\n%s", buf)
	}
	// No active check: the hold brings it back.
	deadline := time.Now().Add(5 * time.Second)
	for !s.State.Up() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !s.State.Up() {
		t.Error("not back up after the passive hold")
	}
	if got := s.State.Counters.ConnectFails.Load(); got != 5 {
		t.Errorf("ConnectFails = %d, want 5", got)
	}
}

func TestPassiveWithActiveCheckStaysDown(t *testing.T) {
	p, _ := newPool(t, specs(1), func(o *Options) { o.PassiveFall = 1; o.PassiveHold = 10 * time.Millisecond; o.Checked = true })
	s := p.Servers()[0]
	p.ReportConnect(s, errors.New("refused"))
	time.Sleep(40 * time.Millisecond)
	if s.State.Up() {
		t.Error("came back without an active check passing")
	}
}

// TestSetNeverTorn flips health while many goroutines pick: every pick must
// name a server of the set it was made on.
func TestSetNeverTorn(t *testing.T) {
	p, _ := newPool(t, specs(8), nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				var a Attempt
				s, err := p.Acquire(context.Background(), &balance.Request{}, &a, time.Second)
				if err != nil {
					if !errors.Is(err, ErrNoServer) {
						t.Error(err)
					}
					continue
				}
				s.Release()
			}
		}()
	}
	srv := p.Servers()
	for i := range 2000 {
		p.SetHealth(srv[i%8], i%3 != 0, Verdict{Check: "active", Reason: "flip", Checks: 1})
	}
	close(stop)
	wg.Wait()
	for _, s := range srv {
		if n := s.State.Load.Active(); n != 0 {
			t.Errorf("%s active = %d after all released", s.Name(), n)
		}
	}
}

func BenchmarkAcquireRelease(b *testing.B) {
	p, _ := newPool(b, specs(10), nil)
	ctx := context.Background()
	req := &balance.Request{}
	b.ReportAllocs()
	for b.Loop() {
		var a Attempt
		s, _ := p.Acquire(ctx, req, &a, time.Second)
		s.Release()
	}
}

func TestAcquireServer(t *testing.T) {
	sp := specs(3)
	sp[1].MaxConn = 1
	sp[2].Backup = true
	p, _ := newPool(t, sp, nil)
	s := p.Servers()
	var a Attempt
	if !p.AcquireServer(s[0], &a) {
		t.Fatal("s1 refused")
	}
	if p.AcquireServer(s[0], &a) {
		t.Error("s1 taken twice by one attempt")
	}
	s[0].Release()
	var b Attempt
	if !p.AcquireServer(s[1], &b) {
		t.Fatal("s2 refused")
	}
	var c Attempt
	if p.AcquireServer(s[1], &c) {
		t.Error("s2 over its maxconn")
	}
	s[1].Release()
	if p.AcquireServer(s[2], &c) {
		t.Error("backup taken while primaries serve")
	}
	p.SetAdmin(s[0], Drain, "test")
	if p.AcquireServer(s[0], &c) {
		t.Error("draining server taken")
	}
	p.SetHealth(s[1], false, Verdict{Check: "active", Reason: "test", Checks: 1})
	if p.AcquireServer(s[1], &c) {
		t.Error("down server taken")
	}
	// Both primaries unusable: the backup serves.
	if !p.AcquireServer(s[2], &c) {
		t.Error("backup refused while it serves")
	}
	s[2].Release()
}
