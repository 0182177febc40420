package tlsconf

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// These tests speak to a Server with real clients from Debian: openssl
// s_client and curl. They skip when a tool is missing, and fail in CI.

// sClient runs openssl s_client against addr with extra arguments, sending
// "hello" then "bye", on which the echo server closes. It reads until the
// server closes, so an alert sent after the handshake (as TLS 1.3 refusals
// of client certificates are) shows in the output.
func sClient(t *testing.T, addr string, args ...string) (string, error) {
	t.Helper()
	openssl := needTool(t, "openssl")
	return run(t, "hello\nbye\n", openssl, append([]string{"s_client", "-connect", addr, "-ign_eof"}, args...)...)
}

func TestOpenSSLClient(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	spec := p.spec(t)
	spec.Versions, spec.ALPN = []string{"TLSv1.3"}, []string{"h2", "http/1.1"}
	addr := echo(t, newServer(t, spec).Config()).addr
	verify := []string{"-CAfile", p.caFile, "-verify_return_error"}

	out, err := sClient(t, addr, "-tls1_2", "-servername", "a.example.com")
	if err == nil || !strings.Contains(out, "alert protocol version") {
		t.Errorf("-tls1_2 against a TLSv1.3 frontend: err = %v, want a protocol version alert; output:\n%s", err, out)
	}
	for _, tt := range []struct {
		args   []string
		wantCN string
	}{
		{[]string{"-servername", "a.example.com", "-verify_hostname", "a.example.com"}, "a.example.com"},
		{[]string{"-servername", "www.a.example.com", "-verify_hostname", "www.a.example.com"}, "a.example.com"},
		{[]string{"-servername", "q.b.example.com", "-verify_hostname", "q.b.example.com"}, "wild.b.example.com"},
		{[]string{"-noservername", "-verify_ip", "127.0.0.1"}, "default.example.com"},
	} {
		args := append(append([]string{"-alpn", "http/1.1,h2"}, verify...), tt.args...)
		out, err := sClient(t, addr, args...)
		if err != nil {
			t.Errorf("s_client %v: %v\n%s", tt.args, err, out)
			continue
		}
		for _, want := range []string{"subject=CN = " + tt.wantCN + "\n", "ALPN protocol: h2", "Protocol  : TLSv1.3",
			"Verify return code: 0 (ok)"} {
			if !strings.Contains(out, want) {
				t.Errorf("s_client %v: output lacks %q:\n%s", tt.args, want, out)
			}
		}
	}
}

func TestOpenSSLClientCertificates(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	clientCert, clientKey := p.client.Write(t, p.dir, "client")
	strangerCert, strangerKey := p.stranger.Write(t, p.dir, "stranger")
	for _, tt := range []struct {
		verify string
		args   []string
		want   string // in the output; "" for an echoed hello
	}{
		{"require", nil, "alert certificate required"},
		{"require", []string{"-cert", strangerCert, "-key", strangerKey}, "alert unknown ca"},
		{"require", []string{"-cert", clientCert, "-key", clientKey}, ""},
		{"optional", nil, ""},
		{"optional", []string{"-cert", strangerCert, "-key", strangerKey}, "alert unknown ca"},
	} {
		spec := p.spec(t)
		spec.CA, spec.Verify, spec.Versions = p.caFile, tt.verify, []string{"TLSv1.3"}
		addr := echo(t, newServer(t, spec).Config()).addr
		args := append([]string{"-servername", "a.example.com", "-CAfile", p.caFile}, tt.args...)
		out, err := sClient(t, addr, args...)
		switch {
		case tt.want != "" && (err == nil || !strings.Contains(out, tt.want)):
			t.Errorf("verify %s, %v: err = %v, want %q in:\n%s", tt.verify, tt.args, err, tt.want, out)
		case tt.want == "" && (err != nil || !strings.Contains(out, "hello") || !strings.Contains(out, "bye\n")):
			t.Errorf("verify %s, %v: err = %v, want the echo in:\n%s", tt.verify, tt.args, err, out)
		}
	}
}

// httpsServer serves "hello <protocol>" over cfg on loopback.
func httpsServer(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cn := ""
			if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
				cn = Info(*r.TLS).ClientCN
			}
			fmt.Fprintf(w, "hello %s %s", r.Proto, cn)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(tls.NewListener(ln, cfg)) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

func TestCurl(t *testing.T) {
	t.Parallel()
	curl := needTool(t, "curl")
	p := newPKI(t)
	spec := p.spec(t)
	spec.ALPN, spec.CA, spec.Verify = []string{"h2", "http/1.1"}, p.caFile, VerifyOptional
	addr := httpsServer(t, newServer(t, spec).Config())
	_, port, _ := net.SplitHostPort(addr)
	clientCert, clientKey := p.client.Write(t, p.dir, "client")
	for _, tt := range []struct {
		name string
		args []string
		want []string
	}{
		{"a.example.com", []string{"--http2"}, []string{"ALPN: server accepted h2", "subject: CN=a.example.com", "hello HTTP/2.0 \n"}},
		{"x.b.example.com", []string{"--http1.1"}, []string{"ALPN: server accepted http/1.1", "subject: CN=wild.b.example.com", "hello HTTP/1.1 \n"}},
		{"a.example.com", []string{"--cert", clientCert, "--key", clientKey}, []string{"hello HTTP/2.0 admin\n"}},
	} {
		args := append([]string{"-sv", "--max-time", "10", "--cacert", p.caFile, "--resolve", tt.name + ":" + port + ":127.0.0.1",
			"-w", "\n"}, tt.args...)
		out, err := run(t, "", curl, append(args, "https://"+tt.name+":"+port+"/")...)
		if err != nil {
			t.Errorf("curl %s %v: %v\n%s", tt.name, tt.args, err, out)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("curl %s %v: output lacks %q:\n%s", tt.name, tt.args, w, out)
			}
		}
	}
}
