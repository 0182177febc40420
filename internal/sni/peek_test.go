package sni

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/testnet"
)

// tcpPair returns both ends of a loopback TCP connection, closed at the end
// of the test.
func tcpPair(t *testing.T) (client, server *net.TCPConn) { return testnet.TCPPair(t) }

// pki is a test CA and a server certificate it signed for *.test.example.
type pki struct {
	caPEM  []byte
	caPath string
	pool   *x509.CertPool
	server tls.Certificate
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sni test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "*.test.example"},
		DNSNames:  []string{"*.test.example", "test.example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	p := &pki{caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	p.server = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	p.caPath = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p.caPath, p.caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// serverConfig is the backend's TLS configuration: it answers any name
// under test.example, with h2 and http/1.1.
func (p *pki) serverConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{p.server}, NextProtos: []string{"h2", "http/1.1"}}
}

// rawBackend is a TLS server that, once the handshake is done, writes
// "sni=<name> alpn=<protocol> version=<version>\n" and closes.
func rawBackend(t *testing.T, p *pki) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", p.serverConfig())
	if err != nil {
		t.Fatal(err)
	}
	testnet.ServeOn(t, ln, func(c net.Conn) {
		tc := c.(*tls.Conn)
		tc.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); err != nil {
			return
		}
		st := tc.ConnectionState()
		fmt.Fprintf(tc, "sni=%s alpn=%s version=%s\n", st.ServerName, st.NegotiatedProtocol, tls.VersionName(st.Version))
	})
	return ln.Addr().String()
}

// httpsBackend is an HTTPS server (HTTP/2 and HTTP/1.1) answering
// "sni=<name> proto=<HTTP version>".
func httpsBackend(t *testing.T, p *pki) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "sni=%s proto=%s", r.TLS.ServerName, r.Proto)
		}),
		TLSConfig:         p.serverConfig(),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// peekResult is what the passthrough listener saw on one connection.
type peekResult struct {
	hello    *Hello
	buffered []byte
	err      error
}

// passthrough is a tcp-mode proxy in miniature: it Peeks each connection,
// reports the result, then replays the buffered bytes to backend and copies
// both ways.
func passthrough(t *testing.T, backend string) (string, <-chan peekResult) {
	t.Helper()
	results := make(chan peekResult, 100)
	addr := testnet.Serve(t, func(c net.Conn) {
		h, buffered, err := Peek(c, 5*time.Second, 0)
		results <- peekResult{h, buffered, err}
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", backend)
		if err != nil {
			return
		}
		defer s.Close()
		if _, err := s.Write(buffered); err != nil {
			return
		}
		done := make(chan struct{})
		go func() {
			io.Copy(s, c)
			s.(*net.TCPConn).CloseWrite()
			close(done)
		}()
		io.Copy(c, s)
		c.(*net.TCPConn).CloseWrite()
		<-done
	})
	return addr, results
}

// result waits for the passthrough's next result.
func result(t *testing.T, results <-chan peekResult) peekResult {
	t.Helper()
	select {
	case r := <-results:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no connection reached the passthrough listener")
	}
	return peekResult{}
}

// recordingConn records what a client writes; with frag > 0 it re-frames
// its first write (the ClientHello) into records of at most frag bytes and
// sends them in pieces of 11 bytes, pausing between pieces.
type recordingConn struct {
	net.Conn
	frag    int
	mu      sync.Mutex
	written []byte
	first   bool
}

func (c *recordingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	first := !c.first
	c.first = true
	c.mu.Unlock()
	if !first || c.frag == 0 {
		c.mu.Lock()
		c.written = append(c.written, p...)
		c.mu.Unlock()
		return c.Conn.Write(p)
	}
	// Extract the handshake bytes of the records in p and re-frame them.
	var hs []byte
	for q := p; len(q) >= 5; {
		n := int(q[3])<<8 | int(q[4])
		hs = append(hs, q[5:5+n]...)
		q = q[5+n:]
	}
	out := records(hs, c.frag)
	c.mu.Lock()
	c.written = append(c.written, out...)
	c.mu.Unlock()
	for len(out) > 0 {
		k := min(11, len(out))
		if _, err := c.Conn.Write(out[:k]); err != nil {
			return 0, err
		}
		out = out[k:]
		time.Sleep(time.Millisecond)
	}
	return len(p), nil
}

