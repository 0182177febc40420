// Command hsload measures how many TLS 1.3 handshakes per second a server
// completes. -c workers each loop for -d: dial -addr, make a full (or, with
// -resume, a resumed) TLS 1.3 handshake, send one HTTP/1.1 request with
// "Connection: close", read the whole answer and close. It prints one line:
//
//	handshakes N ok N errors N resumed N seconds S rate R
//
// where "ok" counts the requests answered 200 over a handshake of the kind
// asked for, "errors" everything else (failed dials and handshakes, other
// statuses, and with -resume a handshake that did not resume although the
// worker held a ticket), and "rate" is ok per second.
//
// The client verifies the server's CertificateVerify signature on every full
// handshake, as every TLS client must, but not the certificate chain (the
// benchmark's certificate is self-signed). It offers X25519 only, the group
// the other load generators negotiate, so that no server is given a costlier
// post-quantum key exchange than another. With -resume each worker keeps the
// ticket of its previous connection, as h2load does.
//
// It exists because h2load's OpenSSL 3.0 client spends about 0.85 ms of CPU
// per full handshake on this machine's cores, more than any of the proxies
// it loads; Go's client spends a fraction of that, so that one core of load
// generator is enough to keep a proxy on one core busy.
//
// It is a helper of bench/run.sh; only loopback addresses are accepted.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "server address (loopback only)")
	workers := flag.Int("c", 64, "connections at a time")
	dur := flag.Duration("d", 4*time.Second, "how long to run")
	resume := flag.Bool("resume", false, "resume the previous connection's session (TLS 1.3 ticket)")
	path := flag.String("path", "/", "request path")
	flag.Parse()
	if err := run(*addr, *workers, *dur, *resume, *path); err != nil {
		fmt.Fprintln(os.Stderr, "hsload:", err)
		os.Exit(1)
	}
}

// counts is what one worker saw.
type counts struct {
	handshakes, ok, errors, resumed int64
	firstErr                        error
}

func run(addr string, workers int, dur time.Duration, resume bool, path string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%s: only loopback addresses are allowed", addr)
	}
	if workers <= 0 || dur <= 0 {
		return errors.New("-c and -d must be positive")
	}
	req := []byte("GET " + path + " HTTP/1.1\r\nHost: bench.test\r\nUser-Agent: hsload\r\nConnection: close\r\n\r\n")
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	results := make([]counts, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range results {
		wg.Add(1)
		go func(c *counts) {
			defer wg.Done()
			work(ctx, addr, req, resume, c)
		}(&results[i])
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	var total counts
	for _, c := range results {
		total.handshakes += c.handshakes
		total.ok += c.ok
		total.errors += c.errors
		total.resumed += c.resumed
		if total.firstErr == nil {
			total.firstErr = c.firstErr
		}
	}
	if total.firstErr != nil {
		fmt.Fprintln(os.Stderr, "hsload: first error:", total.firstErr)
	}
	fmt.Printf("handshakes %d ok %d errors %d resumed %d seconds %.3f rate %.2f\n",
		total.handshakes, total.ok, total.errors, total.resumed, secs, float64(total.ok)/secs)
	if total.ok == 0 {
		return errors.New("no handshake succeeded")
	}
	return nil
}

// work makes one connection after another until ctx ends.
func work(ctx context.Context, addr string, req []byte, resume bool, c *counts) {
	cfg := &tls.Config{
		InsecureSkipVerify: true, // self-signed; the handshake signature is still verified
		MinVersion:         tls.VersionTLS13,
		CurvePreferences:   []tls.CurveID{tls.X25519},
		NextProtos:         []string{"http/1.1"},
		ServerName:         "bench.test",
	}
	if resume {
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
	}
	buf := make([]byte, 16<<10)
	d := net.Dialer{}
	end, _ := ctx.Deadline()
	for held := false; time.Now().Before(end); {
		didResume, err := once(ctx, &d, addr, cfg, req, buf)
		if err != nil && !time.Now().Before(end) {
			// Cut off by the end of the run. The clock, not ctx.Err, says
			// so: ctx's timer can fire late on a busy core, and a dial
			// made in between fails at once.
			return
		}
		c.handshakes++
		switch {
		case err != nil:
			c.errors++
			if c.firstErr == nil {
				c.firstErr = err
			}
		case resume && held && !didResume:
			c.errors++
			if c.firstErr == nil {
				c.firstErr = errors.New("the server did not resume a session it had given a ticket for")
			}
		default:
			c.ok++
		}
		if didResume {
			c.resumed++
		}
		held = resume && err == nil
	}
}

var status200 = []byte("HTTP/1.1 200 ")

// once makes one connection, one handshake and one request.
func once(ctx context.Context, d *net.Dialer, addr string, cfg *tls.Config, req, buf []byte) (resumed bool, err error) {
	deadline := time.Now().Add(5 * time.Second)
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	raw, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return false, err
	}
	defer raw.Close()
	if err := raw.SetDeadline(deadline); err != nil {
		return false, err
	}
	conn := tls.Client(raw, cfg)
	if err := conn.HandshakeContext(dctx); err != nil {
		return false, fmt.Errorf("handshake: %w", err)
	}
	resumed = conn.ConnectionState().DidResume
	if _, err := conn.Write(req); err != nil {
		return resumed, fmt.Errorf("write: %w", err)
	}
	// Read to the end: the answer, and with it any session ticket.
	n := 0
	for {
		m, err := conn.Read(buf[n:])
		n += m
		if err == io.EOF {
			break
		}
		if err != nil {
			return resumed, fmt.Errorf("read: %w", err)
		}
		if n == len(buf) {
			n = len(status200) // keep the status line only
		}
	}
	if !bytes.HasPrefix(buf[:n], status200) {
		return resumed, fmt.Errorf("answer %q is not a 200", buf[:min(n, 40)])
	}
	return resumed, nil
}
