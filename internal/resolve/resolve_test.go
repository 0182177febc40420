package resolve

import (
	"context"
	"errors"
	"net/netip"
	"testing"
)

func TestLiteral(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"127.0.0.1:80", "127.0.0.1:80", true},
		{"[::1]:443", "[::1]:443", true},
		{"[::ffff:10.0.0.1]:80", "10.0.0.1:80", true},
		{"localhost:80", "", false},
		{"webserver1:80", "", false},
	}
	for _, tt := range tests {
		got, ok := Literal(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Literal(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestChooseIsOrderIndependent(t *testing.T) {
	a := []netip.Addr{netip.MustParseAddr("::1"), netip.MustParseAddr("127.0.0.9"), netip.MustParseAddr("127.0.0.2")}
	b := []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("::1"), netip.MustParseAddr("127.0.0.9")}
	ga, _ := Choose(a)
	gb, _ := Choose(b)
	if ga != gb || ga.String() != "127.0.0.2" {
		t.Errorf("Choose = %v, %v; want 127.0.0.2 both times", ga, gb)
	}
	if _, ok := Choose(nil); ok {
		t.Error("Choose(nil) ok = true")
	}
}

func TestHostPort(t *testing.T) {
	lookup := func(_ context.Context, host string) ([]netip.Addr, error) {
		switch host {
		case "web":
			return []netip.Addr{netip.MustParseAddr("127.0.0.7")}, nil
		case "empty":
			return nil, nil
		}
		return nil, errors.New("no such host")
	}
	ctx := context.Background()
	if got, err := HostPort(ctx, lookup, "web:8080"); err != nil || got != "127.0.0.7:8080" {
		t.Errorf("HostPort(web:8080) = %q, %v", got, err)
	}
	if got, err := HostPort(ctx, lookup, "127.0.0.1:1"); err != nil || got != "127.0.0.1:1" {
		t.Errorf("HostPort(literal) = %q, %v", got, err)
	}
	for _, in := range []string{"nope:80", "empty:80", "web", "web:x"} {
		if got, err := HostPort(ctx, lookup, in); err == nil {
			t.Errorf("HostPort(%q) = %q, want an error", in, got)
		}
	}
	// The system resolver knows localhost.
	if got, err := HostPort(ctx, System, "localhost:80"); err != nil || got != "127.0.0.1:80" {
		t.Errorf("HostPort(localhost:80) = %q, %v; want 127.0.0.1:80", got, err)
	}
}
