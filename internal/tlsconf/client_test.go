package tlsconf

import (
	"crypto/tls"
	"strings"
	"testing"
)

// TestNewClient connects fulcrum's backend side to a TLS server as each
// ClientSpec says.
func TestNewClient(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	spec := p.spec(t)
	spec.CA, spec.Verify, spec.ALPN = p.caFile, VerifyOptional, []string{"h2", "http/1.1"}
	srv := echo(t, newServer(t, spec).Config())
	otherCA := p.otherCA.WriteCA(t, p.dir, "other-ca.pem")
	clientCert, clientKey := p.client.Write(t, p.dir, "client")

	for _, tt := range []struct {
		name    string
		spec    ClientSpec
		host    string
		wantErr string // "" for success
		wantCN  string
	}{
		{"CA and host name", ClientSpec{Verify: p.caFile}, "a.example.com", "", "a.example.com"},
		{"CA and IP address", ClientSpec{Verify: p.caFile}, "127.0.0.1", "", "default.example.com"},
		{"sni overrides the host", ClientSpec{Verify: p.caFile, SNI: "x.b.example.com"}, "127.0.0.1", "", "wild.b.example.com"},
		{"wrong CA", ClientSpec{Verify: otherCA}, "a.example.com", "certificate signed by unknown authority", ""},
		{"wrong name", ClientSpec{Verify: p.caFile, SNI: "nope.example.org"}, "", "not nope.example.org", ""},
		{"none", ClientSpec{Verify: "none", SNI: "nope.example.org"}, "", "", "default.example.com"},
		{"system roots", ClientSpec{}, "a.example.com", "certificate signed by unknown authority", ""},
	} {
		cfg, err := NewClient(tt.spec)
		if err != nil {
			t.Fatalf("%s: NewClient: %v", tt.name, err)
		}
		c, err := dial(t, srv.addr, ForServer(cfg, tt.host))
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.wantErr)
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case err == nil && servedCN(c) != tt.wantCN:
			t.Errorf("%s: served %q, want %q", tt.name, servedCN(c), tt.wantCN)
		}
	}

	cfg, err := NewClient(ClientSpec{Verify: p.caFile, Cert: clientCert, Key: clientKey, ALPN: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := dial(t, srv.addr, ForServer(cfg, "a.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.ConnectionState().NegotiatedProtocol; got != "http/1.1" {
		t.Errorf("ALPN = %q, want http/1.1", got)
	}
	if info := Info(srv.lastState(t)); !info.ClientVerified || info.ClientCN != "admin" {
		t.Errorf("server saw %+v, want the verified client certificate", info)
	}
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion = %x, want TLS 1.2", cfg.MinVersion)
	}
	if ForServer(cfg, "a.example.com") == cfg || ForServer(cfg, "") != cfg {
		t.Error("ForServer: want a copy for a host, cfg itself without one")
	}

	for _, bad := range []ClientSpec{
		{Cert: clientCert},
		{Verify: "/nonexistent/ca.pem"},
		{Verify: clientKey}, // no certificate in it
	} {
		if _, err := NewClient(bad); err == nil {
			t.Errorf("NewClient(%+v) succeeded", bad)
		}
	}
}
