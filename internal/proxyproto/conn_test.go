package proxyproto

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection on network
// ("tcp4" or "tcp6"), closed at the end of the test.
func tcpPair(t *testing.T, network string) (client, server *net.TCPConn) {
	t.Helper()
	host := "127.0.0.1"
	if network == "tcp6" {
		host = "[::1]"
	}
	ln, err := net.Listen(network, host+":0")
	if err != nil {
		t.Skipf("no %s loopback: %v", network, err)
	}
	defer ln.Close()
	c, err := net.Dial(network, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// writeSlowly writes b in pieces of n bytes, pausing between them so that
// the reader sees them in separate reads.
func writeSlowly(c net.Conn, b []byte, n int) {
	for len(b) > 0 {
		k := min(n, len(b))
		c.Write(b[:k])
		b = b[k:]
		time.Sleep(2 * time.Millisecond)
	}
}

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

func TestAcceptSplitHeader(t *testing.T) {
	for _, c := range validCases(t) {
		t.Run(c.name, func(t *testing.T) {
			client, server := tcpPair(t, "tcp4")
			done := make(chan struct{})
			go func() {
				defer close(done)
				writeSlowly(client, append(append([]byte(nil), c.in...), payload...), 7)
			}()
			conn, h, err := Accept(server, loopback, 5*time.Second)
			<-done
			if err != nil {
				t.Fatal(err)
			}
			if !sameHeader(h, &c.want) {
				t.Errorf("header %+v, want %+v", *h, c.want)
			}
			if c.want.Src.IsValid() {
				pc, ok := conn.(*Conn)
				if !ok {
					t.Fatalf("conn is %T, want *Conn", conn)
				}
				if got := pc.RemoteAddr().String(); got != net.TCPAddrFromAddrPort(c.want.Src).String() {
					t.Errorf("RemoteAddr %s, want %s", got, c.want.Src)
				}
				if got := pc.LocalAddr().String(); got != net.TCPAddrFromAddrPort(c.want.Dst).String() {
					t.Errorf("LocalAddr %s, want %s", got, c.want.Dst)
				}
				if pc.Unwrap() != server || pc.Buffered() != 0 || pc.Header() != h {
					t.Errorf("Unwrap %v, Buffered %d, Header %p", pc.Unwrap(), pc.Buffered(), pc.Header())
				}
			} else if conn != server {
				t.Errorf("conn %T %v, want the connection itself (no addresses)", conn, conn)
			}
			// Nothing after the header was read: the *net.TCPConn has it all.
			server.SetReadDeadline(time.Now().Add(5 * time.Second))
			got := make([]byte, len(payload))
			if _, err := io.ReadFull(server, got); err != nil || string(got) != payload {
				t.Errorf("payload %q, %v", got, err)
			}
		})
	}
}

func TestAcceptHeaderAlone(t *testing.T) {
	// A server-speaks-first protocol: the client sends its header and waits.
	for _, in := range [][]byte{
		AppendV1(nil, ap(t, "192.0.2.1:1000"), ap(t, "192.0.2.2:25")),
		[]byte("PROXY UNKNOWN\r\n"),
		AppendV2(nil, ap(t, "192.0.2.1:1000"), ap(t, "192.0.2.2:25")),
		AppendLocal(nil),
	} {
		client, server := tcpPair(t, "tcp4")
		client.Write(in)
		_, h, err := Accept(server, loopback, 5*time.Second)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if h == nil {
			t.Fatalf("%q: no header", in)
		}
		// The server can now answer: the deadline has been cleared.
		server.Write([]byte("220 ready\r\n"))
		time.Sleep(10 * time.Millisecond)
		client.Write([]byte("QUIT\r\n"))
		buf := make([]byte, 6)
		if _, err := io.ReadFull(server, buf); err != nil || string(buf) != "QUIT\r\n" {
			t.Errorf("%q: after the header: %q %v", in, buf, err)
		}
	}
}

func TestAcceptIPv6(t *testing.T) {
	client, server := tcpPair(t, "tcp6")
	go client.Write(append(AppendV2(nil, ap(t, "[2001:db8::7]:4000"), ap(t, "[2001:db8::80]:443")), "hi"...))
	conn, h, err := Accept(server, loopback, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := conn.RemoteAddr().String(); got != "[2001:db8::7]:4000" || h.Version != 2 {
		t.Errorf("RemoteAddr %s, header %+v", got, *h)
	}
}

func TestAcceptUntrusted(t *testing.T) {
	for _, trusted := range [][]netip.Prefix{nil, {netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}} {
		client, server := tcpPair(t, "tcp4")
		hdr := AppendV1(nil, ap(t, "192.0.2.1:1000"), ap(t, "192.0.2.2:80"))
		client.Write(hdr)
		conn, h, err := Accept(server, trusted, time.Second)
		if err != nil || h != nil || conn != server {
			t.Fatalf("trusted %v: %v %v %v", trusted, conn, h, err)
		}
		// The header is the payload.
		got := make([]byte, len(hdr))
		if _, err := io.ReadFull(conn, got); err != nil || !bytes.Equal(got, hdr) {
			t.Errorf("payload %q %v", got, err)
		}
	}
}

func TestAcceptTimeout(t *testing.T) {
	client, server := tcpPair(t, "tcp4")
	client.Write([]byte("PROXY TCP4 192.0.2.1 ")) // and nothing more
	start := time.Now()
	_, _, err := Accept(server, loopback, 100*time.Millisecond)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("error %v, want a deadline", err)
	}
	if !strings.HasPrefix(err.Error(), "proxyproto: reading header: ") {
		t.Errorf("error %q", err)
	}
	if time.Since(start) > 4*time.Second {
		t.Errorf("Accept took %v", time.Since(start))
	}
}

func TestAcceptErrors(t *testing.T) {
	cases := []struct {
		name, in string
		want     error
	}{
		{"not a header", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", ErrNotProxy},
		{"bad port", "PROXY TCP4 192.0.2.1 192.0.2.2 01 2\r\n", ErrInvalid},
		{"closed early", "PROXY TCP4 192", io.ErrUnexpectedEOF},
		{"closed at once", "", io.EOF},
	}
	for _, c := range cases {
		client, server := tcpPair(t, "tcp4")
		client.Write([]byte(c.in))
		client.CloseWrite()
		conn, h, err := Accept(server, loopback, 5*time.Second)
		if !errors.Is(err, c.want) || conn != nil || h != nil {
			t.Errorf("%s: %v %v %v, want %v", c.name, conn, h, err, c.want)
		}
	}
}

func TestNewConnBuffered(t *testing.T) {
	client, server := tcpPair(t, "tcp4")
	h := &Header{Version: 1, Command: Proxy, Src: ap(t, "192.0.2.1:1000")}
	c := NewConn(server, h, []byte("buffered "))
	if c.RemoteAddr().String() != "192.0.2.1:1000" || c.LocalAddr() != server.LocalAddr() {
		t.Errorf("addresses %s %s", c.RemoteAddr(), c.LocalAddr())
	}
	if c.Buffered() != 9 {
		t.Errorf("Buffered %d", c.Buffered())
	}
	client.Write([]byte("then the socket"))
	client.CloseWrite()
	small := make([]byte, 4)
	n, err := c.Read(small)
	if n != 4 || err != nil || string(small) != "buff" {
		t.Fatalf("Read %d %v %q", n, err, small)
	}
	var out bytes.Buffer
	k, err := c.WriteTo(&out)
	if err != nil || out.String() != "ered then the socket" || k != int64(out.Len()) {
		t.Errorf("WriteTo %d %v %q", k, err, out.String())
	}
}

// recorder is a net.Conn that records which copy path was taken.
type recorder struct {
	net.Conn
	calls []string
}

func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	r.calls = append(r.calls, "ReadFrom")
	return io.Copy(io.Discard, src)
}

func (r *recorder) WriteTo(w io.Writer) (int64, error) {
	r.calls = append(r.calls, "WriteTo")
	return io.Copy(w, strings.NewReader(" rest"))
}

func (r *recorder) CloseWrite() error {
	r.calls = append(r.calls, "CloseWrite")
	return nil
}

func (r *recorder) CloseRead() error {
	r.calls = append(r.calls, "CloseRead")
	return nil
}

func TestConnDelegates(t *testing.T) {
	// io.Copy through a Conn must reach the wrapped connection's ReadFrom
	// and WriteTo (where *net.TCPConn splices), and half-closes pass through.
	_, server := tcpPair(t, "tcp4")
	rec := &recorder{Conn: server}
	c := NewConn(rec, &Header{}, []byte("first"))
	var out bytes.Buffer
	if _, err := io.Copy(&out, c); err != nil || out.String() != "first rest" {
		t.Errorf("copy out: %q %v", out.String(), err)
	}
	if _, err := io.Copy(c, struct{ io.Reader }{strings.NewReader("in")}); err != nil {
		t.Error(err)
	}
	c.CloseWrite()
	c.CloseRead()
	if got := strings.Join(rec.calls, ","); got != "WriteTo,ReadFrom,CloseWrite,CloseRead" {
		t.Errorf("calls %s", got)
	}
	// Over a connection without them, the methods still work.
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	pc := NewConn(p1, nil, nil)
	if pc.CloseWrite() == nil || pc.CloseRead() == nil {
		t.Error("CloseWrite/CloseRead on a pipe did not fail")
	}
	got := make(chan string)
	go func() {
		buf := make([]byte, 3)
		io.ReadFull(p2, buf)
		got <- string(buf)
	}()
	if n, err := pc.ReadFrom(strings.NewReader("abc")); n != 3 || err != nil {
		t.Errorf("ReadFrom over a pipe: %d %v", n, err)
	}
	if s := <-got; s != "abc" {
		t.Errorf("pipe got %q", s)
	}
}

func TestConnSplicesTCP(t *testing.T) {
	// Both directions between a Conn over a *net.TCPConn and another TCP
	// connection, as tcp mode copies them: the bytes arrive intact.
	aClient, aServer := tcpPair(t, "tcp4")
	bClient, bServer := tcpPair(t, "tcp4")
	c := NewConn(aServer, &Header{Version: 2, Command: Proxy, Src: ap(t, "192.0.2.1:1")}, []byte("early "))
	go func() { io.Copy(bClient, c); bClient.CloseWrite() }()
	go func() { io.Copy(c, bClient); c.CloseWrite() }()
	big := bytes.Repeat([]byte("0123456789"), 100000)
	go func() { aClient.Write(big); aClient.CloseWrite() }()
	got, err := io.ReadAll(bServer)
	if err != nil || !bytes.Equal(got, append([]byte("early "), big...)) {
		t.Fatalf("client to server: %d bytes, %v", len(got), err)
	}
	go func() { bServer.Write([]byte("reply")); bServer.CloseWrite() }()
	back, err := io.ReadAll(aClient)
	if err != nil || string(back) != "reply" {
		t.Errorf("server to client: %q %v", back, err)
	}
}

func TestIsTrusted(t *testing.T) {
	pfx := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
	cases := []struct {
		addr net.Addr
		want bool
	}{
		{&net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 1}, true},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:10.1.2.3"), Port: 1}, true},
		{&net.TCPAddr{IP: net.ParseIP("11.1.2.3"), Port: 1}, false},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 1, Zone: "eth0"}, true},
		{&net.UDPAddr{IP: net.ParseIP("10.0.0.1"), Port: 1}, true},
		{&net.UnixAddr{Name: "/run/x", Net: "unix"}, false},
		{stringAddr("10.9.9.9:80"), true},
	}
	for _, c := range cases {
		if got := isTrusted(c.addr, pfx); got != c.want {
			t.Errorf("isTrusted(%v) = %v", c.addr, got)
		}
	}
}

type stringAddr string

func (s stringAddr) Network() string { return "tcp" }
func (s stringAddr) String() string  { return string(s) }
