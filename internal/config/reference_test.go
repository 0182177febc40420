package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// referenceDir finds the Noxy reference configurations: shared/reference
// beside the repository's root (the directory holding go.mod).
func referenceDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("no go.mod above the package directory")
		}
		dir = up
	}
	ref := filepath.Join(dir, "..", "shared", "reference")
	if _, err := os.Stat(ref); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("reference configurations not found: %v", err)
		}
		t.Fatalf("reference configurations not found (they must be in CI): %v", err)
	}
	return ref
}

// loadReference copies a reference file into a temporary directory,
// creates the certificate files it names there, points its /app/ paths at
// them, and loads it.
func loadReference(t *testing.T, name string) *Config {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(referenceDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	for _, pem := range []string{"cert.pem", "key.pem", "ca-cert.pem"} {
		if err := os.WriteFile(filepath.Join(tmp, pem), []byte("fixture\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	data = []byte(strings.ReplaceAll(string(data), "/app/", tmp+"/"))
	file := filepath.Join(tmp, name)
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(file)
	if err != nil {
		t.Fatalf("Load(%s):\n%v", name, err)
	}
	return c
}

func TestReferenceMinimal(t *testing.T) {
	t.Parallel()
	c := loadReference(t, "noxy-minimal.yaml")
	f := c.Frontends[0]
	check(t, "global.maxconn", c.Global.MaxConn, 10)
	check(t, "global.threads", c.Global.Threads, 0)
	check(t, "global.health_check", c.Global.HealthCheck, DefaultHealthCheck)
	check(t, "frontend mode", f.Mode, ModeHTTP) // its own, over defaults' tcp
	check(t, "frontend maxconn", f.MaxConn, 1)
	check(t, "frontend timeout_connect", f.TimeoutConnect, Duration(10*time.Second))
	check(t, "frontend timeout_queue", f.TimeoutQueue, Duration(10*time.Second))
	check(t, "frontend retries", f.Retries, DefaultRetries)
	b := c.Backends[0]
	check(t, "servers", len(b.Servers), 2)
	check(t, "server name", b.Servers[1].Name, "127.0.0.1:8001")
	if b.Health != nil {
		t.Errorf("health = %+v, want none: global.health_check is not set", b.Health)
	}
}

func TestReferenceSimple(t *testing.T) {
	t.Parallel()
	c := loadReference(t, "noxy-simple.yaml")
	f := c.Frontends[0]
	check(t, "binds", len(f.Bind), 2)
	check(t, "ssl.versions", f.SSL.Versions, []string{"TLSv1.3"})
	check(t, "ssl.alpn", f.SSL.ALPN, []string{"h2", "http/1.1"})
	// One ssl block on :80 and :443: plain HTTP on :80 is served by the
	// first-byte rule (ssl.plain_http: auto, the default in http mode).
	check(t, "ssl.plain_http", f.SSL.PlainHTTP, PlainHTTPAuto)
	check(t, "ssl.session_tickets", f.SSL.SessionTickets, true)
	check(t, "rules", len(f.HTTPCondition), 1)
	check(t, "redirect code", f.HTTPCondition[0].Code, DefaultRedirectCode)
	check(t, "global.maxconn", c.Global.MaxConn, 20)
}

func TestReferenceComplex(t *testing.T) {
	t.Parallel()
	c := loadReference(t, "noxy-complex.yaml")
	check(t, "global.threads", c.Global.Threads, 0)
	check(t, "global.health_check", c.Global.HealthCheck, Duration(5*time.Second))

	web, admin := c.Frontends[0], c.Frontends[1]
	check(t, "http_front mode", web.Mode, ModeHTTP)
	check(t, "http_front maxconn", web.MaxConn, 200)
	check(t, "http_front timeout_client", web.TimeoutClient, Duration(30*time.Second))
	check(t, "http_front rule 1", web.HTTPCondition[1].UseBackend, []WeightedBackend{{Name: "api_backend", Weight: 1}})
	check(t, "admin_front mode", admin.Mode, ModeTCP)
	check(t, "admin_front maxconn", admin.MaxConn, 2)
	check(t, "admin_front timeout_client", admin.TimeoutClient, Duration(500*time.Second))
	check(t, "admin_front timeout_server", admin.TimeoutServer, Duration(500*time.Second))
	check(t, "admin_front timeout_connect", admin.TimeoutConnect, Duration(10*time.Second))
	if admin.SSL == nil || filepath.Base(admin.SSL.CA) != "ca-cert.pem" {
		t.Fatalf("admin_front ssl = %+v, want a ca", admin.SSL)
	}
	// A client without a certificate signed by the ca is refused at the
	// handshake; a client that is not TLS at all is closed.
	check(t, "admin_front ssl.verify", admin.SSL.Verify, VerifyRequire)
	check(t, "admin_front ssl.plain_http", admin.SSL.PlainHTTP, PlainHTTPOff)
	check(t, "http_front ssl.plain_http", web.SSL.PlainHTTP, PlainHTTPAuto)

	b := c.Backends[0]
	check(t, "backend name", b.Name, "web_backend")
	check(t, "web_backend servers", len(b.Servers), 2)
	check(t, "web_backend algorithm", b.Balance.Algorithm, "roundrobin")
	check(t, "web_backend server 0", b.Servers[0], Server{Name: "webserver1:80", AddrPort: "webserver1:80", Weight: 1, Pos: Pos{Line: 54, Col: 9}})
	// global.health_check gives every backend a tcp check at that interval.
	want := &Health{Type: HealthTCP, Interval: Duration(5 * time.Second), FastInterval: Duration(1250 * time.Millisecond),
		DownInterval: Duration(5 * time.Second), Timeout: Duration(2 * time.Second), Rise: 2, Fall: 3, Initial: InitialUp}
	check(t, "web_backend health", b.Health, want)
}

// check compares got with want deeply.
func check(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}
