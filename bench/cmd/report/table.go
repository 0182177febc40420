package main

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The columns of the TSV bench/run.sh writes, one row per run; "-" is a
// missing value.
var columns = []string{"round", "scenario", "target", "rps", "p50_us", "p99_us", "mibps",
	"requests", "errors", "cpu_ticks", "conns", "failed", "rss_before_kb", "rss_after_kb", "fds_before", "fds_after"}

type row struct {
	round            int
	scenario, target string
	v                map[string]float64 // numeric columns; missing ones are absent
}

func readRows(r io.Reader) ([]row, error) {
	var rows []row
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if text == "" || strings.HasPrefix(text, "round\t") {
			continue
		}
		f := strings.Split(text, "\t")
		if len(f) != len(columns) {
			return nil, fmt.Errorf("line %d: %d columns, want %d", line, len(f), len(columns))
		}
		round, err := strconv.Atoi(f[0])
		if err != nil {
			return nil, fmt.Errorf("line %d: round: %v", line, err)
		}
		rw := row{round: round, scenario: f[1], target: f[2], v: map[string]float64{}}
		for i := 3; i < len(f); i++ {
			if f[i] == "-" || f[i] == "" {
				continue
			}
			x, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: %s: %v", line, columns[i], err)
			}
			rw.v[columns[i]] = x
		}
		rows = append(rows, rw)
	}
	return rows, sc.Err()
}

// scenario is one load; its rows carry a main figure, the requests (or
// MiB) it counted and the proxy's CPU ticks, and for wrk the latencies.
type scenario struct {
	id, title, short string
	unit             string   // of the main figure
	column           string   // the TSV column of the main figure
	scale            float64  // main figure = column × scale
	per              string   // what proxy CPU is counted per: "req", "response", "handshake", "MiB"
	latency          bool     // the load generator measured p50 and p99
	targets          []string // the targets it applies to, nil for all of them
	fulcrum          string   // the fulcrum target the summary compares with its peers
	note             string   // printed under the title
}

var (
	tlsTargets = []string{"nginx", "haproxy", "caddy", "fulcrum-http"}
	tlsNote    = "h2load (1 thread); no direct row, as the backends speak plain HTTP."
	hsNote     = "bench/cmd/hsload (Go's TLS client, 64 connections at a time) opens a new connection for each request " +
		"(Connection: close), offers X25519 and verifies the server's ECDSA signature on every full handshake. " +
		"It costs about 0.4 ms of CPU per handshake on CPU 1 (h2load's OpenSSL 3.0 client costs 0.85 ms, more than the proxies), " +
		"so the fastest proxies can reach its limit: then proxy CPU per handshake is the figure to compare."
	resumeNote = "bench/cmd/hsload -resume opens a new connection for each request (Connection: close) " +
		"and resumes the session of its previous one (a PSK with X25519: no certificate, no signature); " +
		"a handshake that is not resumed counts as an error. When the proxies stay below their core, compare proxy CPU per handshake."
	// mibToGbit turns MiB/s into Gbit/s.
	mibToGbit = float64(1<<20) * 8 / 1e9
)

