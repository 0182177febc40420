package daemon

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/config"
	"github.com/fulcrum-lb/fulcrum/internal/tlsconf/tlstest"
)

// referenceDir finds the Noxy example configurations beside the repository.
func referenceDir(t *testing.T) string {
	t.Helper()
	dir, _ := filepath.Abs(".")
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		for _, cand := range []string{filepath.Join(d, "shared", "reference"), filepath.Join(d, "..", "shared", "reference")} {
			if _, err := os.Stat(filepath.Join(cand, "noxy-complex.yaml")); err == nil {
				return cand
			}
		}
	}
	t.Fatal("shared/reference with the Noxy examples not found beside the repository")
	return ""
}

// noxyComplex serves Noxy's complex example, unmodified but for addresses
// and certificate paths.
type noxyComplex struct {
	d                   *Daemon
	plain, https, admin string
	ca, otherCA         *tlstest.CA
	client, stranger    tls.Certificate
}

func startNoxyComplex(t *testing.T) *noxyComplex {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "noxy test CA")
	leaf := ca.Issue(t, tlstest.Options{CN: "noxy.rev", DNS: []string{"noxy.rev", "api.noxy.rev", "www.noxy.rev"}})
	cert, key := leaf.Write(t, dir, "cert")
	caFile := ca.WriteCA(t, dir, "ca-cert")
	other := tlstest.NewCA(t, "another CA")
	n := &noxyComplex{ca: ca, otherCA: other,
		client:   ca.Issue(t, tlstest.Options{CN: "admin", Client: true}).TLS(t),
		stranger: other.Issue(t, tlstest.Options{CN: "intruder", Client: true}).TLS(t)}

	web1, web2 := startHTTP(t, "web1", nil), startHTTP(t, "web2", nil)
	api1, api2 := startHTTP(t, "api1", nil), startHTTP(t, "api2", nil)
	telnet := startEcho(t, "telnetadmin")
	ports := []string{closedPort(t), closedPort(t), closedPort(t)}
	data, err := os.ReadFile(filepath.Join(referenceDir(t), "noxy-complex.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer(
		"/app/cert.pem", cert, "/app/key.pem", key, "/app/ca-cert.pem", caFile,
		"0.0.0.0:80", ports[0], "0.0.0.0:443", ports[1], "0.0.0.0:49383", ports[2],
		"webserver1:80", web1.addr(), "webserver2:80", web2.addr(),
		"apiserver1:80", api1.addr(), "apiserver2:80", api2.addr(),
		"telnetadmin:23", telnet.addr(),
	).Replace(string(data))
	cfg, err := config.Parse("noxy-complex.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Global.AccessLog.Target = "off"
	n.d, _ = startConfig(t, cfg, nil)
	n.plain, n.https, n.admin = ports[0], ports[1], ports[2]
	return n
}

func (n *noxyComplex) tlsClient(cfg *tls.Config) *http.Client {
	// ALPN h2 is offered only when cfg asks for nothing else.
	tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: len(cfg.NextProtos) == 0}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func TestNoxyComplexServed(t *testing.T) {
	n := startNoxyComplex(t)
	roots := n.ca.Pool()

	t.Run("plain http is redirected to https", func(t *testing.T) {
		for _, addr := range []string{n.plain, n.https} {
			resp, _ := get(t, client(), "http://"+addr+"/login?next=%2F", "Host", "www.noxy.rev")
			if resp.StatusCode != 302 || resp.Header.Get("Location") != "https://www.noxy.rev/login?next=%2F" {
				t.Errorf("%s: %d Location %q", addr, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
	})
	t.Run("https routes by host, TLS 1.3, h2 by ALPN", func(t *testing.T) {
		cl := n.tlsClient(&tls.Config{RootCAs: roots, ServerName: "api.noxy.rev"})
		req, _ := http.NewRequest("GET", "https://"+n.https+"/v1", nil)
		req.Host = "api.noxy.rev"
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.HasPrefix(string(body), "api") || resp.TLS.Version != tls.VersionTLS13 || resp.ProtoMajor != 2 {
			t.Errorf("got %q over %x %s, want an api server over TLS 1.3 and HTTP/2", body, resp.TLS.Version, resp.Proto)
		}
		req, _ = http.NewRequest("GET", "https://"+n.https+"/", nil)
		req.Host = "www.noxy.rev"
		resp, err = n.tlsClient(&tls.Config{RootCAs: roots, ServerName: "www.noxy.rev", NextProtos: []string{"http/1.1"}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.HasPrefix(string(body), "web") || resp.ProtoMajor != 1 {
			t.Errorf("www over http/1.1: %q %s", body, resp.Proto)
		}
	})
	t.Run("TLS 1.2 refused", func(t *testing.T) {
		c, err := tls.Dial("tcp", n.https, &tls.Config{RootCAs: roots, ServerName: "noxy.rev", MaxVersion: tls.VersionTLS12})
		if err == nil {
			c.Close()
			t.Fatal("a TLS 1.2 handshake succeeded against versions: [TLSv1.3]")
		}
	})
	t.Run("admin needs a certificate from the CA", func(t *testing.T) {
		admin := func(certs []tls.Certificate) (string, error) {
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", n.admin,
				&tls.Config{RootCAs: roots, ServerName: "noxy.rev", Certificates: certs})
			if err != nil {
				return "", err
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			// TLS 1.3 reports a refused client certificate on the first read.
			line, err := bufio.NewReader(c).ReadString('\n')
			return strings.TrimSpace(line), err
		}
		if got, err := admin(nil); err == nil {
			t.Errorf("without a certificate: got %q", got)
		}
		if got, err := admin([]tls.Certificate{n.stranger}); err == nil {
			t.Errorf("with another CA's certificate: got %q", got)
		}
		if got, err := admin([]tls.Certificate{n.client}); err != nil || got != "telnetadmin" {
			t.Errorf("with the right certificate: %q, %v", got, err)
		}
	})
}

// TestClientCertToRulesAndHeaders: with verify optional, rules see the
// client certificate and the servers are told about it.
func TestClientCertToRulesAndHeaders(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "clients CA")
	leaf := ca.Issue(t, tlstest.Options{CN: "shop.test", DNS: []string{"shop.test"}})
	cert, key := leaf.Write(t, dir, "cert")
	caFile := ca.WriteCA(t, dir, "ca")
	echo := startHTTP(t, "echo", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "verified=%s cn=%s sha=%d", r.Header.Get("X-SSL-Client-Verified"), r.Header.Get("X-SSL-Client-CN"), len(r.Header.Get("X-SSL-Client-SHA256")))
	})
	rules := "    forward_client_cert: true\n    ssl: {cert: " + cert + ", key: " + key + ", ca: " + caFile + ", verify: optional}\n" + `    http_condition:
      - when: "path startsWith '/admin' && !ssl_client_verified"
        deny: {status: 403, body: "certificate required\n"}
      - when: "ssl_sni != 'shop.test' || ssl_version != 'TLSv1.3'"
        deny: {status: 421}
`
	d, _ := start(t, httpYAML(rules, serversYAML("app", "roundrobin", echo)))
	addr := frontAddr(t, d, "web")
	do := func(certs []tls.Certificate, path string, hdr ...string) (int, string) {
		cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: ca.Pool(), ServerName: "shop.test", Certificates: certs}}}
		req, _ := http.NewRequest("GET", "https://"+addr+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(body)
	}
	client := ca.Issue(t, tlstest.Options{CN: "alice", Client: true}).TLS(t)
	if code, body := do(nil, "/admin"); code != 403 {
		t.Errorf("no certificate on /admin: %d %q", code, body)
	}
	if code, body := do(nil, "/", "X-SSL-Client-CN", "forged"); code != 200 || body != "verified=0 cn= sha=0" {
		t.Errorf("no certificate: %d %q", code, body)
	}
	if code, body := do([]tls.Certificate{client}, "/admin"); code != 200 || body != "verified=1 cn=alice sha=64" {
		t.Errorf("with a certificate: %d %q", code, body)
	}
}

// TestNoxySimpleServed serves Noxy's simple example, unmodified but for
// addresses and certificate paths: plain HTTP is redirected to
// https://127.0.0.1/uri, and HTTPS (TLS 1.3 only) reaches both web servers.
func TestNoxySimpleServed(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewCA(t, "noxy test CA")
	cert, key := ca.Issue(t, tlstest.Options{CN: "127.0.0.1", IPs: []net.IP{net.ParseIP("127.0.0.1")}}).Write(t, dir, "cert")
	web1, web2 := startHTTP(t, "web1", nil), startHTTP(t, "web2", nil)
	plain, https := closedPort(t), closedPort(t)
	data, err := os.ReadFile(filepath.Join(referenceDir(t), "noxy-simple.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer("/app/cert.pem", cert, "/app/key.pem", key,
		"0.0.0.0:80", plain, "0.0.0.0:443", https,
		"webserver1:80", web1.addr(), "webserver2:80", web2.addr()).Replace(string(data))
	cfg, err := config.Parse("noxy-simple.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Global.AccessLog.Target = "off"
	startConfig(t, cfg, nil)
	resp, _ := get(t, client(), "http://"+plain+"/cart?id=3")
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "https://127.0.0.1/cart?id=3" {
		t.Errorf("redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS13}}}
	seen := map[string]bool{}
	for range 4 {
		resp, err := cl.Get("https://" + https + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		seen[strings.TrimSpace(string(body))] = true
	}
	if !seen["web1"] || !seen["web2"] {
		t.Errorf("HTTPS round robin reached %v", seen)
	}
}
