package health

import (
	"bufio"
	"context"
	"net"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/fulcrum-lb/fulcrum/internal/backend"
)

func TestParseAgentReply(t *testing.T) {
	t.Parallel()
	none := AgentReply{Percent: -1}
	with := func(f func(*AgentReply)) AgentReply {
		r := none
		f(&r)
		return r
	}
	tests := []struct {
		line string
		want AgentReply
	}{
		{"", none},
		{"   \r\n", none},
		{"75%", with(func(r *AgentReply) { r.Percent = 75 })},
		{"0%", with(func(r *AgentReply) { r.Percent = 0 })},
		{"256%", with(func(r *AgentReply) { r.Percent = 256 })},
		{"257%", with(func(r *AgentReply) { r.Unknown = []string{"257%"} })},
		{"1000%", with(func(r *AgentReply) { r.Unknown = []string{"1000%"} })},
		{"%", with(func(r *AgentReply) { r.Unknown = []string{"%"} })},
		{"-5%", with(func(r *AgentReply) { r.Unknown = []string{"-5%"} })},
		{"75", with(func(r *AgentReply) { r.Unknown = []string{"75"} })},
		{"drain", with(func(r *AgentReply) { r.Admin, r.HasAdmin = backend.Drain, true })},
		{"READY", with(func(r *AgentReply) { r.Admin, r.HasAdmin = backend.Ready, true })},
		{"maint", with(func(r *AgentReply) { r.Admin, r.HasAdmin = backend.Maint, true })},
		{"up", with(func(r *AgentReply) { r.Health, r.Reason = AgentUp, "agent says up" })},
		{"down", with(func(r *AgentReply) { r.Health, r.Reason = AgentDown, "agent says down" })},
		{"fail", with(func(r *AgentReply) { r.Health, r.Reason = AgentDown, "agent says fail" })},
		{"Stopped\n", with(func(r *AgentReply) { r.Health, r.Reason = AgentDown, "agent says stopped" })},
		{"down#disk full", with(func(r *AgentReply) {
			r.Health, r.Reason, r.Desc = AgentDown, "disk full", "disk full"
		})},
		{"down # maintenance window \r\n", with(func(r *AgentReply) {
			r.Health, r.Reason, r.Desc = AgentDown, "maintenance window", "maintenance window"
		})},
		{"up 50%", with(func(r *AgentReply) { r.Health, r.Reason, r.Percent = AgentUp, "agent says up", 50 })},
		{"up,ready,\t80%", with(func(r *AgentReply) {
			r.Health, r.Reason, r.Percent, r.Admin, r.HasAdmin = AgentUp, "agent says up", 80, backend.Ready, true
		})},
		{"drain 0% # draining", with(func(r *AgentReply) {
			r.Admin, r.HasAdmin, r.Percent, r.Desc = backend.Drain, true, 0, "draining"
		})},
		{"up down", with(func(r *AgentReply) { r.Health, r.Reason = AgentDown, "agent says down" })},
		{"10% 20%", with(func(r *AgentReply) { r.Percent = 20 })},
		{"maxconn:30 up", with(func(r *AgentReply) {
			r.Health, r.Reason, r.Unknown = AgentUp, "agent says up", []string{"maxconn:30"}
		})},
		{"# only a comment", with(func(r *AgentReply) { r.Desc = "only a comment" })},
		{"up\ndown", with(func(r *AgentReply) { r.Health, r.Reason = AgentUp, "agent says up" })},
		{"down#a#b", with(func(r *AgentReply) { r.Health, r.Reason, r.Desc = AgentDown, "a#b", "a#b" })},
	}
	for _, tt := range tests {
		if got := ParseAgentReply(tt.line); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseAgentReply(%q) = %+v, want %+v", tt.line, got, tt.want)
		}
	}
}

func TestParseAgentReplyLongReason(t *testing.T) {
	t.Parallel()
	r := ParseAgentReply("down#x" + strings.Repeat("é", 100)) // the cut splits a rune
	if len(r.Reason) > maxAgentReason || !utf8.ValidString(r.Reason) {
		t.Fatalf("Reason is %d bytes, valid UTF-8 %v; want at most %d, valid", len(r.Reason), utf8.ValidString(r.Reason), maxAgentReason)
	}
}

func FuzzAgentReply(f *testing.F) {
	for _, s := range []string{"75%", "drain", "down#maintenance", "up 50%", "up,ready,\t80%", "maxconn:30", "256%", "\xff#\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		r := ParseAgentReply(line)
		if r.Percent < -1 || r.Percent > 256 {
			t.Fatalf("Percent = %d", r.Percent)
		}
		if (r.Health == AgentNoHealth) != (r.Reason == "") {
			t.Fatalf("Health %d with Reason %q", r.Health, r.Reason)
		}
		if r.HasAdmin && r.Admin != backend.Ready && r.Admin != backend.Drain && r.Admin != backend.Maint {
			t.Fatalf("Admin = %v", r.Admin)
		}
		for _, s := range append([]string{r.Reason, r.Desc}, r.Unknown...) {
			if !utf8.ValidString(s) || strings.ContainsAny(s, "\n") {
				t.Fatalf("text %q is not one valid line", s)
			}
		}
		if len(r.Desc) > maxAgentReason {
			t.Fatalf("Desc is %d bytes", len(r.Desc))
		}
	})
}

