package runtime

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/backend"
	"github.com/fulcrum-lb/fulcrum/internal/balance"
	"github.com/fulcrum-lb/fulcrum/internal/config"
	"github.com/fulcrum-lb/fulcrum/internal/health"
	"github.com/fulcrum-lb/fulcrum/internal/limit"
	"github.com/fulcrum-lb/fulcrum/internal/persist"
	"github.com/fulcrum-lb/fulcrum/internal/resolve"
	"github.com/fulcrum-lb/fulcrum/internal/rules"
	"github.com/fulcrum-lb/fulcrum/internal/tlsconf"
)

// Shared is the state that outlives snapshots: server state by ID and
// frontend counters by name. Owned by whoever builds snapshots; safe for
// concurrent use.
type Shared struct {
	Servers *backend.Registry
	Logger  *slog.Logger
	// Lookup resolves server host names; nil means resolve.System.
	Lookup resolve.Func

	mu        sync.Mutex
	frontends map[string]*FrontendCounters
	secret    []byte                         // random cookie key, when the config sets none
	sticks    map[string]*persist.StickTable // by backend name, kept across snapshots
}

// stickTable returns the stick table of backend name, creating it with ttl
// and max when it is new or its size changed.
func (sh *Shared) stickTable(name string, ttl time.Duration, max int) *persist.StickTable {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.sticks == nil {
		sh.sticks = make(map[string]*persist.StickTable)
	}
	t := sh.sticks[name]
	if t == nil || t.TTL() != ttl || t.Max() != max {
		t = persist.NewStickTable(ttl, max)
		sh.sticks[name] = t
	}
	return t
}

