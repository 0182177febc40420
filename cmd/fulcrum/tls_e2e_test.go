package main

// End-to-end checks of TLS termination, mutual TLS, certificate rotation,
// TLS passthrough and the PROXY protocol: the real fulcrum binary, run as
// `fulcrum run -c FILE`, with real clients and peers from Debian (openssl
// s_client, curl, nginx, haproxy). Certificates are made fresh by tlstest.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/tlsconf/tlstest"
)

// runFulcrum writes cfg to a file and runs `fulcrum run -c FILE` until
// every named frontend logged that it listens. It returns the process and
// each frontend's address.
func runFulcrum(t *testing.T, cfg string, frontends ...string) (*process, map[string]string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "fulcrum.yaml")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startBinary(t, "run", "-c", file)
	addrs := map[string]string{}
	for _, fe := range frontends {
		addrs[fe] = p.waitOutput(t, regexp.MustCompile(`msg=listening frontend=`+regexp.QuoteMeta(fe)+` addr=(\S+)`))[1]
	}
	return p, addrs
}

// lockedBuffer collects the output of a subprocess while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// sClient runs `openssl s_client -connect addr args...` and writes input to
// it. With until nil, its stdin is then closed (as from /dev/null) and
// s_client ends after the handshake. With until set, stdin stays open until
// the output matches until (e.g. an echo came back) or s_client exits by
// itself (e.g. on an alert the server sent). Every wait is bounded: after
// 8 s s_client is killed and the test fails. It returns the combined
// output and s_client's exit error (nil for exit status 0).
func sClient(t *testing.T, addr, input string, until *regexp.Regexp, args ...string) (string, error) {
	t.Helper()
	bin := need(t, "openssl")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"s_client", "-connect", addr, "-nocommands"}, args...)...)
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	io.WriteString(stdin, input)
	if until == nil {
		stdin.Close()
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			t.Logf("s_client %v: exit %v; %s", args, err, summary(out.String()))
			return out.String(), err
		case <-ctx.Done():
			err := <-done
			t.Fatalf("openssl s_client %s %v: no end within 8 s (%v):\n%s", addr, args, err, out.String())
		case <-tick.C:
			if until != nil && until.MatchString(out.String()) {
				stdin.Close()
				until = nil
			}
		}
	}
}

// summary picks the lines of an s_client output that tell what happened,
// for the verbose log.
func summary(out string) string {
	var keep []string
	for _, line := range strings.Split(out, "\n") {
		for _, key := range []string{"alert", "subject=", "ALPN", "New, ", "Verify return code", "errno", ": ping", "HTTP/1.1 200", ":error:", "Reused"} {
			if strings.Contains(line, key) {
				keep = append(keep, strings.TrimSpace(line))
				break
			}
		}
	}
	return strings.Join(keep, " | ")
}

// subjectCN is the common name of the server certificate s_client printed.
var subjectCN = regexp.MustCompile(`(?m)^subject=.*CN ?= ?([^,\s]+)`)

func servedCN(t *testing.T, out string) string {
	t.Helper()
	m := subjectCN.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no server certificate subject in the s_client output:\n%s", out)
	}
	return m[1]
}

