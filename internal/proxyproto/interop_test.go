package proxyproto

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/testnet"
)

// The interop tests run real peers from Debian: haproxy sends headers to a
// Go listener using Accept, and nginx reads headers built by AppendV1 and
// AppendV2. Without the program the test is skipped, or fails under CI
// (CI set), where scripts/test.sh has installed it.

// needTool returns the path of a program, looking in PATH and in dirs.
func needTool(t *testing.T, name string, dirs ...string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed (apt-get install %s)", name, name)
	}
	t.Skipf("%s is not installed", name)
	return ""
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T, host string) int {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Skipf("no loopback on %s: %v", host, err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startPeer runs a program in the foreground with its output in a file of
// dir, waits until addr accepts connections, and stops it (by PID) when the
// test ends.
func startPeer(t *testing.T, dir, addr string, path string, args ...string) {
	t.Helper()
	logf, err := os.Create(filepath.Join(dir, filepath.Base(path)+".out"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr, cmd.Dir = logf, logf, dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			out, _ := os.ReadFile(logf.Name())
			t.Fatalf("%s exited: %s", path, out)
		default:
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(logf.Name())
			t.Fatalf("%s does not listen on %s: %s", path, addr, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// acceptRecord is what the Go listener behind haproxy saw on a connection.
type acceptRecord struct {
	hdr    *Header
	remote string
	err    error
}

// proxyListener accepts on ln, reads headers from trusted loopback peers
// with Accept, records them, and echoes "remote=<RemoteAddr> data=<line>" to
// each client that sends a line.
func proxyListener(t *testing.T, ln net.Listener) <-chan acceptRecord {
	records := make(chan acceptRecord, 1000)
	testnet.ServeOn(t, ln, func(c net.Conn) {
		conn, h, err := Accept(c, loopback, 5*time.Second)
		if err != nil {
			select {
			case records <- acceptRecord{err: err}:
			default:
			}
			return
		}
		rec := acceptRecord{hdr: h, remote: conn.RemoteAddr().String()}
		select {
		case records <- rec:
		default:
		}
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil {
			return // a health check: no data
		}
		fmt.Fprintf(conn, "remote=%s data=%s", rec.remote, line)
	})
	return records
}

func TestInteropHAProxySends(t *testing.T) {
	haproxy := needTool(t, "haproxy", "/usr/sbin")
	for _, tc := range []struct {
		name, host, server string
		version            int
	}{
		{"send-proxy", "127.0.0.1", "send-proxy", 1},
		{"send-proxy-v2", "127.0.0.1", "send-proxy-v2", 2},
		{"send-proxy-v2 crc32c unique-id", "127.0.0.1", "send-proxy-v2 proxy-v2-options crc32c,unique-id", 2},
		{"send-proxy IPv6", "::1", "send-proxy", 1},
		{"send-proxy-v2 IPv6", "::1", "send-proxy-v2", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			records := proxyListener(t, ln)
			front := net.JoinHostPort(tc.host, fmt.Sprint(freePort(t, tc.host)))
			cfg := fmt.Sprintf(`global
	maxconn 100
defaults
	mode tcp
	timeout connect 5s
	timeout client 10s
	timeout server 10s
frontend fe
	bind %s
	unique-id-format fulcrum-%%[uuid]
	default_backend be
backend be
	server s1 %s %s
`, front, ln.Addr(), tc.server)
			cfgPath := filepath.Join(dir, "haproxy.cfg")
			os.WriteFile(cfgPath, []byte(cfg), 0o644)
			startPeer(t, dir, front, haproxy, "-db", "-f", cfgPath)

			for i := 0; i < 3; i++ {
				c, err := net.Dial("tcp", front)
				if err != nil {
					t.Fatal(err)
				}
				c.SetDeadline(time.Now().Add(10 * time.Second))
				fmt.Fprintf(c, "hello %d\n", i)
				reply, err := io.ReadAll(c)
				c.Close()
				if err != nil {
					t.Fatal(err)
				}
				client := c.LocalAddr().(*net.TCPAddr).AddrPort()
				want := fmt.Sprintf("remote=%s data=hello %d\n", client, i)
				if string(reply) != want {
					t.Fatalf("reply %q, want %q", reply, want)
				}
				// The record of this connection (the readiness probe made one
				// too, without data).
				var h *Header
				for timeout := time.After(5 * time.Second); h == nil; {
					select {
					case rec := <-records:
						if rec.err != nil {
							t.Fatal(rec.err)
						}
						if rec.hdr.Src == client {
							h = rec.hdr
						}
					case <-timeout:
						t.Fatalf("no connection from %s reached the listener", client)
					}
				}
				if h.Version != tc.version || h.Command != Proxy {
					t.Errorf("header %+v, want version %d", *h, tc.version)
				}
				if h.Dst.Port() != uint16(c.RemoteAddr().(*net.TCPAddr).Port) {
					t.Errorf("header destination %s, haproxy listens on %s", h.Dst, front)
				}
				if strings.Contains(tc.server, "crc32c") {
					if _, ok := h.TLV(TypeCRC32C); !ok {
						t.Errorf("no CRC32C TLV in %+v", *h)
					}
					if id, ok := h.TLV(TypeUniqueID); !ok || !bytes.HasPrefix(id, []byte("fulcrum-")) {
						t.Errorf("unique ID %q, %v", id, ok)
					}
				}
			}
		})
	}
}

func TestInteropHAProxyHealthCheckLocal(t *testing.T) {
	// haproxy sends its health checks with the v2 LOCAL command.
	haproxy := needTool(t, "haproxy", "/usr/sbin")
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	records := proxyListener(t, ln)
	front := fmt.Sprintf("127.0.0.1:%d", freePort(t, "127.0.0.1"))
	cfg := fmt.Sprintf(`defaults
	mode tcp
	timeout connect 5s
	timeout client 10s
	timeout server 10s
	timeout check 2s
listen fe
	bind %s
	server s1 %s send-proxy-v2 check inter 100
`, front, ln.Addr())
	cfgPath := filepath.Join(dir, "haproxy.cfg")
	os.WriteFile(cfgPath, []byte(cfg), 0o644)
	startPeer(t, dir, front, haproxy, "-db", "-f", cfgPath)
	timeout := time.After(10 * time.Second)
	for {
		select {
		case rec := <-records:
			if rec.err != nil {
				t.Fatal(rec.err)
			}
			if rec.hdr.Command == Local {
				if rec.hdr.Src.IsValid() || !strings.HasPrefix(rec.remote, "127.0.0.1:") {
					t.Errorf("LOCAL header %+v, remote %s", *rec.hdr, rec.remote)
				}
				return
			}
		case <-timeout:
			t.Fatal("no LOCAL health check in 10s")
		}
	}
}

func TestInteropNginxReads(t *testing.T) {
	nginx := needTool(t, "nginx", "/usr/sbin")
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t, "127.0.0.1"))
	for _, sub := range []string{"logs", "tmp"} {
		os.Mkdir(filepath.Join(dir, sub), 0o755)
	}
	cfg := fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/logs/error.log;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path %[1]s/tmp/body;
	proxy_temp_path %[1]s/tmp/proxy;
	fastcgi_temp_path %[1]s/tmp/fastcgi;
	uwsgi_temp_path %[1]s/tmp/uwsgi;
	scgi_temp_path %[1]s/tmp/scgi;
	server {
		listen %[2]s proxy_protocol;
		return 200 "$proxy_protocol_addr:$proxy_protocol_port $proxy_protocol_server_addr:$proxy_protocol_server_port";
	}
}
`, dir, addr)
	cfgPath := filepath.Join(dir, "nginx.conf")
	os.WriteFile(cfgPath, []byte(cfg), 0o644)
	startPeer(t, dir, addr, nginx, "-p", dir, "-e", filepath.Join(dir, "logs", "error.log"), "-c", cfgPath)

	src4, dst4 := ap(t, "203.0.113.7:4242"), ap(t, "198.51.100.1:443")
	src6, dst6 := ap(t, "[2001:db8::7]:65535"), ap(t, "[2001:db8::1]:8443")
	cases := []struct {
		name string
		hdr  []byte
		want string
	}{
		{"v1 TCP4", AppendV1(nil, src4, dst4), "203.0.113.7:4242 198.51.100.1:443"},
		{"v1 TCP6", AppendV1(nil, src6, dst6), "2001:db8::7:65535 2001:db8::1:8443"},
		{"v2 TCP4", AppendV2(nil, src4, dst4), "203.0.113.7:4242 198.51.100.1:443"},
		{"v2 TCP6", AppendV2(nil, src6, dst6), "2001:db8::7:65535 2001:db8::1:8443"},
		{"v2 TCP4 with TLVs", AppendV2(nil, src4, dst4,
			TLV{TypeAuthority, []byte("www.example.com")}, TLV{TypeALPN, []byte("http/1.1")},
			TLV{TypeUniqueID, []byte("id-1")}, TLV{TypeCRC32C, nil}), "203.0.113.7:4242 198.51.100.1:443"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			req := append(c.hdr, "GET / HTTP/1.0\r\nHost: x\r\n\r\n"...)
			if _, err := conn.Write(req); err != nil {
				t.Fatal(err)
			}
			resp, err := io.ReadAll(conn)
			if err != nil {
				t.Fatal(err)
			}
			_, body, _ := bytes.Cut(resp, []byte("\r\n\r\n"))
			if !bytes.HasPrefix(resp, []byte("HTTP/1.1 200")) || string(body) != c.want {
				t.Errorf("nginx answered %q, want body %q", resp, c.want)
			}
		})
	}
}