// cookieSecret returns the configured secret, or one random key per Shared.
func (sh *Shared) cookieSecret(cfg *config.Config) []byte {
	if cfg.Global.CookieSecret != "" {
		return []byte(cfg.Global.CookieSecret)
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.secret == nil {
		sh.secret = persist.RandomSecret()
	}
	return sh.secret
}

// NewShared returns empty shared state logging to logger.
func NewShared(logger *slog.Logger) *Shared {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Shared{Servers: backend.NewRegistry(), Logger: logger, Lookup: resolve.System, frontends: make(map[string]*FrontendCounters)}
}

func (sh *Shared) frontendCounters(name string) *FrontendCounters {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	c := sh.frontends[name]
	if c == nil {
		c = new(FrontendCounters)
		sh.frontends[name] = c
	}
	return c
}

// resolveTarget is a server given by host name.
type resolveTarget struct {
	pool   *backend.Pool
	server *backend.Server
}

// Build builds a snapshot of cfg, taking server state from sh. It resolves
// server names once (a name that does not resolve leaves its server out of
// the eligible set, logged, until a later resolution succeeds). Nothing runs
// until Start.
func Build(ctx context.Context, cfg *config.Config, sh *Shared) (*Snapshot, error) {
	snap := &Snapshot{
		Config:    cfg,
		Global:    limit.New(cfg.Global.MaxConn),
		Backends:  make(map[string]*Backend, len(cfg.Backends)),
		frontends: make(map[string]*Frontend, len(cfg.Frontends)),
		health:    health.NewGroup(sh.Logger),
	}
	for i := range cfg.Backends {
		be, err := buildBackend(ctx, cfg, &cfg.Backends[i], sh, snap)
		if err != nil {
			snap.Close()
			return nil, err
		}
		snap.Backends[be.Name] = be
	}
	for i := range cfg.Frontends {
		fc := &cfg.Frontends[i]
		fe := &Frontend{
			Name: fc.Name, Mode: fc.Mode, Limiter: limit.New(fc.MaxConn),
			Backend:        snap.Backends[fc.UseBackend],
			TimeoutConnect: fc.TimeoutConnect.D(), TimeoutClient: fc.TimeoutClient.D(),
			TimeoutServer: fc.TimeoutServer.D(), TimeoutQueue: fc.TimeoutQueue.D(),
			Retries: fc.Retries, Counters: sh.frontendCounters(fc.Name),
		}
		for _, b := range fc.Bind {
			fe.Binds = append(fe.Binds, b.AddrPort)
		}
		fe.AcceptProxy = fc.AcceptProxy
		if fc.SSL != nil {
			srv, err := tlsconf.NewServer(serverSpec(fc), sh.Logger)
			if err != nil {
				snap.Close()
				return nil, fmt.Errorf("frontend %s: ssl: %w", fc.Name, err)
			}
			fe.TLS = srv
			fe.PlainHTTP = fc.SSL.PlainHTTP == config.PlainHTTPAuto
		}
		if len(fc.SNIRoutes) > 0 {
			routes := make(map[string]*Backend)
			for _, r := range fc.SNIRoutes {
				for _, name := range r.SNI {
					routes[name] = snap.Backends[r.UseBackend]
				}
			}
			fe.SNIRoutes = tlsconf.NewNameMatcher(routes)
		}
		if fc.Mode == config.ModeHTTP {
			fe.Backends = snap.Backends
			fe.HTTP = HTTPSettings{RequestID: fc.RequestID, Forwarded: fc.Forwarded, ServerHeader: fc.ServerHeader, H2C: fc.H2C,
				ClientCertHeaders: fc.ForwardClientCert}
			if fc.ServerHeader == "hide" {
				fe.HTTP.ServerHeader = "-"
			}
			if len(fc.ErrorPages) > 0 {
				pages, err := loadErrorPages(fc.ErrorPages)
				if err != nil {
					snap.Close()
					return nil, fmt.Errorf("frontend %s: error_pages: %w", fc.Name, err)
				}
				fe.HTTP.ErrorPages = pages
			}
			if len(fc.HTTPCondition) > 0 {
				prog, err := compileRules(fc.HTTPCondition)
				if err != nil {
					snap.Close()
					return nil, fmt.Errorf("frontend %s: %w", fc.Name, err)
				}
				fe.Rules = prog
			}
		}
		snap.Frontends = append(snap.Frontends, fe)
		snap.frontends[fe.Name] = fe
	}
	return snap, nil
}

func buildBackend(ctx context.Context, cfg *config.Config, bc *config.Backend, sh *Shared, snap *Snapshot) (*Backend, error) {
	builder, err := balance.New(balance.Algorithm(bc.Balance.Algorithm), balance.Options{
		SourcePrefix4: bc.Balance.IPv4Prefix, SourcePrefix6: bc.Balance.IPv6Prefix,
	})
	if err != nil {
		return nil, fmt.Errorf("backend %s: %w", bc.Name, err)
	}
	var names []int
	specs := make([]backend.ServerSpec, len(bc.Servers))
	for i, sc := range bc.Servers {
		specs[i] = backend.ServerSpec{Name: sc.Name, Addr: sc.AddrPort, Weight: sc.Weight, MaxConn: sc.MaxConn, Backup: sc.Backup, Disabled: sc.Disabled}
		if lit, ok := resolve.Literal(sc.AddrPort); ok {
			specs[i].Resolved = lit
		} else {
			names = append(names, i)
		}
	}
	lookup := sh.Lookup
	if lookup == nil {
		lookup = resolve.System
	}
	for _, i := range names {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		addr, err := resolve.HostPort(rctx, lookup, specs[i].Addr)
		cancel()
		if err != nil {
			sh.Logger.Warn("cannot resolve server address", "backend", bc.Name, "server", specs[i].Name, "addr", specs[i].Addr, "err", err)
			continue
		}
		specs[i].Resolved = addr
	}
	pool := backend.NewPool(backend.Options{
		Name: bc.Name, Builder: builder,
		InitialUp:   bc.Health == nil || bc.Health.Initial != "down",
		PassiveFall: bc.Passive.Fall, PassiveHold: bc.Passive.Hold.D(),
		Checked: bc.Health != nil, Logger: sh.Logger,
	}, specs, sh.Servers)
	for _, i := range names {
		snap.resolve = append(snap.resolve, resolveTarget{pool: pool, server: pool.Servers()[i]})
	}
	var baseTLS *tls.Config
	var serverTLS []*tls.Config
	if bs := bc.SSL; bs != nil {
		base, err := tlsconf.NewClient(tlsconf.ClientSpec{Verify: bs.Verify, SNI: bs.SNI, Cert: bs.Cert, Key: bs.Key, ALPN: bs.ALPN})
		if err != nil {
			pool.Close()
			return nil, fmt.Errorf("backend %s: ssl: %w", bc.Name, err)
		}
		baseTLS = base
		for _, s := range pool.Servers() {
			host, _, _ := net.SplitHostPort(s.Addr)
			serverTLS = append(serverTLS, tlsconf.ForServer(base, host))
		}
	}
	if h := bc.Health; h != nil {
		spec, err := healthSpec(h)
		if err != nil {
			pool.Close()
			return nil, fmt.Errorf("backend %s: health: %w", bc.Name, err)
		}
		if serverTLS != nil {
			// Checks go over TLS, as the traffic does.
			spec.TLS = func(s *backend.Server) *tls.Config { return serverTLS[s.Index()] }
		}
		snap.health.Add(pool, spec)
	}
	if a := bc.Agent; a != nil {
		snap.health.AddAgent(pool, health.AgentSpec{Port: a.Port, Interval: a.Interval.D(), Timeout: a.Timeout.D(), Send: a.Send})
	}
	be := &Backend{
		Name: bc.Name, Pool: pool,
		TimeoutConnect: bc.TimeoutConnect.D(), TimeoutServer: bc.TimeoutServer.D(),
		TimeoutQueue: bc.TimeoutQueue.D(), Retries: bc.Retries, Key: bc.Balance.Key,
		MaxIdle: bc.Pool.MaxIdle, IdleTimeout: bc.Pool.IdleTimeout.D(), Proto: bc.Proto,
		RetryOn: retryOn(bc.RetryOn),
	}
	if pc := bc.Persist; pc != nil {
		be.Persist = buildPersistence(cfg, bc, pc, pool, sh)
	}
	be.SendProxy = bc.SendProxy
	be.TLS, be.ServerTLS = baseTLS, serverTLS
	return be, nil
}

// serverSpec maps a frontend's ssl block to a TLS server specification.
func serverSpec(fc *config.Frontend) tlsconf.ServerSpec {
	s := fc.SSL
	spec := tlsconf.ServerSpec{
		Name: fc.Name, CertDir: s.CertDir, CA: s.CA, Verify: s.Verify, Versions: s.Versions,
		Ciphers: s.Ciphers, Curves: s.Curves, ALPN: s.ALPN,
		NoSessionTickets: !s.SessionTickets, TicketRotation: s.TicketRotation.D(),
	}
	if s.Cert != "" {
		spec.Certs = append(spec.Certs, tlsconf.CertFiles{Cert: s.Cert, Key: s.Key})
	}
	for _, c := range s.Certs {
		spec.Certs = append(spec.Certs, tlsconf.CertFiles{Cert: c.Cert, Key: c.Key})
	}
	return spec
}

// buildPersistence prepares a backend's persistence over pool's servers.
func buildPersistence(cfg *config.Config, bc *config.Backend, pc *config.Persist, pool *backend.Pool, sh *Shared) *Persistence {
	p := &Persistence{Kind: pc.Type, Header: pc.Header, IPv4Prefix: pc.IPv4Prefix, IPv6Prefix: pc.IPv6Prefix,
		ByKey: make(map[uint64]int, len(bc.Servers))}
	names := make([]string, len(pool.Servers()))
	for i, s := range pool.Servers() {
		names[i] = s.Name()
		p.ByKey[s.ID.Key()] = i
	}
	switch pc.Type {
	case config.PersistCookie:
		c := pc.Cookie
		p.Cookie = persist.CookieSpec{Name: c.Name, Secure: c.Secure, HTTPOnly: c.HTTPOnly, SameSite: c.SameSite,
			MaxAge: c.MaxAge.D(), Path: c.Path, Domain: c.Domain}
		p.Cookies = persist.NewCodec(sh.cookieSecret(cfg)).Table(bc.Name, names)
	default:
		p.Stick = sh.stickTable(bc.Name, pc.Expire.D(), pc.MaxEntries)
	}
	return p
}

// retryOn turns retry_on's words into a set.
func retryOn(words []string) RetryOn {
	var r RetryOn
	for _, w := range words {
		switch w {
		case config.RetryOnEmptyResponse:
			r |= RetryEmptyResponse
		case config.RetryOnResponseTimeout:
			r |= RetryResponseTimeout
		case "500":
			r |= Retry500
		case "502":
			r |= Retry502
		case "503":
			r |= Retry503
		case "504":
			r |= Retry504
		}
	}
	return r
}

// loadErrorPages reads custom error pages; the type follows the extension.
func loadErrorPages(files map[int]string) (map[int]ErrorPage, error) {
	pages := make(map[int]ErrorPage, len(files))
	for code, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		if len(body) > 1<<20 {
			return nil, fmt.Errorf("%s: larger than 1 MiB", file)
		}
		ctype := mime.TypeByExtension(filepath.Ext(file))
		if ctype == "" {
			ctype = "text/html; charset=utf-8"
		}
		pages[code] = ErrorPage{ContentType: ctype, Body: body}
	}
	return pages, nil
}

