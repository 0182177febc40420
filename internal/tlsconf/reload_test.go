package tlsconf

import (
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/tlsconf/tlstest"
)

// TestReload swaps the certificate under a running listener: an
// established connection keeps working, new ones get the new certificate,
// and a broken file leaves the old certificate in place.
func TestReload(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	certFile, keyFile := p.a.Write(t, p.dir, "site")
	s := newServer(t, ServerSpec{Name: "web", Certs: []CertFiles{{certFile, keyFile}}})
	addr := echo(t, s.Config()).addr

	old, err := dial(t, addr, p.clientConfig("a.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	renewed := p.ca.Issue(t, tlstest.Options{CN: "renewed", DNS: []string{"a.example.com"}})
	renewed.Write(t, p.dir, "site")
	if err := s.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	c, err := dial(t, addr, p.clientConfig("a.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if got := servedCN(c); got != "renewed" {
		t.Errorf("after Reload: served %q, want renewed", got)
	}
	if err := roundTrip(old, "still there"); err != nil {
		t.Errorf("connection established before the reload: %v", err)
	}

	// A key that does not match: the reload fails, naming the file, and
	// the renewed certificate stays.
	tlstest.WriteFile(t, p.dir, "site.key", p.def.KeyPEM)
	err = s.Reload()
	if err == nil || !strings.Contains(err.Error(), keyFile) {
		t.Errorf("Reload with a wrong key = %v, want an error naming %s", err, keyFile)
	}
	if c, err = dial(t, addr, p.clientConfig("a.example.com")); err != nil || servedCN(c) != "renewed" {
		t.Errorf("after a failed reload: %v, want the renewed certificate", err)
	}
	if err := os.Remove(certFile); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(); err == nil || !strings.Contains(err.Error(), certFile) {
		t.Errorf("Reload with a missing cert = %v, want an error naming %s", err, certFile)
	}
}

// TestWatch renews a certificate in place and waits for Watch to serve it.
func TestWatch(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	certFile, keyFile := p.a.Write(t, p.dir, "site")
	s := newServer(t, ServerSpec{Certs: []CertFiles{{certFile, keyFile}}})
	addr := echo(t, s.Config()).addr
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Watch(ctx, 10*time.Millisecond) }()
	defer func() { cancel(); <-done }()

	// A half-done renewal (new certificate, old key) fails and is kept
	// out; the key's arrival completes it.
	renewed := p.ca.Issue(t, tlstest.Options{CN: "renewed", DNS: []string{"a.example.com"}})
	tlstest.WriteFile(t, p.dir, "site.crt", renewed.CertPEM)
	time.Sleep(50 * time.Millisecond)
	tlstest.WriteFile(t, p.dir, "site.key", renewed.KeyPEM)
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := dial(t, addr, p.clientConfig("a.example.com"))
		if err != nil {
			t.Fatal(err)
		}
		if servedCN(c) == "renewed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Watch did not load the renewed certificate within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCertDir loads a directory of combined PEM files, chooses among them
// by SNI, and picks up a file added to it on Reload.
func TestCertDir(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	dir := filepath.Join(p.dir, "certs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p.def.WriteCombined(t, dir, "00-default.pem")
	p.a.WriteCombined(t, dir, "a.pem")
	tlstest.WriteFile(t, dir, "README", []byte("not a certificate"))
	s := newServer(t, ServerSpec{CertDir: dir})
	addr := echo(t, s.Config()).addr
	for sni, want := range map[string]string{"a.example.com": "a.example.com", "": "default.example.com",
		"x.b.example.com": "default.example.com"} {
		cfg := p.clientConfig(sni)
		cfg.InsecureSkipVerify = true
		if c, err := dial(t, addr, cfg); err != nil || servedCN(c) != want {
			t.Errorf("SNI %q: %v, want %s", sni, err, want)
		}
	}
	p.wild.WriteCombined(t, dir, "b.pem")
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if c, err := dial(t, addr, p.clientConfig("x.b.example.com")); err != nil || servedCN(c) != "wild.b.example.com" {
		t.Errorf("after adding b.pem: %v", err)
	}
	if _, err := NewServer(ServerSpec{CertDir: t.TempDir()}, nil); err == nil || !strings.Contains(err.Error(), "no *.pem") {
		t.Errorf("empty directory: %v", err)
	}
}

// TestTicketRotation resumes a session across one key rotation, not two.
func TestTicketRotation(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		s := newServer(t, p.spec(t))
		addr := echo(t, s.Config()).addr
		for rotations, wantResume := range []bool{true, true, false} {
			cfg := p.clientConfig("a.example.com")
			cfg.MaxVersion = version
			cfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
			if c, err := dial(t, addr, cfg); err != nil || c.ConnectionState().DidResume {
				t.Fatalf("first connection: %v, want a full handshake", err)
			}
			for range rotations {
				if err := s.rotate(); err != nil {
					t.Fatal(err)
				}
			}
			c, err := dial(t, addr, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.ConnectionState().DidResume; got != wantResume {
				t.Errorf("%s, %d rotations: DidResume = %v, want %v", VersionName(version), rotations, got, wantResume)
			}
		}
	}

	// With tickets off nothing resumes.
	spec := p.spec(t)
	spec.NoSessionTickets = true
	addr := echo(t, newServer(t, spec).Config()).addr
	cfg := p.clientConfig("a.example.com")
	cfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
	for range 2 {
		if c, err := dial(t, addr, cfg); err != nil || c.ConnectionState().DidResume {
			t.Errorf("tickets off: %v, resumed", err)
		}
	}
}

// TestRotationGoroutine checks the rotation goroutine turns the keys and
// that Close stops it (twice is harmless).
func TestRotationGoroutine(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	spec := p.spec(t)
	spec.TicketRotation = 5 * time.Millisecond
	s, err := NewServer(spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	first := s.currentKey()
	deadline := time.Now().Add(5 * time.Second)
	for s.currentKey() == first {
		if time.Now().After(deadline) {
			t.Fatal("the ticket key did not change within 5s")
		}
		time.Sleep(time.Millisecond)
	}
	s.Close()
	s.Close()
	k := s.currentKey()
	time.Sleep(20 * time.Millisecond)
	if s.currentKey() != k {
		t.Error("the key changed after Close")
	}
}

// currentKey returns the key that encrypts tickets now.
func (s *Server) currentKey() [32]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[0]
}
