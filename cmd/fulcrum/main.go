// Command fulcrum is a load balancer: layer 4 (tcp) today, with health
// checks, every common balancing algorithm, connection limits and graceful
// shutdown, configured in YAML (the Noxy format).
//
//	fulcrum run -c fulcrum.yaml     serve a configuration
//	fulcrum check -c fulcrum.yaml   validate it and print every error
//	fulcrum demo                    demo servers behind a live frontend
//	fulcrum version                 print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	goruntime "runtime"
	"runtime/debug"
	"syscall"

	"github.com/fulcrum-lb/fulcrum/internal/config"
	"github.com/fulcrum-lb/fulcrum/internal/daemon"
	"github.com/fulcrum-lb/fulcrum/internal/runtime"
)

const usage = `fulcrum — a load balancer

Usage:
  fulcrum run -c FILE [--log-format text|json] [--log-level debug|info|warn|error]
  fulcrum check -c FILE
  fulcrum demo [--listen ADDR] [--log-format ...] [--log-level ...]
  fulcrum version

run      serves the configuration in FILE until SIGTERM or SIGINT.
check    validates FILE and prints every error (exit 0 valid, 2 invalid).
demo     starts three demo HTTP servers on loopback behind a live frontend.
version  prints the version.
`

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

func realMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		return cmdRun(args[1:], stderr)
	case "check":
		return cmdCheck(args[1:], stdout, stderr)
	case "demo":
		return cmdDemo(args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "fulcrum", version())
		return 0
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "fulcrum: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// logFlags adds --log-format and --log-level to fs.
type logFlags struct{ format, level *string }

func addLogFlags(fs *flag.FlagSet) logFlags {
	return logFlags{
		format: fs.String("log-format", "text", "log format: text or json"),
		level:  fs.String("log-level", "info", "log level: debug, info, warn or error"),
	}
}

func (lf logFlags) logger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*lf.level)); err != nil {
		return nil, fmt.Errorf("--log-level: %q is not one of debug, info, warn, error", *lf.level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch *lf.format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: %q is not text or json", *lf.format)
}

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("c", "", "configuration file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *file == "" {
		fmt.Fprintln(stderr, "fulcrum check: -c FILE is required")
		return 2
	}
	cfg, err := config.Load(*file)
	if err != nil {
		fmt.Fprintln(stderr, err)
		var errs config.Errors
		if errors.As(err, &errs) {
			fmt.Fprintf(stderr, "%s: %d error(s)\n", *file, len(errs))
		}
		return 2
	}
	fmt.Fprintf(stdout, "%s: valid (%d frontends, %d backends)\n", *file, len(cfg.Frontends), len(cfg.Backends))
	return 0
}

func cmdRun(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("c", "", "configuration file")
	lf := addLogFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log, err := lf.logger(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "fulcrum run:", err)
		return 2
	}
	if *file == "" {
		fmt.Fprintln(stderr, "fulcrum run: -c FILE is required")
		return 2
	}
	cfg, err := config.Load(*file)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	return serve(cfg, log, nil)
}

// serve runs cfg until SIGTERM or SIGINT. ready, if not nil, is called once
// every listener is bound.
func serve(cfg *config.Config, log *slog.Logger, ready func(*daemon.Daemon)) int {
	if cfg.Global.Threads > 0 {
		goruntime.GOMAXPROCS(cfg.Global.Threads)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	d, err := daemon.New(cfg, runtime.NewShared(log))
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	d.Start()
	if ready != nil {
		ready(d)
	}
	log.Info("fulcrum started", "version", version(), "config", cfg.File, "frontends", len(cfg.Frontends), "backends", len(cfg.Backends))
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-hup:
			// Certificates and keys are read again; a file that fails to
			// load leaves its frontend's certificates as they were (the
			// reload logs its outcome itself).
			d.Snapshot().ReloadCertificates()
		}
	}
	grace := cfg.Global.TimeoutShutdown.D()
	log.Info("shutting down", "grace", grace.String())
	forced := d.Shutdown(grace)
	log.Info("stopped", "closed_at_grace_end", forced)
	return 0
}
