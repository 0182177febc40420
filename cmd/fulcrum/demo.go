package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/config"
	"github.com/fulcrum-lb/fulcrum/internal/daemon"
)

//go:embed demo.yaml
var demoConfig []byte

// demoServer is one demo HTTP server: it answers with its own name, and its
// /health fails after /down until /up.
type demoServer struct {
	name string
	ln   net.Listener
	srv  *http.Server
	down atomic.Bool
}

func newDemoServer(name, addr string) (*demoServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		// The usual port is taken: any free one will do.
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, err
		}
	}
	d := &demoServer{name: name, ln: ln}
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
		if d.down.Load() {
			http.Error(w, d.name+" is down\n", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "%s ok\n", d.name)
	})
	mux.HandleFunc("/down", func(w http.ResponseWriter, _ *http.Request) {
		d.down.Store(true)
		fmt.Fprintf(w, "%s now fails its health checks\n", d.name)
	})
	mux.HandleFunc("/up", func(w http.ResponseWriter, _ *http.Request) {
		d.down.Store(false)
		fmt.Fprintf(w, "%s now passes its health checks\n", d.name)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Server", d.name)
		fmt.Fprintf(w, "Hello from %s (you asked for %s)\n", d.name, r.URL.Path)
	})
	d.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 30 * time.Second}
	return d, nil
}

func cmdDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "", "frontend address (default 127.0.0.1:8080)")
	lf := addLogFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log, err := lf.logger(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "fulcrum demo:", err)
		return 2
	}
	cfg, err := config.Parse("demo.yaml (embedded)", demoConfig)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *listen != "" {
		cfg.Frontends[0].Bind[0].AddrPort = *listen
	}
	be := &cfg.Backends[0]
	var servers []*demoServer
	var wg sync.WaitGroup
	defer func() {
		for _, s := range servers {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			s.srv.Shutdown(ctx)
			cancel()
		}
		wg.Wait()
	}()
	for i := range be.Servers {
		s, err := newDemoServer(be.Servers[i].Name, be.Servers[i].AddrPort)
		if err != nil {
			fmt.Fprintln(stderr, "fulcrum demo:", err)
			return 1
		}
		be.Servers[i].AddrPort = s.ln.Addr().String()
		servers = append(servers, s)
		wg.Add(1)
		go func() { defer wg.Done(); s.srv.Serve(s.ln) }()
	}
	return serve(cfg, log, func(d *daemon.Daemon) {
		front := d.Addrs(cfg.Frontends[0].Name)[0].String()
		second := servers[1].ln.Addr().String()
		fmt.Fprintf(stdout, `
fulcrum demo: frontend %q on %s, round robin over %d demo servers with HTTP health checks every second.

Try, in another terminal:
  for i in 1 2 3 4 5 6; do curl -s http://%s/; done    # demo-1, demo-2, demo-3 in turn
  curl -s http://%s/down     # demo-2 fails its health checks: out of rotation after 2 checks
  for i in 1 2 3 4; do curl -s http://%s/; done        # only demo-1 and demo-3
  curl -s http://%s/up       # demo-2 is back after 2 good checks

Press Ctrl-C to stop.

`, cfg.Frontends[0].Name, front, len(servers), front, second, front, second)
	})
}
