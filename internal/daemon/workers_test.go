package daemon

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestWorkersBoundedAndStopped: the goroutines that serve connections stay
// for the next ones, but at most maxIdleWorkers of them once a burst is
// over, and none after shutdown.
func TestWorkersBoundedAndStopped(t *testing.T) {
	const burst = maxIdleWorkers + 60
	release := make(chan struct{})
	srv := startHTTP(t, "s", func(w http.ResponseWriter, r *http.Request) {
		<-release                             // every connection is in flight at once
		w.Header().Set("Connection", "close") // no idle server connections left
		io.WriteString(w, "ok")
	})
	base := runtime.NumGoroutine()
	d, _ := start(t, httpYAML("", serversYAML("app", "roundrobin", srv)))
	addr := frontAddr(t, d, "web")

	var wg sync.WaitGroup
	errs := make(chan error, burst)
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := dialSend(t, addr, fmt.Sprintf("GET /%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", i))
			b, err := io.ReadAll(c)
			if err != nil || len(b) == 0 {
				errs <- fmt.Errorf("connection %d: %q, %v", i, b, err)
			}
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for srv.requests.Load() < burst {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d requests reached the server", srv.requests.Load(), burst)
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// The daemon's own goroutines (accept loop, poller, health, reaper) are
	// a handful; the idle workers are at most maxIdleWorkers.
	waitGoroutines(t, base+maxIdleWorkers+10, "after the burst")
	if n := d.idleWorkers.Load(); n < 1 || n > maxIdleWorkers {
		t.Errorf("%d idle workers, want 1 to %d", n, maxIdleWorkers)
	}
	d.Shutdown(time.Second)
	waitGoroutines(t, base+2, "after shutdown")
}
