package tlsconf

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultTicketRotation is how often session ticket keys change when
// ServerSpec.TicketRotation is 0.
const DefaultTicketRotation = time.Hour

// ServerSpec is what a frontend's TLS termination is built from: its
// certificates and its handshake settings. File names should be absolute.
type ServerSpec struct {
	// Name names the frontend in log lines.
	Name string
	// Certs are certificates with their keys, in order. The first
	// certificate of Certs, else of CertDir, is the default: the one
	// served to a client that sends no server name (SNI), or one no
	// certificate is for.
	Certs []CertFiles
	// CertDir is a directory whose *.pem files (not hidden, not in
	// subdirectories) each hold a certificate chain and its private key,
	// in any order. They come after Certs, in lexical order of file name.
	CertDir string
	// CA is a PEM bundle of the CAs that sign client certificates; "" asks
	// no client certificate.
	CA string
	// Verify is VerifyRequire (the default when CA is set),
	// VerifyOptional or VerifyNone. Without CA it must be "" or none.
	Verify string
	// Versions are the allowed TLS versions (names of Versions), a range
	// without gaps; TLS 1.2 and 1.3 when empty.
	Versions []string
	// Ciphers are the TLS 1.0–1.2 cipher suites, in preference order (see
	// CipherSuiteID); Go's secure defaults when empty. TLS 1.3 suites are
	// not configurable in Go.
	Ciphers []string
	// Curves are the key exchange groups, in preference order (see
	// CurveNames); Go's defaults (X25519MLKEM768, X25519, P-256 ...) when
	// empty.
	Curves []string
	// ALPN are the application protocols offered, in preference order,
	// e.g. h2, http/1.1. A client offering protocols none of which is here
	// is refused at the handshake; a client offering none is served.
	ALPN []string
	// NoSessionTickets turns session resumption off.
	NoSessionTickets bool
	// TicketRotation is how often the session ticket key changes (0:
	// DefaultTicketRotation). The previous key still decrypts tickets for
	// one more period, so a ticket resumes for at least one period and at
	// most two.
	TicketRotation time.Duration
}

// Server is a frontend's TLS termination. Its Config serves the current
// certificates, which Reload and Watch replace without a listener
// restart: a handshake reads them through one atomic pointer, and
// connections established before a reload keep going untouched.
//
// A Server is safe for concurrent use. Close stops its ticket key rotation.
type Server struct {
	spec ServerSpec
	log  *slog.Logger
	// static holds the settings that do not come from files; each
	// generation's config starts as a copy of it.
	static tls.Config
	base   *tls.Config
	cur    atomic.Pointer[generation]

	mu   sync.Mutex // serialises Reload and key rotation
	keys [][32]byte // session ticket keys, newest first; under mu

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// generation is one loaded set of files.
type generation struct {
	certs  *certSet
	cfg    *tls.Config
	stamps map[string]fileStamp
}

// NewServer checks spec, reads its files and, unless session tickets are
// off, starts the goroutine that rotates ticket keys (Close stops it). An
// error names the file or setting at fault. log receives one line per load
// and reload; nil discards them.
func NewServer(spec ServerSpec, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{spec: cloneSpec(spec), log: log}
	if err := s.settings(); err != nil {
		return nil, err
	}
	if err := s.load(); err != nil {
		return nil, err
	}
	s.base = s.static.Clone()
	s.base.GetConfigForClient = s.configForClient
	s.base.GetCertificate = func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		return s.cur.Load().certs.getCertificate(h)
	}
	if !spec.NoSessionTickets {
		if err := s.rotate(); err != nil {
			return nil, err
		}
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.rotateEvery(s.rotation())
	}
	return s, nil
}

func cloneSpec(spec ServerSpec) ServerSpec {
	spec.Certs = append([]CertFiles(nil), spec.Certs...)
	spec.Versions = append([]string(nil), spec.Versions...)
	spec.Ciphers = append([]string(nil), spec.Ciphers...)
	spec.Curves = append([]string(nil), spec.Curves...)
	spec.ALPN = append([]string(nil), spec.ALPN...)
	return spec
}

