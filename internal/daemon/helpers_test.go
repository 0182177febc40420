package daemon

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/config"
	"github.com/fulcrum-lb/fulcrum/internal/runtime"
)

// echoServer is a real TCP server on loopback: it greets each connection
// with its name and a newline, then echoes until the client half-closes,
// then closes.
type echoServer struct {
	name     string
	ln       net.Listener
	accepted atomic.Int64
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]bool
	// greet, when false, skips the greeting (for byte-exact transfers).
	greet bool
}

func startEcho(t *testing.T, name string) *echoServer {
	t.Helper()
	return startEchoGreet(t, name, true)
}

// startQuietEcho starts an echo server that sends no greeting.
func startQuietEcho(t *testing.T) *echoServer {
	t.Helper()
	return startEchoGreet(t, "", false)
}

func startEchoGreet(t *testing.T, name string, greet bool) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &echoServer{name: name, ln: ln, conns: map[net.Conn]bool{}, greet: greet}
	s.serve()
	t.Cleanup(s.stop)
	return s
}

// restartEcho listens again on the address a stopped server had.
func restartEcho(t *testing.T, old *echoServer) *echoServer {
	t.Helper()
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", old.addr()); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	s := &echoServer{name: old.name, ln: ln, conns: map[net.Conn]bool{}, greet: old.greet}
	s.serve()
	t.Cleanup(s.stop)
	return s
}

func (s *echoServer) serve() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := s.ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			s.mu.Lock()
			s.conns[c] = true
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer func() {
					s.mu.Lock()
					delete(s.conns, c)
					s.mu.Unlock()
					c.Close()
				}()
				if s.greet {
					fmt.Fprintf(c, "%s\n", s.name)
				}
				// A plain copy (no splice, no pipes held), so tests that
				// count file descriptors see fulcrum's alone.
				io.CopyBuffer(c, struct{ io.Reader }{c}, make([]byte, 32<<10))
			}()
		}
	}()
}

func (s *echoServer) addr() string { return s.ln.Addr().String() }

// stop closes the listener and every connection, and waits.
func (s *echoServer) stop() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// syncBuffer collects log output from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs a daemon on the YAML configuration text and returns it with
// its log. The first frontend's first bind should use port 0.
func start(t testing.TB, yaml string) (*Daemon, *syncBuffer) {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	return startConfig(t, cfg, nil)
}

func startConfig(t testing.TB, cfg *config.Config, mod func(*runtime.Shared)) (*Daemon, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	sh := runtime.NewShared(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if mod != nil {
		mod(sh)
	}
	d, err := New(cfg, sh)
	if err != nil {
		t.Fatal(err)
	}
	d.Start()
	t.Cleanup(func() { d.Shutdown(time.Second) })
	return d, logs
}

func frontAddr(t *testing.T, d *Daemon, name string) string {
	t.Helper()
	a := d.Addrs(name)
	if len(a) == 0 {
		t.Fatalf("frontend %s has no address", name)
	}
	return a[0].String()
}

// greeting connects through addr and returns the server's name line and the
// connection.
func greeting(t *testing.T, addr string) (string, net.Conn) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	c.SetReadDeadline(time.Time{})
	if err != nil {
		c.Close()
		return "", nil
	}
	return strings.TrimSpace(line), c
}

// who connects, reads the server's name and closes.
func who(t *testing.T, addr string) string {
	t.Helper()
	name, c := greeting(t, addr)
	if c != nil {
		c.Close()
	}
	return name
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

// dialSend dials addr and sends first; the connection is closed when the
// test ends, and every wait on it is bounded by a 10 s deadline.
func dialSend(t *testing.T, addr, first string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, first); err != nil {
		t.Fatal(err)
	}
	return c
}