var scenarios = []scenario{
	{id: "ka64", title: "HTTP/1.1 keep-alive, ~100-byte body, 64 connections", short: "keep-alive, 64 conns",
		unit: "req/s", column: "rps", scale: 1, per: "req", latency: true, fulcrum: "fulcrum-http"},
	{id: "ka256", title: "HTTP/1.1 keep-alive, ~100-byte body, 256 connections", short: "keep-alive, 256 conns",
		unit: "req/s", column: "rps", scale: 1, per: "req", latency: true, fulcrum: "fulcrum-http"},
	{id: "close32", title: "HTTP/1.1, a new connection per request (Connection: close), 32 connections", short: "new conn per request, 32 conns",
		unit: "req/s", column: "rps", scale: 1, per: "req", latency: true, fulcrum: "fulcrum-http"},
	{id: "1m", title: "1 MiB responses, keep-alive, 16 connections", short: "1 MiB responses, 16 conns",
		unit: "MiB/s", column: "mibps", scale: 1, per: "response", latency: true, fulcrum: "fulcrum-http"},
	{id: "https", title: "HTTPS keep-alive: TLS 1.3, HTTP/1.1, ~100-byte body, 64 connections", short: "HTTPS keep-alive, 64 conns",
		unit: "req/s", column: "rps", scale: 1, per: "req", targets: tlsTargets, fulcrum: "fulcrum-http", note: tlsNote},
	{id: "h2", title: "HTTP/2 over TLS 1.3, 64 connections × 10 streams", short: "HTTP/2 over TLS, 64 conns x 10 streams",
		unit: "req/s", column: "rps", scale: 1, per: "req", targets: tlsTargets, fulcrum: "fulcrum-http", note: tlsNote},
	{id: "fullhs", title: "Full TLS 1.3 handshakes (ECDSA P-256, X25519), one request each, 64 connections at a time", short: "full TLS handshakes",
		unit: "handshakes/s", column: "rps", scale: 1, per: "handshake", targets: tlsTargets, fulcrum: "fulcrum-http", note: hsNote},
	{id: "resumehs", title: "Resumed TLS 1.3 handshakes (session tickets), one request each, 64 connections at a time", short: "resumed TLS handshakes",
		unit: "handshakes/s", column: "rps", scale: 1, per: "handshake", targets: tlsTargets, fulcrum: "fulcrum-http", note: resumeNote},
	{id: "tcp", title: "tcp mode: one iperf3 stream", short: "tcp mode, iperf3",
		unit: "Gbit/s", column: "mibps", scale: mibToGbit, per: "MiB", targets: []string{"direct", "nginx", "haproxy", "caddy", "fulcrum-tcp"},
		fulcrum: "fulcrum-tcp", note: "iperf3 client and server on CPU 1; NGINX with its stream module, HAProxy in mode tcp, fulcrum in tcp mode. " +
			"Proxy CPU is per MiB received."},
}

// applies reports whether the scenario is run on target t.
func (sc *scenario) applies(t string) bool {
	return sc.targets == nil || slices.Contains(sc.targets, t)
}

// idleScenario is the id of the memory scenario, measured by idleconns.
const idleScenario = "idle"

type stat struct {
	med, lo, hi float64
	n           int
}

