// Command idleconns measures how much resident memory a proxy spends on idle
// keep-alive client connections. It reads the VmRSS of the process -pid,
// opens -n connections to -addr, sends one HTTP/1.1 request on each and
// reads the whole response, keeps every connection open and idle, waits
// -settle, reads VmRSS again and prints one tab-separated line:
//
//	connections	failed	rss_before_kb	rss_after_kb	fds_before	fds_after
//
// "connections" counts the connections that got a 200 and were still held
// when the second reading was taken. Every dial, write and read has a
// deadline and the whole run is bounded by -timeout. The connections are
// closed with a reset at the end so that no TIME_WAIT is left behind.
//
// It is a helper of bench/run.sh; only loopback addresses are accepted.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "proxy address (loopback only)")
	n := flag.Int("n", 10000, "idle connections to hold")
	pid := flag.Int("pid", 0, "process whose VmRSS is read (required)")
	path := flag.String("path", "/", "request path")
	workers := flag.Int("c", 64, "connections opened in parallel")
	settle := flag.Duration("settle", time.Second, "wait before the second RSS reading")
	timeout := flag.Duration("timeout", 90*time.Second, "bound on the whole run")
	flag.Parse()
	if err := run(*addr, *n, *pid, *path, *workers, *settle, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "idleconns:", err)
		os.Exit(1)
	}
}

func run(addr string, n, pid int, path string, workers int, settle, timeout time.Duration) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%s: only loopback addresses are allowed", addr)
	}
	if pid <= 0 || n <= 0 || workers <= 0 {
		return errors.New("-pid, -n and -c must be positive")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	before, err := vmRSS(pid)
	if err != nil {
		return err
	}
	fdsBefore, err := openFiles(pid)
	if err != nil {
		return err
	}
	req := []byte("GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: fulcrum-bench-idleconns\r\n\r\n")

	var (
		mu       sync.Mutex
		held     = make([]net.Conn, 0, n)
		failed   int
		firstErr error
	)
	defer func() {
		for _, c := range held {
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			c.Close()
		}
	}()
	jobs := make(chan struct{})
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				c, err := open(ctx, addr, req)
				mu.Lock()
				if err != nil {
					failed++
					if firstErr == nil {
						firstErr = err
					}
				} else {
					held = append(held, c)
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		jobs <- struct{}{}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		fmt.Fprintf(os.Stderr, "idleconns: %d of %d connections failed; first error: %v\n", failed, n, firstErr)
	}
	if len(held) == 0 {
		return errors.New("no connection could be held")
	}

	select {
	case <-time.After(settle):
	case <-ctx.Done():
		return ctx.Err()
	}
	after, err := vmRSS(pid)
	if err != nil {
		return err
	}
	fdsAfter, err := openFiles(pid)
	if err != nil {
		return err
	}
	// Count only the connections the proxy has not closed meanwhile.
	alive := 0
	for _, c := range held {
		if idle(c) {
			alive++
		}
	}
	failed += len(held) - alive
	fmt.Printf("%d\t%d\t%d\t%d\t%d\t%d\n", alive, failed, before, after, fdsBefore, fdsAfter)
	return nil
}

// open dials addr, sends req and reads one complete 200 response.
func open(ctx context.Context, addr string, req []byte) (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(req); err != nil {
		c.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(c, 4096), nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %s", resp.Status)
	}
	if err == nil && resp.Close {
		err = errors.New("the proxy closed the connection after the response")
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

// idle reports whether c is still open with nothing to read: a
// non-blocking peek finds no data and no end of stream.
func idle(c net.Conn) bool {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return false
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return false
	}
	var (
		buf  [1]byte
		rerr error
	)
	if err := rc.Read(func(fd uintptr) bool {
		_, _, rerr = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true
	}); err != nil {
		return false
	}
	return errors.Is(rerr, syscall.EAGAIN)
}

// openFiles returns how many file descriptors pid has open.
func openFiles(pid int) (int, error) {
	des, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	return len(des), err
}

// vmRSS returns the resident set size of pid in KiB.
func vmRSS(pid int) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(b) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := bytes.Fields(rest)
			if len(f) == 0 {
				break
			}
			return strconv.Atoi(string(f[0]))
		}
	}
	return 0, fmt.Errorf("pid %d: no VmRSS in /proc/%d/status", pid, pid)
}