func (c *recordingConn) sent() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.written...)
}

func TestPeekGoClientEndToEnd(t *testing.T) {
	p := newPKI(t)
	addr, results := passthrough(t, rawBackend(t, p))
	cases := []struct {
		name   string
		cfg    *tls.Config
		frag   int
		want   Hello // fields compared: ServerName, ALPN, LegacyVersion
		answer string
	}{
		{"TLS 1.3", &tls.Config{ServerName: "App.Test.Example", NextProtos: []string{"h2", "http/1.1"}}, 0,
			Hello{ServerName: "app.test.example", ALPN: []string{"h2", "http/1.1"}, LegacyVersion: VersionTLS12},
			"sni=App.Test.Example alpn=h2 version=TLS 1.3\n"}, // the backend sees the original bytes
		{"TLS 1.2 only", &tls.Config{ServerName: "old.test.example", NextProtos: []string{"http/1.1"}, MaxVersion: tls.VersionTLS12}, 0,
			Hello{ServerName: "old.test.example", ALPN: []string{"http/1.1"}, LegacyVersion: VersionTLS12},
			"sni=old.test.example alpn=http/1.1 version=TLS 1.2\n"},
		{"no ALPN", &tls.Config{ServerName: "test.example"}, 0,
			Hello{ServerName: "test.example", LegacyVersion: VersionTLS12},
			"sni=test.example alpn= version=TLS 1.3\n"},
		{"fragmented in 40-byte records", &tls.Config{ServerName: "frag.test.example", NextProtos: []string{"h2"}}, 40,
			Hello{ServerName: "frag.test.example", ALPN: []string{"h2"}, LegacyVersion: VersionTLS12},
			"sni=frag.test.example alpn=h2 version=TLS 1.3\n"},
		{"fragmented in 1-byte records", &tls.Config{ServerName: "one.test.example", NextProtos: []string{"h2"}, CurvePreferences: []tls.CurveID{tls.X25519}}, 1,
			Hello{ServerName: "one.test.example", ALPN: []string{"h2"}, LegacyVersion: VersionTLS12},
			"sni=one.test.example alpn=h2 version=TLS 1.3\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			raw.SetDeadline(time.Now().Add(10 * time.Second))
			rc := &recordingConn{Conn: raw, frag: c.frag}
			c.cfg.RootCAs = p.pool
			tc := tls.Client(rc, c.cfg)
			if err := tc.Handshake(); err != nil {
				t.Fatalf("handshake through the passthrough: %v", err)
			}
			answer, err := io.ReadAll(tc)
			if err != nil || string(answer) != c.answer {
				t.Errorf("backend answered %q %v, want %q", answer, err, c.answer)
			}
			r := result(t, results)
			if r.err != nil {
				t.Fatal(r.err)
			}
			got := Hello{ServerName: r.hello.ServerName, ALPN: r.hello.ALPN, LegacyVersion: r.hello.LegacyVersion}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("hello %+v, want %+v", got, c.want)
			}
			wantVersion := VersionTLS13
			if c.cfg.MaxVersion == tls.VersionTLS12 {
				wantVersion = VersionTLS12
			}
			if r.hello.Version() != wantVersion {
				t.Errorf("Version() %#04x, SupportedVersions %x", r.hello.Version(), r.hello.SupportedVersions)
			}
			// Peek read exactly what the client sent before waiting for the
			// server: the ClientHello records.
			if sent := rc.sent(); !bytes.HasPrefix(sent, r.buffered) || len(r.buffered) == 0 {
				t.Errorf("buffered %d bytes, not a prefix of the %d the client sent", len(r.buffered), len(sent))
			}
			if _, n, _ := Parse(r.buffered, 0); n != len(r.buffered) {
				t.Errorf("buffered %d bytes, ClientHello records %d", len(r.buffered), n)
			}
		})
	}
}