func statOf(v []float64) stat {
	if len(v) == 0 {
		return stat{}
	}
	return stat{med: median(v), lo: slices.Min(v), hi: slices.Max(v), n: len(v)}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// cell is one target in one wrk scenario, over the rounds.
type cell struct {
	main, p50, p99, cpu stat // cpu: µs of proxy CPU per request
	errors              int64
	runs, failedRuns    int
}

// idleCell is one target in the memory scenario, over the rounds.
type idleCell struct {
	perConn, before, after, conns stat // KiB per connection, KiB, KiB, connections
	fds                           stat // file descriptors per connection
	failed                        int
}

type report struct {
	targets []string
	na      reasons
	rounds  int
	wrk     map[string]map[string]*cell // scenario, target
	idle    map[string]*idleCell        // target
}

func aggregate(rows []row, targets []string, na reasons, clk float64) *report {
	rep := &report{targets: targets, na: na, wrk: map[string]map[string]*cell{}, idle: map[string]*idleCell{}}
	type key struct{ sc, t string }
	vals := map[key]map[string][]float64{}
	add := func(k key, name string, x float64) {
		if vals[k] == nil {
			vals[k] = map[string][]float64{}
		}
		vals[k][name] = append(vals[k][name], x)
	}
	runs := map[key][2]int{}
	errs := map[key]int64{}
	for _, r := range rows {
		rep.rounds = max(rep.rounds, r.round)
		if !slices.Contains(rep.targets, r.target) {
			rep.targets = append(rep.targets, r.target)
		}
		k := key{r.scenario, r.target}
		n := runs[k]
		n[0]++
		if r.scenario == idleScenario {
			conns, ok1 := r.v["conns"]
			b, ok2 := r.v["rss_before_kb"]
			a, ok3 := r.v["rss_after_kb"]
			if !ok1 || !ok2 || !ok3 || conns <= 0 {
				n[1]++
			} else {
				add(k, "perConn", (a-b)/conns)
				add(k, "before", b)
				add(k, "after", a)
				add(k, "conns", conns)
				if fb, ok := r.v["fds_before"]; ok {
					add(k, "fds", (r.v["fds_after"]-fb)/conns)
				}
				errs[k] += int64(r.v["failed"])
			}
			runs[k] = n
			continue
		}
		column, scale := "rps", 1.0
		if sc := scenarioByID(r.scenario); sc != nil {
			column, scale = sc.column, sc.scale
		}
		main, okMain := r.v[column]
		req, okReq := r.v["requests"]
		if !okMain || !okReq {
			n[1]++
			runs[k] = n
			continue
		}
		runs[k] = n
		add(k, "main", main*scale)
		for _, p := range []string{"p50", "p99"} {
			if x, ok := r.v[p+"_us"]; ok {
				add(k, p, x)
			}
		}
		errs[k] += int64(r.v["errors"])
		if ticks, ok := r.v["cpu_ticks"]; ok && req > 0 {
			add(k, "cpu", ticks/clk*1e6/req)
		}
	}
	for k, n := range runs {
		v := vals[k]
		if k.sc == idleScenario {
			rep.idle[k.t] = &idleCell{perConn: statOf(v["perConn"]), before: statOf(v["before"]),
				after: statOf(v["after"]), conns: statOf(v["conns"]), fds: statOf(v["fds"]), failed: int(errs[k])}
			continue
		}
		if rep.wrk[k.sc] == nil {
			rep.wrk[k.sc] = map[string]*cell{}
		}
		rep.wrk[k.sc][k.t] = &cell{main: statOf(v["main"]), p50: statOf(v["p50"]), p99: statOf(v["p99"]),
			cpu: statOf(v["cpu"]), errors: errs[k], runs: n[0], failedRuns: n[1]}
	}
	return rep
}

func scenarioByID(id string) *scenario {
	for i := range scenarios {
		if scenarios[i].id == id {
			return &scenarios[i]
		}
	}
	return nil
}

var displayNames = map[string]string{
	"direct": "direct", "nginx": "nginx", "haproxy": "HAProxy", "caddy": "Caddy",
	"fulcrum-http": "fulcrum http", "fulcrum-tcp": "fulcrum tcp",
}

func display(t string) string {
	if d, ok := displayNames[t]; ok {
		return d
	}
	return t
}

// ratio formats a/b, or "—" when either is missing.
func ratio(a, b stat) string {
	if a.n == 0 || b.n == 0 || b.med == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", a.med/b.med)
}

func fmtLatency(us float64) string {
	switch {
	case us < 1000:
		return fmt.Sprintf("%.0f µs", us)
	case us < 1e6:
		return fmt.Sprintf("%.2f ms", us/1e3)
	default:
		return fmt.Sprintf("%.2f s", us/1e6)
	}
}

// fmtNum prints a figure with about three significant digits, and no
// decimals at or above 100.
func fmtNum(x float64) string {
	switch a := math.Abs(x); {
	case a >= 100:
		return fmt.Sprintf("%.0f", x)
	case a >= 10:
		return fmt.Sprintf("%.1f", x)
	default:
		return fmt.Sprintf("%.2f", x)
	}
}

// fmtRange prints min–max, or "—" when there are fewer than two figures.
func fmtRange(s stat) string {
	if s.n < 2 {
		return "—"
	}
	return fmtNum(s.lo) + "–" + fmtNum(s.hi)
}

// naReason says why target t was not measured in scenario sc, if it was
// not: -na takes TARGET=REASON for every scenario or SCENARIO/TARGET=REASON
// for one.
func (rep *report) naReason(sc, t string) (string, bool) {
	if why, ok := rep.na[sc+"/"+t]; ok {
		return why, true
	}
	why, ok := rep.na[t]
	return why, ok
}

// rowTargets are the targets scenario sc has a row for, in table order:
// those it applies to that were measured or are n/a.
func (rep *report) rowTargets(sc *scenario) []string {
	var ts []string
	for _, t := range rep.targets {
		if !sc.applies(t) {
			continue
		}
		if _, na := rep.naReason(sc.id, t); na || rep.wrk[sc.id][t] != nil {
			ts = append(ts, t)
		}
	}
	return ts
}

func naRow(b *strings.Builder, t string, cols int) {
	fmt.Fprintf(b, "| %s | n/a |%s\n", display(t), strings.Repeat(" |", cols-2))
}

// present are the scenarios with at least one run, in report order.
func (rep *report) present() []*scenario {
	var scs []*scenario
	for i := range scenarios {
		if rep.wrk[scenarios[i].id] != nil {
			scs = append(scs, &scenarios[i])
		}
	}
	return scs
}

func (rep *report) markdown(title, machine, png string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", title)
	if machine != "" {
		b.WriteString(strings.TrimRight(machine, "\n") + "\n\n")
	}
	fmt.Fprintf(&b, "Figures are medians over %d round(s), the targets alternating within each round; "+
		"min–max is over the rounds; × direct and × HAProxy are ratios of medians. "+
		"Proxy CPU is the proxy process's utime+stime during the run divided by the requests "+
		"(handshakes, MiB) the load generator completed.\n\n", rep.rounds)
	if png != "" {
		fmt.Fprintf(&b, "![medians](%s)\n\n", filepath.Base(png))
	}
	rep.summary(&b)
	for _, sc := range rep.present() {
		rep.scenarioTable(&b, sc)
	}
	rep.cpuTable(&b)
	rep.idleTable(&b)
	if len(rep.na) > 0 {
		b.WriteString("## Not measured\n\n")
		keys := slices.Sorted(maps.Keys(rep.na))
		for _, k := range keys {
			sc, t, ok := strings.Cut(k, "/")
			if !ok {
				fmt.Fprintf(&b, "- %s: %s\n", display(k), rep.na[k])
				continue
			}
			name := sc
			if s := scenarioByID(sc); s != nil {
				name = s.short
			}
			fmt.Fprintf(&b, "- %s, %s: %s\n", display(t), name, rep.na[k])
		}
		b.WriteString("\n")
	}
	return b.String()
}

func (rep *report) scenarioTable(b *strings.Builder, sc *scenario) {
	cells := rep.wrk[sc.id]
	fmt.Fprintf(b, "## %s\n\n", sc.title)
	if sc.note != "" {
		b.WriteString(sc.note + "\n\n")
	}
	direct := sc.applies("direct")
	head := []string{"target", sc.unit, "min–max"}
	align := "|---|---:|---|"
	if direct {
		head = append(head, "× direct")
		align += "---:|"
	}
	head = append(head, "× HAProxy")
	align += "---:|"
	if sc.latency {
		head = append(head, "p50", "p99")
		align += "---:|---:|"
	}
	head = append(head, "proxy CPU µs/"+sc.per, "errors")
	align += "---:|---:|"
	fmt.Fprintf(b, "| %s |\n%s\n", strings.Join(head, " | "), align)
	for _, t := range rep.rowTargets(sc) {
		if _, na := rep.naReason(sc.id, t); na {
			naRow(b, t, len(head))
			continue
		}
		c := cells[t]
		if c.main.n == 0 {
			fmt.Fprintf(b, "| %s | failed (%d of %d runs) |%s\n", display(t), c.failedRuns, c.runs, strings.Repeat(" |", len(head)-2))
			continue
		}
		row := []string{display(t), fmtNum(c.main.med), fmtRange(c.main)}
		if direct {
			row = append(row, ratio(c.main, cells["direct"].mainStat()))
		}
		row = append(row, ratio(c.main, cells["haproxy"].mainStat()))
		if sc.latency {
			row = append(row, fmtLatency(c.p50.med), fmtLatency(c.p99.med))
		}
		cpu := "—"
		if c.cpu.n > 0 {
			cpu = fmtNum(c.cpu.med)
		}
		errs := strconv.FormatInt(c.errors, 10)
		if c.failedRuns > 0 {
			errs += fmt.Sprintf(" (%d of %d runs failed)", c.failedRuns, c.runs)
		}
		row = append(row, cpu, errs)
		fmt.Fprintf(b, "| %s |\n", strings.Join(row, " | "))
	}
	b.WriteString("\n")
}

func (c *cell) mainStat() stat {
	if c == nil {
		return stat{}
	}
	return c.main
}

// peers are the proxies fulcrum is compared with.
var peers = []string{"nginx", "haproxy", "caddy"}

// best returns the peer with the highest (or, with lower, the lowest)
// median of the stat get picks, and that stat.
func best(get func(t string) stat, lower bool) (string, stat) {
	var (
		name string
		top  stat
	)
	for _, t := range peers {
		s := get(t)
		if s.n == 0 {
			continue
		}
		if name == "" || (lower && s.med < top.med) || (!lower && s.med > top.med) {
			name, top = t, s
		}
	}
	return name, top
}

// summary is one line per scenario: fulcrum against the best of its peers,
// in throughput and in proxy CPU.
func (rep *report) summary(b *strings.Builder) {
	b.WriteString("## Summary: fulcrum and the best of NGINX, HAProxy and Caddy\n\n")
	b.WriteString("| scenario | fulcrum | best peer | fulcrum ÷ best | proxy CPU µs, fulcrum | lowest peer CPU µs |\n")
	b.WriteString("|---|---:|---|---:|---:|---|\n")
	peerCell := func(name string, s stat) string {
		if name == "" {
			return "—"
		}
		return display(name) + " " + fmtNum(s.med)
	}
	for _, sc := range rep.present() {
		cells := rep.wrk[sc.id]
		f := cells[sc.fulcrum]
		if f == nil || f.main.n == 0 {
			continue
		}
		label := fmt.Sprintf("%s (%s)", sc.short, sc.unit)
		if sc.fulcrum != "fulcrum-http" {
			label = fmt.Sprintf("%s (%s, %s)", sc.short, sc.unit, display(sc.fulcrum))
		}
		pn, ps := best(func(t string) stat { return cells[t].mainStat() }, false)
		cn, cs := best(func(t string) stat {
			if c := cells[t]; c != nil {
				return c.cpu
			}
			return stat{}
		}, true)
		cpu := "—"
		if f.cpu.n > 0 {
			cpu = fmtNum(f.cpu.med) + " per " + sc.per
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", label, fmtNum(f.main.med), peerCell(pn, ps),
			ratio(f.main, ps), cpu, peerCell(cn, cs))
	}
	if f := rep.idle["fulcrum-http"]; f != nil && f.perConn.n > 0 {
		pn, ps := best(func(t string) stat {
			if c := rep.idle[t]; c != nil {
				return c.perConn
			}
			return stat{}
		}, true)
		fmt.Fprintf(b, "| memory per idle connection (KiB, lower is better) | %s | %s | %s | | |\n",
			fmtNum(f.perConn.med), peerCell(pn, ps), ratio(f.perConn, ps))
	}
	b.WriteString("\n")
}

// cpuTable is proxy CPU per request, one row per scenario, one column per
// proxy.
func (rep *report) cpuTable(b *strings.Builder) {
	scs := rep.present()
	if len(scs) == 0 {
		return
	}
	var ts []string
	for _, t := range rep.targets {
		if t != "direct" {
			ts = append(ts, t)
		}
	}
	b.WriteString("## Proxy CPU (µs per request, handshake or MiB; median and min–max)\n\n| scenario |")
	for _, t := range ts {
		fmt.Fprintf(b, " %s |", display(t))
	}
	b.WriteString("\n|---|" + strings.Repeat("---:|", len(ts)) + "\n")
	for _, sc := range scs {
		fmt.Fprintf(b, "| %s (per %s) |", sc.short, sc.per)
		for _, t := range ts {
			c := rep.wrk[sc.id][t]
			_, na := rep.naReason(sc.id, t)
			switch {
			case na && sc.applies(t):
				b.WriteString(" n/a |")
			case c == nil || c.cpu.n == 0:
				b.WriteString(" — |")
			case c.cpu.n < 2:
				fmt.Fprintf(b, " %s |", fmtNum(c.cpu.med))
			default:
				fmt.Fprintf(b, " %s (%s) |", fmtNum(c.cpu.med), fmtRange(c.cpu))
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

func (rep *report) idleTable(b *strings.Builder) {
	if len(rep.idle) == 0 {
		return
	}
	b.WriteString("## Proxy memory per idle keep-alive client connection\n\n")
	b.WriteString("Each connection sent one request, read its response and then stayed open and idle; " +
		"RSS is the proxy process's VmRSS before the connections were opened and after all of them were held.\n\n")
	b.WriteString("| target | connections held | RSS before | RSS after | KiB per connection | min–max | × HAProxy | fds per connection |\n")
	b.WriteString("|---|---:|---:|---:|---:|---|---:|---:|\n")
	for _, t := range rep.targets {
		if t == "direct" {
			continue
		}
		if _, na := rep.naReason(idleScenario, t); na {
			naRow(b, t, 8)
			continue
		}
		c := rep.idle[t]
		if c == nil {
			continue
		}
		if c.perConn.n == 0 {
			fmt.Fprintf(b, "| %s | failed | | | | | | |\n", display(t))
			continue
		}
		held := fmt.Sprintf("%.0f", c.conns.med)
		if c.failed > 0 {
			held += fmt.Sprintf(" (%d failed)", c.failed)
		}
		var h stat
		if hc := rep.idle["haproxy"]; hc != nil {
			h = hc.perConn
		}
		fds := "—"
		if c.fds.n > 0 {
			fds = fmt.Sprintf("%.1f", c.fds.med)
		}
		fmt.Fprintf(b, "| %s | %s | %.1f MiB | %.1f MiB | %s | %s | %s | %s |\n", display(t), held,
			c.before.med/1024, c.after.med/1024, fmtNum(c.perConn.med), fmtRange(c.perConn), ratio(c.perConn, h), fds)
	}
	b.WriteString("\n")
}
