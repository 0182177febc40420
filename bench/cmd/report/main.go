// Command report is the arithmetic of bench/run.sh.
//
//	report wrk|h2load|hsload|iperf3 FILE
//
// parses the output of one load generator run (wrk --latency, h2load,
// bench/cmd/hsload, iperf3 -J) and prints "rps  p50_us  p99_us  MiB/s
// requests  errors" as one tab-separated line, "-" where the tool does not
// measure it: h2load and hsload give no percentiles; for iperf3 "requests"
// is the MiB received.
//
//	report table -in results.tsv [-machine FILE] [-md OUT.md] [-png OUT.png] ...
//
// reads every measurement bench/run.sh recorded, one row per run, and writes
// a Markdown table per scenario (medians over the rounds, min–max, ratios to
// direct and to HAProxy, proxy CPU per request, proxy memory per idle
// connection), prints it, and draws the medians as a PNG chart.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "wrk", "h2load", "hsload", "iperf3":
		if len(os.Args) != 3 {
			usage()
		}
		err = cmdParse(os.Args[1], os.Args[2])
	case "table":
		err = cmdTable(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: report wrk|h2load|hsload|iperf3 FILE | report table -in FILE [-machine FILE] [-md FILE] [-png FILE] [-na TARGET=REASON]...")
	os.Exit(2)
}

// cmdParse prints the one line of figures of the run output in name.
func cmdParse(tool, name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	line, err := figures(tool, f)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	fmt.Println(line)
	return nil
}

func figures(tool string, r io.Reader) (string, error) {
	switch tool {
	case "wrk":
		w, err := parseWrk(r)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%.2f\t%.1f\t%.1f\t%.2f\t%d\t%d", w.RPS, w.P50, w.P99, w.MiBps, w.Requests, w.Errors), nil
	case "h2load":
		h, err := parseH2load(r)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%.2f\t-\t-\t-\t%d\t%d", h.RPS, h.Succeeded, h.Errors), nil
	case "hsload":
		h, err := parseHsload(r)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%.2f\t-\t-\t-\t%d\t%d", h.Rate, h.OK, h.Errors), nil
	default:
		i, err := parseIperf3(r)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("-\t-\t-\t%.2f\t%.0f\t0", i.MiBps(), i.Bytes/(1<<20)), nil
	}
}

// reasons collects repeated -na TARGET=REASON flags.
type reasons map[string]string

func (r reasons) String() string { return fmt.Sprint(map[string]string(r)) }

func (r reasons) Set(s string) error {
	t, why, ok := strings.Cut(s, "=")
	if !ok || t == "" {
		return fmt.Errorf("want TARGET=REASON, got %q", s)
	}
	r[t] = why
	return nil
}

func cmdTable(args []string) error {
	fs := flag.NewFlagSet("table", flag.ContinueOnError)
	in := fs.String("in", "", "results TSV written by bench/run.sh (required)")
	machine := fs.String("machine", "", "Markdown file describing the machine and the settings, included as it is")
	mdOut := fs.String("md", "", "write the Markdown report here too")
	pngOut := fs.String("png", "", "write a PNG chart of the medians here")
	title := fs.String("title", "fulcrum HTTP benchmark", "report title")
	clk := fs.Float64("clk", 100, "clock ticks per second of /proc/PID/stat (getconf CLK_TCK)")
	targets := fs.String("targets", "direct,nginx,haproxy,caddy,fulcrum-http,fulcrum-tcp", "targets in table order")
	na := reasons{}
	fs.Var(na, "na", "TARGET=REASON: the target could not be measured (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *in == "" || fs.NArg() != 0 {
		return fmt.Errorf("table: -in is required and no arguments are taken")
	}
	f, err := os.Open(*in)
	if err != nil {
		return err
	}
	rows, err := readRows(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	var machineText string
	if *machine != "" {
		b, err := os.ReadFile(*machine)
		if err != nil {
			return err
		}
		machineText = string(b)
	}
	rep := aggregate(rows, strings.Split(*targets, ","), na, *clk)
	md := rep.markdown(*title, machineText, *pngOut)
	fmt.Print(md)
	if *mdOut != "" {
		if err := os.WriteFile(*mdOut, []byte(md), 0o644); err != nil {
			return err
		}
	}
	if *pngOut != "" {
		if err := rep.writePNG(*pngOut, *title); err != nil {
			return err
		}
	}
	return nil
}