// agentServer is a loopback agent: it answers each connection with its
// current reply and a newline, then closes. It records what clients send.
type agentServer struct {
	addr   string
	reply  atomic.Pointer[string]
	served atomic.Int64
	mu     sync.Mutex
	got    []string
}

func newAgentServer(t *testing.T, reply string, readSend bool) *agentServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &agentServer{addr: ln.Addr().String()}
	a.set(reply)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				if readSend {
					line, _ := bufio.NewReader(c).ReadString('\n')
					a.mu.Lock()
					a.got = append(a.got, line)
					a.mu.Unlock()
				}
				c.Write([]byte(*a.reply.Load()))
				a.served.Add(1)
			})
		}
	})
	return a
}

func (a *agentServer) set(reply string) { a.reply.Store(&reply) }

// setAndWait sets the reply and waits until it has surely been served to a
// query that started after the change.
func (a *agentServer) setAndWait(t *testing.T, reply string) {
	t.Helper()
	a.set(reply)
	n := a.served.Load()
	waitFor(t, "agent replies", wait, func() bool { return a.served.Load() >= n+2 })
}

func (a *agentServer) port(t *testing.T) int {
	t.Helper()
	return portOf(t, a.addr)
}

func TestQueryAgent(t *testing.T) {
	t.Parallel()
	a := newAgentServer(t, "", true)
	tests := []struct {
		reply string
		line  string
		want  AgentReply
	}{
		{"75%\n", "75%", AgentReply{Percent: 75}},
		{"drain\r\n", "drain", AgentReply{Percent: -1, Admin: backend.Drain, HasAdmin: true}},
		{"down#maintenance\n", "down#maintenance", AgentReply{Percent: -1, Health: AgentDown, Reason: "maintenance", Desc: "maintenance"}},
		{"up 50%\n", "up 50%", AgentReply{Percent: 50, Health: AgentUp, Reason: "agent says up"}},
		{"ready", "ready", AgentReply{Percent: -1, Admin: backend.Ready, HasAdmin: true}}, // no newline, then close
		{"up\nignored\n", "up", AgentReply{Percent: -1, Health: AgentUp, Reason: "agent says up"}},
	}
	for _, tt := range tests {
		a.set(tt.reply)
		line, err := QueryAgent(timeoutCtx(t, 5*time.Second), a.addr, "hello\n")
		if err != nil || line != tt.line {
			t.Fatalf("QueryAgent with reply %q = %q, %v; want %q", tt.reply, line, err, tt.line)
		}
		if got := ParseAgentReply(line); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("reply %q parsed as %+v, want %+v", tt.reply, got, tt.want)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, g := range a.got {
		if g != "hello\n" {
			t.Errorf("query %d sent %q, want %q", i, g, "hello\n")
		}
	}
}

func TestQueryAgentLongLine(t *testing.T) {
	t.Parallel()
	a := newAgentServer(t, strings.Repeat("x", 5000)+"\n", false)
	line, err := QueryAgent(timeoutCtx(t, 5*time.Second), a.addr, "")
	if err != nil || len(line) != maxAgentLine {
		t.Fatalf("QueryAgent = %d bytes, %v; want %d bytes", len(line), err, maxAgentLine)
	}
}

func TestQueryAgentErrors(t *testing.T) {
	t.Parallel()
	_, err := QueryAgent(timeoutCtx(t, 5*time.Second), closedAddr(t), "")
	if err == nil || err.Error() != "connection refused" {
		t.Errorf("QueryAgent(closed) = %v, want connection refused", err)
	}

	empty := newAgentServer(t, "", false)
	_, err = QueryAgent(timeoutCtx(t, 5*time.Second), empty.addr, "")
	if err == nil || err.Error() != "agent closed the connection without a reply" {
		t.Errorf("QueryAgent(empty) = %v, want agent closed the connection without a reply", err)
	}

	silent := newAgentServer(t, "up\n", true) // waits for a line we never send
	_, err = QueryAgent(timeoutCtx(t, 20*time.Millisecond), silent.addr, "")
	if f := failureOf(t, err); !f.Timeout {
		t.Errorf("QueryAgent(silent) = %v, want a timeout", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := QueryAgent(ctx, silent.addr, ""); err == nil {
		t.Errorf("QueryAgent(canceled) = nil error")
	}
}