// needTool returns the path of a program, or skips the test (fails it
// under CI, where scripts/test.sh installs the program).
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed (apt-get install %s)", name, name)
	}
	t.Skipf("%s is not installed", name)
	return ""
}

func TestPeekOpenSSLClient(t *testing.T) {
	openssl := needTool(t, "openssl")
	p := newPKI(t)
	addr, results := passthrough(t, rawBackend(t, p))
	for _, c := range []struct {
		name   string
		args   []string
		alpn   []string
		answer string
	}{
		{"TLS 1.3", []string{"-alpn", "h2,http/1.1"}, []string{"h2", "http/1.1"}, "sni=x.test.example alpn=h2 version=TLS 1.3"},
		{"TLS 1.2", []string{"-alpn", "http/1.1", "-tls1_2"}, []string{"http/1.1"}, "sni=x.test.example alpn=http/1.1 version=TLS 1.2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"s_client", "-connect", addr, "-servername", "x.test.example",
				"-CAfile", p.caPath, "-verify_return_error", "-ign_eof"}, c.args...)
			cmd := exec.Command(openssl, args...)
			cmd.Stdin = strings.NewReader("")
			cmd.WaitDelay = time.Second
			out, err := runWithTimeout(cmd, 20*time.Second)
			if err != nil {
				t.Fatalf("openssl s_client: %v\n%s", err, out)
			}
			if !strings.Contains(out, c.answer) || !strings.Contains(out, "Verify return code: 0 (ok)") {
				t.Errorf("openssl s_client output lacks %q and a verified certificate:\n%s", c.answer, out)
			}
			r := result(t, results)
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.hello.ServerName != "x.test.example" || !reflect.DeepEqual(r.hello.ALPN, c.alpn) {
				t.Errorf("hello %+v", *r.hello)
			}
		})
	}
}

// runWithTimeout runs cmd, killing it after d, and returns its combined
// output.
func runWithTimeout(cmd *exec.Cmd, d time.Duration) (string, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	timer := time.AfterFunc(d, func() { cmd.Process.Kill() })
	defer timer.Stop()
	err := cmd.Wait()
	return out.String(), err
}

func TestPeekCurlClient(t *testing.T) {
	curl := needTool(t, "curl")
	p := newPKI(t)
	addr, results := passthrough(t, httpsBackend(t, p))
	_, port, _ := net.SplitHostPort(addr)
	for _, c := range []struct {
		name, flag, answer string
		alpn               []string
	}{
		{"HTTP/2", "--http2", "sni=www.test.example proto=HTTP/2.0", []string{"h2", "http/1.1"}},
		{"HTTP/1.1", "--http1.1", "sni=www.test.example proto=HTTP/1.1", []string{"http/1.1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(curl, "-sS", "--max-time", "10", c.flag, "--cacert", p.caPath,
				"--resolve", "www.test.example:"+port+":127.0.0.1", "https://www.test.example:"+port+"/")
			out, err := runWithTimeout(cmd, 20*time.Second)
			if err != nil || out != c.answer {
				t.Fatalf("curl: %q %v, want %q", out, err, c.answer)
			}
			r := result(t, results)
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.hello.ServerName != "www.test.example" || !reflect.DeepEqual(r.hello.ALPN, c.alpn) || r.hello.Version() != VersionTLS13 {
				t.Errorf("hello %+v, version %#04x", *r.hello, r.hello.Version())
			}
		})
	}
}

func TestPeekNotTLS(t *testing.T) {
	client, server := tcpPair(t)
	client.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	h, buffered, err := Peek(server, 5*time.Second, 0)
	if !errors.Is(err, ErrNotTLS) || h != nil {
		t.Fatalf("%v %v", h, err)
	}
	// The caller can serve plain HTTP from what was read.
	if !bytes.HasPrefix([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), buffered) || len(buffered) == 0 {
		t.Errorf("buffered %q", buffered)
	}
}