// curlArgs runs curl with args (bounded by --max-time 5) and returns its
// output.
func curlArgs(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, need(t, "curl"), append([]string{"-sS", "--max-time", "5"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("curl %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// goHTTP serves name and the request's protocol on a loopback port, for the
// frontends whose backend is not the subject of the test.
func goHTTP(t *testing.T, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s\n", name, r.Proto)
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// echoServer answers every line a client sends with name, ": " and the line.
// It serves plain TCP, or TLS with cfg.
func echoServer(t *testing.T, name string, cfg *tls.Config) string {
	t.Helper()
	var (
		ln  net.Listener
		err error
	)
	if cfg != nil {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", cfg)
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
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
				c.SetDeadline(time.Now().Add(10 * time.Second))
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := fmt.Fprintf(c, "%s: %s", name, line); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// TestOpenSSLTerminationE2E: an http frontend with Noxy's ssl block
// (TLSv1.3 only, ALPN h2 and http/1.1) and two certificates, checked with
// openssl s_client.
func TestOpenSSLTerminationE2E(t *testing.T) {
	need(t, "openssl")
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "e2e CA")
	caFile := ca.WriteCA(t, dir, "ca.pem")
	aCert, aKey := ca.Issue(t, tlstest.Options{CN: "a.test", DNS: []string{"a.test"}, Key: tlstest.RSA}).Write(t, dir, "a")
	bCert, bKey := ca.Issue(t, tlstest.Options{CN: "b.test", DNS: []string{"b.test"}}).Write(t, dir, "b")
	p, addrs := runFulcrum(t, fmt.Sprintf(`
global: {access_log: "off"}
defaults: {mode: http, timeout_connect: 1s}
frontend:
  - name: web
    bind: [{addr_port: 127.0.0.1:%d}]
    ssl:
      cert: %s
      key: %s
      certs: [{cert: %s, key: %s}]
      versions: [TLSv1.3]
      alpn: [h2, http/1.1]
    use_backend: app
backend:
  - name: app
    servers: [{name: app1, addr_port: %s}]
`, freePort(t), aCert, aKey, bCert, bKey, goHTTP(t, "app1")), "web")
	addr := addrs["web"]
	verify := []string{"-CAfile", caFile, "-verify_return_error"}

	t.Run("TLS 1.2 refused", func(t *testing.T) {
		out, err := sClient(t, addr, "", nil, append(verify, "-tls1_2", "-servername", "a.test")...)
		if err == nil {
			t.Errorf("s_client -tls1_2 exited 0:\n%s", out)
		}
		if !strings.Contains(out, "alert protocol version") {
			t.Errorf("no protocol_version alert in the output:\n%s", out)
		}
		if strings.Contains(out, "BEGIN CERTIFICATE") || strings.Contains(out, "Cipher is ECDHE") {
			t.Errorf("a TLS 1.2 handshake went through:\n%s", out)
		}
	})
	t.Run("TLS 1.3 and ALPN h2", func(t *testing.T) {
		out, err := sClient(t, addr, "", nil, append(verify, "-alpn", "h2", "-servername", "a.test")...)
		if err != nil {
			t.Fatalf("s_client: %v\n%s", err, out)
		}
		for _, want := range []string{"ALPN protocol: h2", "New, TLSv1.3, Cipher is TLS_", "Verify return code: 0 (ok)"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("ALPN: the server's order wins", func(t *testing.T) {
		out, err := sClient(t, addr, "", nil, append(verify, "-alpn", "http/1.1,h2", "-servername", "a.test")...)
		if err != nil || !strings.Contains(out, "ALPN protocol: h2") {
			t.Errorf("offering http/1.1,h2: want h2 (the server's preference): %v\n%s", err, out)
		}
		out, err = sClient(t, addr, "", nil, append(verify, "-alpn", "http/1.1", "-servername", "a.test")...)
		if err != nil || !strings.Contains(out, "ALPN protocol: http/1.1") {
			t.Errorf("offering http/1.1 alone: %v\n%s", err, out)
		}
	})
	t.Run("unknown ALPN protocol refused", func(t *testing.T) {
		out, err := sClient(t, addr, "", nil, append(verify, "-alpn", "spdy/3", "-servername", "a.test")...)
		if err == nil || !strings.Contains(out, "alert no application protocol") {
			t.Errorf("offering only spdy/3: want a no_application_protocol alert, exit non-zero (%v):\n%s", err, out)
		}
	})
	t.Run("SNI picks the certificate", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"-servername", "b.test"}, "b.test"},
			{[]string{"-servername", "B.TEST"}, "b.test"},
			{[]string{"-servername", "a.test"}, "a.test"},
			{[]string{"-noservername"}, "a.test"},
			{[]string{"-servername", "unknown.test"}, "a.test"},
		} {
			out, err := sClient(t, addr, "", nil, append([]string{"-CAfile", caFile}, c.args...)...)
			if err != nil {
				t.Errorf("%v: %v\n%s", c.args, err, out)
				continue
			}
			if got := servedCN(t, out); got != c.want {
				t.Errorf("%v: served CN %s, want %s", c.args, got, c.want)
			}
		}
	})
	t.Run("session resumed with a ticket", func(t *testing.T) {
		// s_client writes the ticket to -sess_out when it arrives, before
		// the response (s_client's own note of it sits in its stdout
		// buffer until it exits, so it is not waited for).
		sess := filepath.Join(t.TempDir(), "session.pem")
		out, err := sClient(t, addr, "GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n", regexp.MustCompile(`app1 HTTP/1.1`),
			append(verify, "-servername", "a.test", "-alpn", "http/1.1", "-ign_eof", "-sess_out", sess)...)
		if err != nil || !strings.Contains(out, "New, TLSv1.3") || !strings.Contains(out, "Post-Handshake New Session Ticket arrived") {
			t.Fatalf("first connection: no ticket (%v):\n%s", err, out)
		}
		out, err = sClient(t, addr, "", nil, append(verify, "-servername", "a.test", "-sess_in", sess)...)
		if err != nil || !strings.Contains(out, "Reused, TLSv1.3") {
			t.Errorf("second connection not resumed (%v):\n%s", err, out)
		}
	})
	t.Run("HTTP/1.1 request over s_client", func(t *testing.T) {
		out, err := sClient(t, addr, "GET / HTTP/1.1\r\nHost: b.test\r\nConnection: close\r\n\r\n",
			regexp.MustCompile(`app1 HTTP/1.1`), append(verify, "-alpn", "http/1.1", "-servername", "b.test", "-ign_eof")...)
		if err != nil || !strings.Contains(out, "HTTP/1.1 200 OK") || !strings.Contains(out, "app1 HTTP/1.1") {
			t.Errorf("request: %v\n%s", err, out)
		}
	})
	p.stop(t)
}

// TestOpenSSLMutualTLSE2E: Noxy's admin_front shape, a tcp frontend with a
// client CA in front of an echo server, checked with openssl s_client.
func TestOpenSSLMutualTLSE2E(t *testing.T) {
	need(t, "openssl")
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "admin CA")
	caFile := ca.WriteCA(t, dir, "ca-cert.pem")
	cert, key := ca.Issue(t, tlstest.Options{CN: "noxy.rev", DNS: []string{"noxy.rev"}}).Write(t, dir, "cert")
	goodCert, goodKey := ca.Issue(t, tlstest.Options{CN: "admin", Client: true}).Write(t, dir, "admin")
	other := tlstest.NewCA(t, "another CA")
	badCert, badKey := other.Issue(t, tlstest.Options{CN: "intruder", Client: true}).Write(t, dir, "intruder")
	echo := echoServer(t, "telnetadmin", nil)
	p, addrs := runFulcrum(t, fmt.Sprintf(`
defaults: {mode: http, timeout_connect: 1s}
frontend:
  - name: admin_front
    mode: tcp
    maxconn: 2
    bind: [{addr_port: 127.0.0.1:%d}]
    ssl:
      cert: %s
      key: %s
      ca: %s
      versions: [TLSv1.3]
    use_backend: admin_backend
backend:
  - name: admin_backend
    balance: roundrobin
    servers: [{addr_port: %s}]
`, freePort(t), cert, key, caFile, echo), "admin_front")
	addr := addrs["admin_front"]
	base := []string{"-CAfile", caFile, "-verify_return_error", "-servername", "noxy.rev"}
	echoed := regexp.MustCompile(`telnetadmin: ping`)

	t.Run("no client certificate", func(t *testing.T) {
		out, err := sClient(t, addr, "ping\n", echoed, base...)
		if echoed.MatchString(out) {
			t.Fatalf("the echo came back without a client certificate:\n%s", out)
		}
		if err == nil || !strings.Contains(out, "alert certificate required") {
			t.Errorf("want a certificate_required alert and a non-zero exit (%v):\n%s", err, out)
		}
	})
	t.Run("certificate of another CA", func(t *testing.T) {
		out, err := sClient(t, addr, "ping\n", echoed, append(base, "-cert", badCert, "-key", badKey)...)
		if echoed.MatchString(out) {
			t.Fatalf("the echo came back with a certificate of another CA:\n%s", out)
		}
		if err == nil || !strings.Contains(out, "alert unknown ca") {
			t.Errorf("want an unknown_ca alert and a non-zero exit (%v):\n%s", err, out)
		}
	})
	t.Run("certificate of the CA", func(t *testing.T) {
		out, err := sClient(t, addr, "ping\n", echoed, append(base, "-cert", goodCert, "-key", goodKey)...)
		if !echoed.MatchString(out) {
			t.Fatalf("no echo with the right certificate (%v):\n%s", err, out)
		}
		if err != nil || !strings.Contains(out, "Verify return code: 0 (ok)") {
			t.Errorf("exit %v:\n%s", err, out)
		}
	})
	t.Run("plain bytes on a tcp ssl frontend are closed", func(t *testing.T) {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "ping\n")
		// Closed with a FIN or, as the unread bytes are dropped, a reset.
		got, err := io.ReadAll(c)
		if len(got) > 0 || (err != nil && !errors.Is(err, syscall.ECONNRESET)) {
			t.Errorf("plain text got %q, %v; want the connection closed (plain_http off in tcp mode)", got, err)
		}
	})
	p.stop(t)
}

// TestCurlHTTPSToNginxE2E: curl over TLS (HTTP/1.1 and HTTP/2) and plain
// HTTP on the same port, through an http frontend to a real nginx.
func TestCurlHTTPSToNginxE2E(t *testing.T) {
	ngx := need(t, "nginx")
	need(t, "curl")
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "e2e CA")
	caFile := ca.WriteCA(t, dir, "ca.pem")
	cert, key := ca.Issue(t, tlstest.Options{CN: "app.test", DNS: []string{"app.test"}}).Write(t, dir, "app")
	port := freePort(t)
	p, _ := runFulcrum(t, fmt.Sprintf(`
global: {access_log: "off"}
defaults: {mode: http, timeout_connect: 1s}
frontend:
  - name: web
    bind: [{addr_port: 127.0.0.1:%d}]
    ssl: {cert: %s, key: %s, versions: [TLSv1.3], alpn: [h2, http/1.1]}
    use_backend: nginx
backend:
  - name: nginx
    servers: [{addr_port: %s}]
`, port, cert, key, startNginx(t, ngx, "nginx-tls")), "web")
	url := fmt.Sprintf("https://app.test:%d/", port)
	resolve := fmt.Sprintf("app.test:%d:127.0.0.1", port)
	format := "%{http_version} %{scheme}\n"

	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"https", []string{"--cacert", caFile, "--resolve", resolve, "-w", format, url}, "nginx-tls\n2 HTTPS\n"},
		{"https http2", []string{"--http2", "--cacert", caFile, "--resolve", resolve, "-w", format, url}, "nginx-tls\n2 HTTPS\n"},
		{"https http1.1", []string{"--http1.1", "--tlsv1.3", "--cacert", caFile, "--resolve", resolve, "-w", format, url}, "nginx-tls\n1.1 HTTPS\n"},
		{"plain http on the same port", []string{"-w", format, fmt.Sprintf("http://127.0.0.1:%d/", port)}, "nginx-tls\n1.1 HTTP\n"},
	} {
		if got := curlArgs(t, c.args...); got != c.want {
			t.Errorf("%s: curl printed %q, want %q", c.name, got, c.want)
		}
	}
	// (curl 7.88 offers h2 by ALPN on https by default, so plain https is
	// HTTP/2 too.) A TLS 1.2 client is refused (curl exit 35, a TLS handshake error).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "curl", "-sS", "--max-time", "5", "--tls-max", "1.2", "--cacert", caFile, "--resolve", resolve, url).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 35 || !strings.Contains(string(out), "alert protocol version") {
		t.Errorf("curl --tls-max 1.2: %v, want exit 35 and a protocol_version alert:\n%s", err, out)
	}
	p.stop(t)
}

