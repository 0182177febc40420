package daemon

import (
	"bufio"
	"bytes"
	"net"
	"strconv"
	"sync"
	"testing"
)

// rawBackend answers every request on a kept-alive connection with a fixed
// ~100-byte response, as cheaply as possible, so a benchmark measures the
// proxy.
func rawBackend(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 80\r\n\r\n" +
		"hello from the raw backend, a body of about one hundred bytes for benchmarks...\n")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReaderSize(c, 16<<10)
				for {
					// Read one request head (no body in this benchmark).
					for {
						line, err := r.ReadSlice('\n')
						if err != nil {
							return
						}
						if len(line) <= 2 {
							break
						}
					}
					if _, err := c.Write(resp); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// benchProxy starts an http frontend, with the extra frontend settings
// given (YAML lines indented by four spaces), in front of a raw backend,
// and returns its address.
func benchProxy(b *testing.B, extra string) string {
	backend := rawBackend(b)
	d, _ := start(b, `
global: {access_log: off}
defaults: {mode: http, timeout_connect: 1s, timeout_client: 30s, timeout_server: 30s}
frontend:
  - name: web
    bind: [{addr_port: "127.0.0.1:0"}]
`+extra+`    use_backend: app
backend:
  - name: app
    servers: [{addr_port: "`+backend+`"}]
`)
	return d.Addrs("web")[0].String()
}

// BenchmarkHTTPKeepAlive sends GET requests over 16 kept-alive client
// connections through an http frontend to a raw backend.
func BenchmarkHTTPKeepAlive(b *testing.B) {
	addr := benchProxy(b, "")
	req := []byte("GET /bench HTTP/1.1\r\nHost: bench.local\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	const conns = 16
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	per := b.N/conns + 1
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				b.Error(err)
				return
			}
			defer c.Close()
			r := bufio.NewReaderSize(c, 16<<10)
			for range per {
				if _, err := c.Write(req); err != nil {
					b.Error(err)
					return
				}
				n := -1
				for {
					line, err := r.ReadSlice('\n')
					if err != nil {
						b.Error(err)
						return
					}
					if len(line) <= 2 {
						break
					}
					if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
						n, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
					}
				}
				if _, err := r.Discard(n); err != nil { // io.CopyN would allocate here
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkHTTPConnPerRequest sends each GET on a new connection, with
// Connection: close, from 16 clients at a time: accept, one exchange over
// a pooled server connection, close.
func BenchmarkHTTPConnPerRequest(b *testing.B) {
	addr := benchProxy(b, "")
	req := []byte("GET /bench HTTP/1.1\r\nHost: bench.local\r\nUser-Agent: bench\r\nConnection: close\r\n\r\n")
	const clients = 16
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	per := b.N/clients + 1
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 4096)
			for range per {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					b.Error(err)
					return
				}
				c.(*net.TCPConn).SetLinger(0) // no TIME_WAIT left behind by the thousands
				if _, err := c.Write(req); err != nil {
					b.Error(err)
					c.Close()
					return
				}
				n := 0
				for {
					m, err := c.Read(buf[n:])
					n += m
					if err != nil || n == len(buf) {
						break
					}
				}
				c.Close()
				if !bytes.HasPrefix(buf[:n], []byte("HTTP/1.1 200 ")) {
					b.Errorf("response %q", buf[:min(n, 64)])
					return
				}
			}
		}()
	}
	wg.Wait()
}
