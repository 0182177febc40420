package main

import (
	"bufio"
	"fmt"
	"io"
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

// scenario is one wrk load; its rows carry rps, latencies and CPU ticks.
type scenario struct {
	id, title, short string
	unit             string // of the main figure
	perMiB           bool   // the main figure is MiB/s rather than req/s
}

var scenarios = []scenario{
	{"ka64", "HTTP/1.1 keep-alive, ~100-byte body, 64 connections", "keep-alive, 64 conns", "req/s", false},
	{"ka256", "HTTP/1.1 keep-alive, ~100-byte body, 256 connections", "keep-alive, 256 conns", "req/s", false},
	{"close32", "HTTP/1.1, a new connection per request (Connection: close), 32 connections", "new conn per request, 32 conns", "req/s", false},
	{"1m", "1 MiB responses, keep-alive, 16 connections", "1 MiB responses, 16 conns", "MiB/s", true},
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
		main := r.v["rps"]
		sc := scenarioByID(r.scenario)
		if sc != nil && sc.perMiB {
			main = r.v["mibps"]
		}
		req, okReq := r.v["requests"]
		if _, ok := r.v["rps"]; !ok || !okReq {
			n[1]++
			runs[k] = n
			continue
		}
		runs[k] = n
		add(k, "main", main)
		add(k, "p50", r.v["p50_us"])
		add(k, "p99", r.v["p99_us"])
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

func (rep *report) naRow(b *strings.Builder, t string, cols int) bool {
	if _, ok := rep.na[t]; !ok {
		return false
	}
	fmt.Fprintf(b, "| %s | n/a |%s\n", display(t), strings.Repeat(" |", cols-2))
	return true
}

func (rep *report) markdown(title, machine, png string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", title)
	if machine != "" {
		b.WriteString(strings.TrimRight(machine, "\n") + "\n\n")
	}
	fmt.Fprintf(&b, "Figures are medians over %d round(s), the targets alternating within each round; "+
		"min–max is over the rounds; × direct and × HAProxy are ratios of medians. "+
		"Proxy CPU is the proxy process's utime+stime during the run divided by the requests wrk completed.\n\n", rep.rounds)
	if png != "" {
		fmt.Fprintf(&b, "![medians](%s)\n\n", filepath.Base(png))
	}
	for _, sc := range scenarios {
		cells := rep.wrk[sc.id]
		if cells == nil {
			continue
		}
		fmt.Fprintf(&b, "## %s\n\n", sc.title)
		cpuHead := "proxy CPU µs/req"
		if sc.perMiB {
			cpuHead = "proxy CPU µs/response"
		}
		fmt.Fprintf(&b, "| target | %s | min–max | × direct | × HAProxy | p50 | p99 | %s | errors |\n", sc.unit, cpuHead)
		b.WriteString("|---|---:|---|---:|---:|---:|---:|---:|---:|\n")
		for _, t := range rep.targets {
			if rep.naRow(&b, t, 9) {
				continue
			}
			c := cells[t]
			if c == nil {
				continue
			}
			if c.main.n == 0 {
				fmt.Fprintf(&b, "| %s | failed (%d of %d runs) | | | | | | | |\n", display(t), c.failedRuns, c.runs)
				continue
			}
			cpu := "—"
			if c.cpu.n > 0 {
				cpu = fmtNum(c.cpu.med)
			}
			errs := strconv.FormatInt(c.errors, 10)
			if c.failedRuns > 0 {
				errs += fmt.Sprintf(" (%d of %d runs failed)", c.failedRuns, c.runs)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", display(t), fmtNum(c.main.med), fmtRange(c.main),
				ratio(c.main, cells["direct"].mainStat()), ratio(c.main, cells["haproxy"].mainStat()),
				fmtLatency(c.p50.med), fmtLatency(c.p99.med), cpu, errs)
		}
		b.WriteString("\n")
	}
	rep.cpuTable(&b)
	rep.idleTable(&b)
	if len(rep.na) > 0 {
		b.WriteString("## Not measured\n\n")
		for _, t := range rep.targets {
			if why, ok := rep.na[t]; ok {
				fmt.Fprintf(&b, "- %s: %s\n", display(t), why)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func (c *cell) mainStat() stat {
	if c == nil {
		return stat{}
	}
	return c.main
}

func (rep *report) cpuTable(b *strings.Builder) {
	var scs []scenario
	for _, sc := range scenarios {
		if rep.wrk[sc.id] != nil {
			scs = append(scs, sc)
		}
	}
	if len(scs) == 0 {
		return
	}
	b.WriteString("## Proxy CPU per request (µs, median and min–max)\n\n| target |")
	for _, sc := range scs {
		fmt.Fprintf(b, " %s |", sc.short)
	}
	b.WriteString("\n|---|" + strings.Repeat("---:|", len(scs)) + "\n")
	for _, t := range rep.targets {
		if t == "direct" || rep.naRow(b, t, len(scs)+1) {
			continue
		}
		fmt.Fprintf(b, "| %s |", display(t))
		for _, sc := range scs {
			c := rep.wrk[sc.id][t]
			if c == nil || c.cpu.n == 0 {
				b.WriteString(" — |")
				continue
			}
			if c.cpu.n < 2 {
				fmt.Fprintf(b, " %s |", fmtNum(c.cpu.med))
				continue
			}
			fmt.Fprintf(b, " %s (%s) |", fmtNum(c.cpu.med), fmtRange(c.cpu))
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
		if t == "direct" || rep.naRow(b, t, 8) {
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