// compileRules compiles a frontend's http_condition entries.
func compileRules(rs []config.HTTPRule) (*rules.Program, error) {
	specs := make([]rules.Spec, len(rs))
	for i, r := range rs {
		sp := rules.Spec{
			When: r.When, Redirect: r.Redirect, Code: r.Code, PathPrefix: r.PathPrefix,
			SetHeader: r.SetHeader, DelHeader: r.DelHeader,
			SetResponseHeader: r.SetResponseHeader, DelResponseHeader: r.DelResponseHeader,
		}
		for _, wb := range r.UseBackend {
			sp.UseBackend = append(sp.UseBackend, rules.WeightedBackend{Name: wb.Name, Weight: wb.Weight})
		}
		if r.Deny != nil {
			sp.Deny = &rules.Deny{Status: r.Deny.Status, Body: r.Deny.Body}
		}
		specs[i] = sp
	}
	return rules.Compile(specs)
}

func healthSpec(h *config.Health) (health.Spec, error) {
	var checker health.Checker = health.TCP{}
	if h.Type == "http" {
		o := health.HTTPOptions{Method: h.Method, Path: h.Path, Host: h.Host, Body: h.ExpectBody}
		for _, r := range h.Expect {
			o.Expect = append(o.Expect, health.StatusRange{Lo: r.Lo, Hi: r.Hi})
		}
		hc, err := health.NewHTTP(o)
		if err != nil {
			return health.Spec{}, err
		}
		checker = hc
	}
	return health.Spec{
		Checker: checker, Interval: h.Interval.D(), FastInterval: h.FastInterval.D(),
		DownInterval: h.DownInterval.D(), Timeout: h.Timeout.D(), Rise: h.Rise, Fall: h.Fall, Port: h.Port,
	}, nil
}
