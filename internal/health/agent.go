package health

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/backend"
)

// AgentHealth is the health an agent reports, if any.
type AgentHealth int

// The agent's health words.
const (
	// AgentNoHealth: the reply says nothing about health.
	AgentNoHealth AgentHealth = iota
	// AgentUp: "up".
	AgentUp
	// AgentDown: "down", "fail" or "stopped".
	AgentDown
)

// AgentReply is the meaning of one line from an agent.
type AgentReply struct {
	// Percent is the weight percentage ("75%" → 75, 0–256), or -1 if the
	// reply has none.
	Percent int
	// Admin is the administrative state asked for; valid if HasAdmin.
	Admin    backend.Admin
	HasAdmin bool
	// Health is the health reported, if any.
	Health AgentHealth
	// Reason explains Health: the text after a '#' if there is one
	// ("down#disk full" → "disk full"), else "agent says down" (or up,
	// fail, stopped). Empty when Health is AgentNoHealth.
	Reason string
	// Desc is the text after the first '#', trimmed and cut to 128 bytes.
	Desc string
	// Unknown lists the words that were not understood (including
	// "maxconn:N", which fulcrum does not apply), for a debug log.
	Unknown []string
}

// maxAgentLine bounds the line read from an agent, and maxAgentReason the
// reason kept from it.
const (
	maxAgentLine   = 1024
	maxAgentReason = 128
)

// ParseAgentReply parses one line from an HAProxy-style agent. Only the text
// before the first newline counts. Words are separated by spaces, tabs or
// commas and compared without regard to case; text after the first '#' is
// a description used as the reason. When a word of the same kind occurs more
// than once, the last one wins. ParseAgentReply is pure and never fails:
// what it doesn't understand lands in Unknown.
func ParseAgentReply(line string) AgentReply {
	if i := strings.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	words, desc, _ := strings.Cut(line, "#")
	desc = strings.TrimSpace(desc)
	if len(desc) > maxAgentReason {
		desc = desc[:maxAgentReason]
	}
	desc = strings.ToValidUTF8(desc, "?")
	r := AgentReply{Percent: -1, Desc: desc}
	for _, w := range strings.FieldsFunc(words, func(c rune) bool {
		return c == ' ' || c == '\t' || c == ',' || c == '\r'
	}) {
		switch lw := strings.ToLower(w); lw {
		case "up":
			r.Health, r.Reason = AgentUp, "agent says up"
		case "down", "fail", "stopped":
			r.Health, r.Reason = AgentDown, "agent says "+lw
		case "ready":
			r.Admin, r.HasAdmin = backend.Ready, true
		case "drain":
			r.Admin, r.HasAdmin = backend.Drain, true
		case "maint":
			r.Admin, r.HasAdmin = backend.Maint, true
		default:
			if p, ok := parsePercent(lw); ok {
				r.Percent = p
			} else {
				r.Unknown = append(r.Unknown, strings.ToValidUTF8(w, "?"))
			}
		}
	}
	if r.Health != AgentNoHealth && desc != "" {
		r.Reason = desc
	}
	return r
}

// parsePercent parses "NN%" with NN from 0 to 256.
func parsePercent(w string) (int, bool) {
	n, ok := strings.CutSuffix(w, "%")
	if !ok || n == "" || len(n) > 3 || strings.Trim(n, "0123456789") != "" {
		return 0, false
	}
	p, err := strconv.Atoi(n)
	if err != nil || p > 256 {
		return 0, false
	}
	return p, true
}

// QueryAgent connects to the agent at addr ("ip:port"), writes send if it is
// not empty, and returns the first line the agent answers (at most 1 KiB,
// without its line end). The exchange is bounded by ctx. An agent that
// closes the connection after a line without a newline is fine.
func QueryAgent(ctx context.Context, addr, send string) (string, error) {
	start := time.Now()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", fail(ctx, start, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	// A deadline in the past unblocks a read or write when ctx is canceled.
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if send != "" {
		if _, err := io.WriteString(c, send); err != nil {
			return "", fail(ctx, start, err)
		}
	}
	line, err := bufio.NewReader(io.LimitReader(c, maxAgentLine)).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		if errors.Is(err, io.EOF) {
			return "", failf("agent closed the connection without a reply")
		}
		return "", fail(ctx, start, err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
