package tlsconf

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/tlsconf/tlstest"
)

// pki is a set of certificates for the tests: a CA signing servers and
// clients, another CA (the wrong one), and their files in dir.
type pki struct {
	dir         string
	ca, otherCA *tlstest.CA
	caFile      string
	// a: a.example.com and www.a.example.com (ECDSA); wild: *.b.example.com
	// (RSA); def: the default, default.example.com (ECDSA).
	def, a, wild *tlstest.Leaf
	// client signed by ca, stranger by otherCA.
	client, stranger *tlstest.Leaf
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir(), ca: tlstest.NewCA(t, "fulcrum test CA"), otherCA: tlstest.NewCA(t, "other CA")}
	p.caFile = p.ca.WriteCA(t, p.dir, "ca.pem")
	p.def = p.ca.Issue(t, tlstest.Options{CN: "default.example.com", DNS: []string{"default.example.com"},
		IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	p.a = p.ca.Issue(t, tlstest.Options{CN: "a.example.com", DNS: []string{"a.example.com", "www.a.example.com"}})
	p.wild = p.ca.Issue(t, tlstest.Options{CN: "wild.b.example.com", DNS: []string{"*.b.example.com"}, Key: tlstest.RSA})
	p.client = p.ca.Issue(t, tlstest.Options{CN: "admin", DNS: []string{"admin.example.com"}, Client: true})
	p.stranger = p.otherCA.Issue(t, tlstest.Options{CN: "stranger", Client: true})
	return p
}

// files writes leaves as name.crt/name.key pairs and returns them in order.
func (p *pki) files(t *testing.T, leaves map[string]*tlstest.Leaf, order ...string) []CertFiles {
	t.Helper()
	var out []CertFiles
	for _, name := range order {
		c, k := leaves[name].Write(t, p.dir, name)
		out = append(out, CertFiles{Cert: c, Key: k})
	}
	return out
}

// spec returns a spec serving def, a and wild (def first).
func (p *pki) spec(t *testing.T) ServerSpec {
	t.Helper()
	return ServerSpec{Name: "test", Certs: p.files(t, map[string]*tlstest.Leaf{"def": p.def, "a": p.a, "wild": p.wild},
		"def", "a", "wild")}
}

// newServer builds a Server and closes it at the end of the test.
func newServer(t *testing.T, spec ServerSpec) *Server {
	t.Helper()
	s, err := NewServer(spec, testLogger(t))
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// testLogger sends a Server's log lines to the test log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, nil))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// echoServer is a TLS echo server on loopback.
type echoServer struct {
	addr string
	// states receives the server side of each handshake (when there is
	// room: it holds 64).
	states chan tls.ConnectionState
}

// echo runs a TLS echo server on loopback with cfg: lines are echoed back,
// and the line "bye" closes the connection. It stops at the end of the
// test.
func echo(t *testing.T, cfg *tls.Config) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tl := tls.NewListener(ln, cfg)
	srv := &echoServer{addr: ln.Addr().String(), states: make(chan tls.ConnectionState, 64)}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := tl.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				tc := c.(*tls.Conn)
				if tc.Handshake() != nil {
					return
				}
				select {
				case srv.states <- tc.ConnectionState():
				default:
				}
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := io.WriteString(c, line); err != nil || line == "bye\n" {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		tl.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return srv
}

// lastState returns the server side of the latest handshake.
func (e *echoServer) lastState(t *testing.T) tls.ConnectionState {
	t.Helper()
	var st tls.ConnectionState
	for {
		select {
		case st = <-e.states:
		default:
			if st.Version == 0 {
				t.Fatal("no handshake completed on the server")
			}
			return st
		}
	}
}

// dial connects to addr with cfg, completes the handshake and one echo
// round trip (which, in TLS 1.3, is where a client certificate is refused
// and where session tickets arrive). The connection closes at the end of
// the test.
func dial(t *testing.T, addr string, cfg *tls.Config) (*tls.Conn, error) {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Close() })
	if err := roundTrip(c, "hello"); err != nil {
		return nil, err
	}
	return c, nil
}

// roundTrip sends a line and checks it comes back.
func roundTrip(c *tls.Conn, msg string) error {
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, msg+"\n"); err != nil {
		return err
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if got != msg+"\n" {
		return errors.New("echo: got " + got)
	}
	return nil
}

// client returns a Go client configuration trusting p's CA.
func (p *pki) clientConfig(sni string) *tls.Config {
	return &tls.Config{RootCAs: p.ca.Pool(), ServerName: sni}
}

// servedCN returns the CN of the certificate c's server sent.
func servedCN(c *tls.Conn) string {
	return c.ConnectionState().PeerCertificates[0].Subject.CommonName
}

// needTool returns the path of an external program, skipping the test
// when it is missing (failing it in CI, where scripts/test.sh installs it).
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is needed (scripts/test.sh installs it): %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return p
}

// run runs a program with a timeout, feeding it stdin, and returns its
// combined output and error.
func run(t *testing.T, stdin string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