// httpOver sends a GET on a kept-alive connection and returns the body.
func httpOver(t *testing.T, c net.Conn, br *bufio.Reader) string {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: v.test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 || resp.Close {
		t.Fatalf("response %d (close %v): %q %v", resp.StatusCode, resp.Close, body, err)
	}
	return string(body)
}

// TestCertificateRotationE2E: new certificate files and SIGHUP; a new
// handshake (openssl s_client) gets the new certificate, a connection
// opened before keeps working.
func TestCertificateRotationE2E(t *testing.T) {
	need(t, "openssl")
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "e2e CA")
	caFile := ca.WriteCA(t, dir, "ca.pem")
	v1 := ca.Issue(t, tlstest.Options{CN: "v1", DNS: []string{"v.test"}})
	cert, key := v1.Write(t, dir, "site")
	p, addrs := runFulcrum(t, fmt.Sprintf(`
global: {access_log: "off"}
defaults: {mode: http, timeout_connect: 1s, timeout_client: 30s}
frontend:
  - name: web
    bind: [{addr_port: 127.0.0.1:%d}]
    ssl: {cert: %s, key: %s, alpn: [h2, http/1.1]}
    use_backend: app
backend:
  - name: app
    servers: [{addr_port: %s}]
`, freePort(t), cert, key, goHTTP(t, "app")), "web")
	addr := addrs["web"]
	p.waitOutput(t, regexp.MustCompile(`msg="tls certificates loaded" frontend=web count=1 certificates="v1 \[v\.test\] until `))
	sclient := func() string {
		t.Helper()
		out, err := sClient(t, addr, "", nil, "-CAfile", caFile, "-verify_return_error", "-servername", "v.test")
		if err != nil {
			t.Fatalf("s_client: %v\n%s", err, out)
		}
		return servedCN(t, out)
	}
	if cn := sclient(); cn != "v1" {
		t.Fatalf("before the rotation: CN %s, want v1", cn)
	}

	// A kept-alive HTTP/1.1 connection over TLS, opened with v1.
	held, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
		&tls.Config{RootCAs: ca.Pool(), ServerName: "v.test", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	br := bufio.NewReader(held)
	if body := httpOver(t, held, br); body != "app HTTP/1.1\n" {
		t.Fatalf("held connection: %q", body)
	}

	// The renewal: certificate and key replaced (renamed over), then SIGHUP.
	v2 := ca.Issue(t, tlstest.Options{CN: "v2", DNS: []string{"v.test"}})
	v2.Write(t, dir, "site")
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitOutput(t, regexp.MustCompile(`msg="tls certificates loaded" frontend=web count=1 certificates="v2 \[v\.test\] until `))
	if cn := sclient(); cn != "v2" {
		t.Errorf("after SIGHUP: CN %s, want v2", cn)
	}
	if body := httpOver(t, held, br); body != "app HTTP/1.1\n" {
		t.Errorf("held connection after the rotation: %q", body)
	}
	if cn := held.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "v1" {
		t.Errorf("held connection's certificate: %s, want v1", cn)
	}

	// A broken renewal (a key that is not the certificate's) is refused and
	// v2 stays.
	tlstest.WriteFile(t, dir, "site.key", ca.Issue(t, tlstest.Options{CN: "stray"}).KeyPEM)
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitOutput(t, regexp.MustCompile(`level=ERROR msg="tls reload failed; keeping the previous certificates" frontend=web err=.*site\.(crt|key)`))
	if cn := sclient(); cn != "v2" {
		t.Errorf("after a failed reload: CN %s, want v2 kept", cn)
	}
	if body := httpOver(t, held, br); body != "app HTTP/1.1\n" {
		t.Errorf("held connection after the failed reload: %q", body)
	}
	// Closed before SIGTERM: an idle keep-alive connection would hold the
	// shutdown for the whole timeout_shutdown.
	held.Close()
	p.stop(t)
}

