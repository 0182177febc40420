package limit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestNilLimiterAdmitsEveryone(t *testing.T) {
	l := New(0)
	if l != nil {
		t.Fatalf("New(0) = %v, want nil", l)
	}
	for range 3 {
		if err := l.Acquire(context.Background(), time.Millisecond); err != nil {
			t.Fatalf("Acquire on nil limiter: %v", err)
		}
	}
	l.Release()
	if l.Max() != 0 || l.Active() != 0 || l.Queued() != 0 {
		t.Errorf("nil limiter reports Max %d Active %d Queued %d", l.Max(), l.Active(), l.Queued())
	}
}

func TestTimeout(t *testing.T) {
	l := New(1)
	if err := l.Acquire(context.Background(), time.Second); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := l.Acquire(context.Background(), 30*time.Millisecond)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("second Acquire = %v, want ErrTimeout", err)
	}
	if waited := time.Since(start); waited < 30*time.Millisecond {
		t.Errorf("gave up after %v, before the 30ms timeout", waited)
	}
	if l.Timeouts.Load() != 1 || l.Queued() != 0 || l.Active() != 1 {
		t.Errorf("Timeouts %d Queued %d Active %d; want 1 0 1", l.Timeouts.Load(), l.Queued(), l.Active())
	}
	l.Release()
	if l.Active() != 0 {
		t.Errorf("Active after release = %d", l.Active())
	}
}

func TestContextCancel(t *testing.T) {
	l := New(1)
	l.Acquire(context.Background(), time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	if err := l.Acquire(ctx, time.Minute); !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire = %v, want context.Canceled", err)
	}
}

// TestFIFO checks waiters are served in arrival order, and that a newcomer
// cannot overtake them.
func TestFIFO(t *testing.T) {
	l := New(1)
	l.Acquire(context.Background(), time.Second)
	const n = 5
	order := make(chan int, n+1)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.Acquire(context.Background(), 5*time.Second); err != nil {
				t.Error(err)
				return
			}
			order <- i
			l.Release()
		}()
		waitFor(t, func() bool { return l.Queued() == i+1 })
	}
	if l.TryAcquire() {
		t.Fatal("TryAcquire overtook the queue")
	}
	l.Release()
	wg.Wait()
	close(order)
	want := 0
	for got := range order {
		if got != want {
			t.Fatalf("served waiter %d, want %d", got, want)
		}
		want++
	}
	if l.Active() != 0 || l.Queued() != 0 {
		t.Errorf("Active %d Queued %d after all done", l.Active(), l.Queued())
	}
}

// TestNeverOverLimit hammers a limiter and checks it never admits more than
// its max and ends balanced.
func TestNeverOverLimit(t *testing.T) {
	const max = 3
	l := New(max)
	var in, peak atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				if err := l.Acquire(context.Background(), 10*time.Second); err != nil {
					t.Error(err)
					return
				}
				n := in.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				in.Add(-1)
				l.Release()
			}
		}()
	}
	wg.Wait()
	if peak.Load() > max {
		t.Errorf("peak holders %d > max %d", peak.Load(), max)
	}
	if l.Active() != 0 || l.Queued() != 0 {
		t.Errorf("Active %d Queued %d at the end", l.Active(), l.Queued())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

func BenchmarkAcquireRelease(b *testing.B) {
	l := New(1 << 20)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Acquire(ctx, time.Second)
			l.Release()
		}
	})
}