// settings translates the spec's names into s.static.
func (s *Server) settings() error {
	sp := &s.spec
	c := &s.static
	var err error
	if c.MinVersion, c.MaxVersion, err = VersionRange(sp.Versions); err != nil {
		return err
	}
	for _, name := range sp.Ciphers {
		id, err := CipherSuiteID(name)
		if err != nil {
			return err
		}
		c.CipherSuites = append(c.CipherSuites, id)
	}
	for _, name := range sp.Curves {
		id, ok := CurveID(name)
		if !ok {
			return fmt.Errorf("unknown curve %q; expected one of %s", name, strings.Join(CurveNames(), ", "))
		}
		c.CurvePreferences = append(c.CurvePreferences, id)
	}
	if c.ClientAuth, err = clientAuth(sp.Verify, sp.CA); err != nil {
		return err
	}
	c.NextProtos = sp.ALPN
	c.SessionTicketsDisabled = sp.NoSessionTickets
	if len(sp.Certs) == 0 && sp.CertDir == "" {
		return fmt.Errorf("no certificate: set a cert and key, or a certificate directory")
	}
	return nil
}

// Config returns the configuration to terminate TLS with, e.g. with
// tls.NewListener or tls.Server. It is the same *tls.Config for the
// Server's whole life and must not be modified: its GetConfigForClient
// hands each handshake the current certificates and CA, and it holds the
// session ticket keys.
func (s *Server) Config() *tls.Config { return s.base }

func (s *Server) configForClient(*tls.ClientHelloInfo) (*tls.Config, error) {
	return s.cur.Load().cfg, nil
}

// Reload reads every certificate, key and CA file again and, when all of
// them load, serves them to the next handshakes. On any error it keeps
// serving the files it had and returns an error naming the file. It logs
// the outcome in one line (the certificates' names and expiry, or the
// error), so callers need not log it again. The daemon calls it on SIGHUP.
func (s *Server) Reload() error {
	if err := s.load(); err != nil {
		s.log.Error("tls reload failed; keeping the previous certificates", "frontend", s.spec.Name, "err", err)
		return err
	}
	return nil
}

// load builds a generation from the files and publishes it.
func (s *Server) load() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := stamps(&s.spec) // before reading: a change while reading shows next time
	certs, err := loadCerts(&s.spec)
	if err != nil {
		return err
	}
	cfg := s.static.Clone()
	cfg.GetCertificate = certs.getCertificate
	if s.spec.CA != "" {
		var pool *x509.CertPool
		if pool, err = loadCA(s.spec.CA); err != nil {
			return err
		}
		cfg.ClientCAs = pool
	}
	s.cur.Store(&generation{certs: certs, cfg: cfg, stamps: st})
	all, bad := certs.describe(time.Now())
	level := slog.LevelInfo
	attrs := []any{"frontend", s.spec.Name, "count", len(all), "certificates", strings.Join(all, "; ")}
	if len(bad) > 0 {
		level = slog.LevelWarn
		attrs = append(attrs, "expired_or_not_yet_valid", strings.Join(bad, "; "))
	}
	s.log.Log(context.Background(), level, "tls certificates loaded", attrs...)
	return nil
}

// Watch polls the size and modification time of every file the Server
// reads (and the listing of its certificate directory) every interval,
// and reloads when one changed. A failed reload is not retried until the
// files change again. Watch returns when ctx is done; run it in a
// goroutine owned by the caller.
func (s *Server) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var failed map[string]fileStamp
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := stamps(&s.spec)
		if sameStamps(now, s.cur.Load().stamps) || (failed != nil && sameStamps(now, failed)) {
			continue
		}
		failed = nil
		if err := s.Reload(); err != nil {
			failed = now
		}
	}
}

// rotation returns the ticket key period.
func (s *Server) rotation() time.Duration {
	if s.spec.TicketRotation > 0 {
		return s.spec.TicketRotation
	}
	return DefaultTicketRotation
}

// rotate makes a new session ticket key the one that encrypts, and keeps
// the previous one to decrypt tickets it encrypted.
func (s *Server) rotate() error {
	var k [32]byte
	if _, err := rand.Read(k[:]); err != nil {
		return fmt.Errorf("making a session ticket key: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := [][32]byte{k}
	if len(s.keys) > 0 {
		keys = append(keys, s.keys[0])
	}
	s.keys = keys
	s.base.SetSessionTicketKeys(keys)
	return nil
}

// rotateEvery rotates the ticket keys every period until Close.
func (s *Server) rotateEvery(period time.Duration) {
	defer close(s.done)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if err := s.rotate(); err != nil {
				s.log.Error("tls ticket key rotation failed", "frontend", s.spec.Name, "err", err)
			}
		}
	}
}

// Close stops the ticket key rotation and waits for it. It does not touch
// listeners or connections. Close may be called more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		if s.stop != nil {
			close(s.stop)
			<-s.done
		}
	})
}