// startNginxProxyProtocol runs a single-process nginx that expects a PROXY
// protocol header on every connection and answers body (an nginx string
// with variables, e.g. "$proxy_protocol_addr\n").
func startNginxProxyProtocol(t *testing.T, ngx, body string) string {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	runNginx(t, ngx, t.TempDir(), addr, fmt.Sprintf(`server {
    listen %s proxy_protocol;
    location / { return 200 "%s"; }
  }`, addr, body))
	return addr
}

// startHAProxy runs haproxy in the foreground with cfg until the test ends,
// and waits until it accepts connections on addr.
func startHAProxy(t *testing.T, cfg, addr string) {
	t.Helper()
	bin := need(t, "haproxy")
	file := filepath.Join(t.TempDir(), "haproxy.cfg")
	os.WriteFile(file, []byte(cfg), 0o600)
	cmd := exec.Command(bin, "-db", "-f", file)
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitPort(t, addr, "haproxy", &out)
}

func waitPort(t *testing.T, addr, what string, out *lockedBuffer) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not start listening on %s: %s", what, addr, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestProxyProtocolChainE2E: client (127.0.0.9) → haproxy (send-proxy-v2)
// → fulcrum (accept_proxy, send_proxy v2) → nginx (proxy_protocol); nginx
// answers the client address it was given. Then the same in http mode with
// version 1 on both hops.
func TestProxyProtocolChainE2E(t *testing.T) {
	ngx := need(t, "nginx")
	need(t, "haproxy")
	need(t, "curl")
	haproxyCfg := func(listen string, fport int, send string) string {
		return fmt.Sprintf(`global
  maxconn 100
defaults
  mode tcp
  timeout connect 2s
  timeout client 10s
  timeout server 10s
frontend in
  bind %s
  default_backend out
backend out
  server s1 127.0.0.1:%d %s
`, listen, fport, send)
	}

	t.Run("tcp mode, v2", func(t *testing.T) {
		nginx := startNginxProxyProtocol(t, ngx, `$proxy_protocol_addr\n`)
		fport := freePort(t)
		p, _ := runFulcrum(t, fmt.Sprintf(`
defaults: {mode: tcp, timeout_connect: 1s}
frontend:
  - name: pp
    bind: [{addr_port: 127.0.0.1:%d}]
    accept_proxy: [127.0.0.0/8]
    use_backend: nginx
backend:
  - name: nginx
    send_proxy: v2
    servers: [{addr_port: %s}]
`, fport, nginx), "pp")
		hap := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		startHAProxy(t, haproxyCfg(hap, fport, "send-proxy-v2"), hap)
		for _, src := range []string{"127.0.0.9", "127.0.0.10"} {
			if got := curlArgs(t, "--interface", src, "http://"+hap+"/"); got != src+"\n" {
				t.Errorf("from %s through haproxy, fulcrum and nginx: nginx saw %q", src, got)
			}
		}
		// A source in accept_proxy that sends no header is refused: nothing
		// reaches nginx.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "curl", "-sS", "--max-time", "5", "--interface", "127.0.0.9", "http://127.0.0.1:"+fmt.Sprint(fport)+"/").CombinedOutput()
		if err == nil {
			t.Errorf("a connection without a PROXY header from a trusted source was served: %q", out)
		}
		p.waitOutput(t, regexp.MustCompile(`msg="bad PROXY protocol header" frontend=pp client=127\.0\.0\.9:`))
		p.stop(t)
	})

	t.Run("http mode, v1", func(t *testing.T) {
		nginx := startNginxProxyProtocol(t, ngx, `$proxy_protocol_addr $http_x_forwarded_for\n`)
		fport := freePort(t)
		p, _ := runFulcrum(t, fmt.Sprintf(`
defaults: {mode: http, timeout_connect: 1s}
frontend:
  - name: pp
    bind: [{addr_port: 127.0.0.1:%d}]
    accept_proxy: 127.0.0.0/8
    use_backend: nginx
backend:
  - name: nginx
    send_proxy: v1
    servers: [{addr_port: %s}]
`, fport, nginx), "pp")
		hap := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		startHAProxy(t, haproxyCfg(hap, fport, "send-proxy"), hap)
		if got := curlArgs(t, "--interface", "127.0.0.9", "http://"+hap+"/"); got != "127.0.0.9 127.0.0.9\n" {
			t.Errorf("nginx saw PROXY address and X-Forwarded-For %q, want both 127.0.0.9", got)
		}
		// The access log names the real client too.
		p.waitOutput(t, regexp.MustCompile(`client=127\.0\.0\.9 frontend=pp backend=nginx`))
		p.stop(t)
	})
}

