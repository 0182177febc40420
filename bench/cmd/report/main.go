// Command report is the arithmetic of bench/run.sh.
//
//	report wrk FILE
//
// parses one wrk --latency output and prints
// "rps  p50_us  p99_us  MiB/s  requests  errors" as one tab-separated line.
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
	"os"
	"strings"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "wrk":
		if len(os.Args) != 3 {
			usage()
		}
		err = cmdWrk(os.Args[2])
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
	fmt.Fprintln(os.Stderr, "usage: report wrk FILE | report table -in FILE [-machine FILE] [-md FILE] [-png FILE] [-na TARGET=REASON]...")
	os.Exit(2)
}

func cmdWrk(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := parseWrk(f)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	fmt.Printf("%.2f\t%.1f\t%.1f\t%.2f\t%d\t%d\n", r.RPS, r.P50, r.P99, r.MiBps, r.Requests, r.Errors)
	return nil
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
