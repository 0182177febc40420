// Package resolve turns server host names into addresses, at start and
// periodically after (control plane). It only looks names up; what to do
// with a changed address is the caller's business.
package resolve

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
)

// Func looks up the addresses of host.
type Func func(ctx context.Context, host string) ([]netip.Addr, error)

// System looks names up with the system's resolver (/etc/hosts, then DNS).
func System(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// Literal reports whether hostport names an IP address rather than a host
// name, and returns it normalised.
func Literal(hostport string) (string, bool) {
	ap, err := netip.ParseAddrPort(hostport)
	if err != nil {
		return "", false
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String(), true
}

// Choose returns the address to use among addrs, the same one for the same
// set whatever the order the resolver returned them in: the lowest IPv4
// address, else the lowest IPv6 address.
func Choose(addrs []netip.Addr) (netip.Addr, bool) {
	if len(addrs) == 0 {
		return netip.Addr{}, false
	}
	s := make([]netip.Addr, len(addrs))
	for i, a := range addrs {
		s[i] = a.Unmap()
	}
	slices.SortFunc(s, func(a, b netip.Addr) int {
		if a.Is4() != b.Is4() {
			if a.Is4() {
				return -1
			}
			return 1
		}
		return a.Compare(b)
	})
	return s[0], true
}

// HostPort resolves "host:port" to "ip:port" with lookup.
func HostPort(ctx context.Context, lookup Func, hostport string) (string, error) {
	if lit, ok := Literal(hostport); ok {
		return lit, nil
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", err
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", fmt.Errorf("bad port %q", port)
	}
	addrs, err := lookup(ctx, host)
	if err != nil {
		return "", err
	}
	a, ok := Choose(addrs)
	if !ok {
		return "", fmt.Errorf("no address for %s", host)
	}
	return net.JoinHostPort(a.String(), port), nil
}