// TestTLSPassthroughOpenSSLE2E: a tcp frontend without ssl routes by the
// SNI of the ClientHello; the servers complete the handshakes with their
// own certificates.
func TestTLSPassthroughOpenSSLE2E(t *testing.T) {
	need(t, "openssl")
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "e2e CA")
	caFile := ca.WriteCA(t, dir, "ca.pem")
	var mu sync.Mutex
	sawSNI := map[string][]string{}
	server := func(name string, dns ...string) string {
		leaf := ca.Issue(t, tlstest.Options{CN: name, DNS: dns})
		return echoServer(t, name, &tls.Config{
			Certificates: []tls.Certificate{leaf.TLS(t)},
			GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
				mu.Lock()
				sawSNI[name] = append(sawSNI[name], h.ServerName)
				mu.Unlock()
				return nil, nil
			},
		})
	}
	a := server("a.test", "a.test")
	b := server("b.test", "b.test", "*.b.test")
	p, addrs := runFulcrum(t, fmt.Sprintf(`
defaults: {mode: tcp, timeout_connect: 1s}
frontend:
  - name: passthrough
    bind: [{addr_port: 127.0.0.1:%d}]
    sni_routes:
      - {sni: a.test, use_backend: a}
      - {sni: [b.test, "*.b.test"], use_backend: b}
backend:
  - name: a
    servers: [{addr_port: %s}]
  - name: b
    servers: [{addr_port: %s}]
`, freePort(t), a, b), "passthrough")
	addr := addrs["passthrough"]
	for _, c := range []struct{ sni, cn string }{{"a.test", "a.test"}, {"b.test", "b.test"}, {"x.b.test", "b.test"}, {"A.Test", "a.test"}} {
		echoed := regexp.MustCompile(regexp.QuoteMeta(c.cn) + `: ping`)
		out, err := sClient(t, addr, "ping\n", echoed, "-CAfile", caFile, "-verify_return_error", "-servername", c.sni)
		if err != nil || !echoed.MatchString(out) {
			t.Errorf("SNI %s: no echo from %s (%v):\n%s", c.sni, c.cn, err, out)
			continue
		}
		if got := servedCN(t, out); got != c.cn {
			t.Errorf("SNI %s: certificate CN %s, want %s (the server's own)", c.sni, got, c.cn)
		}
	}
	// No SNI and no default backend: closed before any handshake.
	out, err := sClient(t, addr, "", nil, "-CAfile", caFile, "-noservername")
	if err == nil || strings.Contains(out, "BEGIN CERTIFICATE") {
		t.Errorf("without SNI: want no handshake (%v):\n%s", err, out)
	}
	mu.Lock()
	got := fmt.Sprint(sawSNI)
	mu.Unlock()
	if want := "map[a.test:[a.test A.Test] b.test:[b.test x.b.test]]"; got != want {
		t.Errorf("SNI the servers received: %s, want %s", got, want)
	}
	p.stop(t)
}