func TestPeekTimeout(t *testing.T) {
	client, server := tcpPair(t)
	in := records(hello(sniExt("slow.example")), 1000)
	client.Write(in[:30]) // and then nothing
	h, buffered, err := Peek(server, 100*time.Millisecond, 0)
	if !errors.Is(err, os.ErrDeadlineExceeded) || h != nil || !bytes.Equal(buffered, in[:30]) {
		t.Fatalf("%v %q %v", h, buffered, err)
	}
	if !strings.HasPrefix(err.Error(), "sni: reading ClientHello: ") {
		t.Errorf("error %q", err)
	}
	// The deadline was cleared: the connection is usable again.
	client.Write(in[30:])
	server.SetReadDeadline(time.Now().Add(5 * time.Second))
	rest := make([]byte, len(in)-30)
	if _, err := io.ReadFull(server, rest); err != nil {
		t.Error(err)
	}
}

func TestPeekClosed(t *testing.T) {
	in := records(hello(sniExt("a.example")), 1000)
	for _, c := range []struct {
		name string
		send []byte
		want error
	}{
		{"before anything", nil, io.EOF},
		{"within the hello", in[:len(in)-1], io.ErrUnexpectedEOF},
	} {
		client, server := tcpPair(t)
		client.Write(c.send)
		client.CloseWrite()
		_, buffered, err := Peek(server, 5*time.Second, 0)
		if !errors.Is(err, c.want) || !bytes.Equal(buffered, c.send) {
			t.Errorf("%s: %q %v, want %v", c.name, buffered, err, c.want)
		}
	}
}

func TestPeekTooLarge(t *testing.T) {
	in := records(hello(sniExt("big.example"), ext(0xfe0d, make([]byte, 3000))), 1000)
	client, server := tcpPair(t)
	go client.Write(in)
	_, buffered, err := Peek(server, 5*time.Second, 2048)
	if !errors.Is(err, ErrTooLarge) || len(buffered) > 2048 {
		t.Errorf("%d bytes, %v", len(buffered), err)
	}
	// With room, the same hello passes, in a buffer grown past 2 KiB.
	client2, server2 := tcpPair(t)
	go client2.Write(in)
	h, buffered, err := Peek(server2, 5*time.Second, 0)
	if err != nil || h.ServerName != "big.example" || !bytes.Equal(buffered, in) {
		t.Errorf("%v %d %v", h, len(buffered), err)
	}
}

func TestPeekSplitReads(t *testing.T) {
	// Records of 50 bytes, written 3 bytes at a time, followed by early
	// data: Peek returns at the end of the ClientHello's records, with at
	// most what had arrived.
	in := records(hello(sniExt("split.example"), alpnExt("h2", "http/1.1")), 50)
	client, server := tcpPair(t)
	go func() {
		for q := in; len(q) > 0; {
			k := min(3, len(q))
			client.Write(q[:k])
			q = q[k:]
			time.Sleep(200 * time.Microsecond)
		}
		time.Sleep(50 * time.Millisecond)
		client.Write([]byte("\x17\x03\x03\x00\x01x"))
	}()
	h, buffered, err := Peek(server, 5*time.Second, 0)
	if err != nil || h.ServerName != "split.example" || !reflect.DeepEqual(h.ALPN, []string{"h2", "http/1.1"}) {
		t.Fatalf("%v %v", h, err)
	}
	if !bytes.Equal(buffered, in) {
		t.Errorf("buffered %d bytes, want the %d of the records", len(buffered), len(in))
	}
}

func BenchmarkParse(b *testing.B) {
	in := records(hello(sniExt("www.example.com"), alpnExt("h2", "http/1.1"), versionsExt(0x0304, 0x0303),
		ext(10, make([]byte, 10)), ext(13, make([]byte, 30)), ext(51, make([]byte, 1200))), maxRecordLen)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Parse(in, 0); err != nil {
			b.Fatal(err)
		}
	}
}
