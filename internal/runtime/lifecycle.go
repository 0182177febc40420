package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/persist"
	"github.com/fulcrum-lb/fulcrum/internal/resolve"
)

// lifecycle is what a snapshot runs in the background beside its checkers.
type lifecycle struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Start starts the snapshot's background work other than health checks
// (which start as they are built): periodic re-resolution of server names
// every interval. Close stops it.
func (s *Snapshot) Start(sh *Shared, interval time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	s.life = &lifecycle{cancel: cancel}
	s.sweepSticks(ctx)
	s.watchCertificates(ctx, 5*time.Second)
	if len(s.resolve) == 0 || interval <= 0 {
		return
	}
	lookup := sh.Lookup
	if lookup == nil {
		lookup = resolve.System
	}
	s.life.wg.Add(1)
	go func() {
		defer s.life.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s.Resolve(ctx, lookup, sh.Logger)
			}
		}
	}()
}

// Resolve looks every server host name up once and applies changed
// addresses. A failed lookup keeps the last known address.
func (s *Snapshot) Resolve(ctx context.Context, lookup resolve.Func, log *slog.Logger) {
	for _, t := range s.resolve {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		addr, err := resolve.HostPort(rctx, lookup, t.server.Addr)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("cannot resolve server address", "backend", t.pool.Name(), "server", t.server.Name(), "addr", t.server.Addr, "err", err)
			}
			continue
		}
		t.pool.SetAddr(t.server, addr)
	}
}

// Close stops the snapshot's checkers, resolver and pools. Connections that
// hold servers of this snapshot may go on; they release into closed pools.
func (s *Snapshot) Close() {
	if s.life != nil {
		s.life.cancel()
		s.life.wg.Wait()
	}
	s.health.Stop()
	for _, be := range s.Backends {
		be.Pool.Close()
	}
	for _, fe := range s.Frontends {
		if fe.TLS != nil {
			fe.TLS.Close()
		}
	}
}

// ReloadCertificates re-reads every frontend's certificates and keys (on
// SIGHUP). A frontend whose files fail to load keeps its certificates; the
// errors are returned together.
func (s *Snapshot) ReloadCertificates() error {
	var errs []error
	for _, fe := range s.Frontends {
		if fe.TLS != nil {
			if err := fe.TLS.Reload(); err != nil {
				errs = append(errs, fmt.Errorf("frontend %s: %w", fe.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// watchCertificates reloads a frontend's certificates when their files
// change, checking every interval.
func (s *Snapshot) watchCertificates(ctx context.Context, interval time.Duration) {
	for _, fe := range s.Frontends {
		if fe.TLS == nil {
			continue
		}
		s.life.wg.Add(1)
		go func() {
			defer s.life.wg.Done()
			fe.TLS.Watch(ctx, interval)
		}()
	}
}

// sweepSticks removes expired stick table entries every ten seconds (lookups
// never return them anyway; this only gives their memory back).
func (s *Snapshot) sweepSticks(ctx context.Context) {
	var tables []*persist.StickTable
	for _, be := range s.Backends {
		if be.Persist != nil && be.Persist.Stick != nil {
			tables = append(tables, be.Persist.Stick)
		}
	}
	if len(tables) == 0 {
		return
	}
	s.life.wg.Add(1)
	go func() {
		defer s.life.wg.Done()
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				for _, st := range tables {
					st.Sweep(now)
				}
			}
		}
	}()
}
