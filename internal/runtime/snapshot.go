package runtime

import (
	"crypto/tls"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/backend"
	"github.com/fulcrum-lb/fulcrum/internal/config"
	"github.com/fulcrum-lb/fulcrum/internal/health"
	"github.com/fulcrum-lb/fulcrum/internal/limit"
	"github.com/fulcrum-lb/fulcrum/internal/persist"
	"github.com/fulcrum-lb/fulcrum/internal/rules"
	"github.com/fulcrum-lb/fulcrum/internal/tlsconf"
)

// Snapshot is one immutable runtime view of a configuration.
type Snapshot struct {
	Config    *config.Config
	Global    *limit.Limiter
	Frontends []*Frontend
	Backends  map[string]*Backend

	frontends map[string]*Frontend
	health    *health.Group
	resolve   []resolveTarget
	life      *lifecycle
}

// Frontend returns the frontend called name, or nil.
func (s *Snapshot) Frontend(name string) *Frontend { return s.frontends[name] }

// Frontend is one frontend of a snapshot.
type Frontend struct {
	Name    string
	Mode    config.Mode
	Binds   []string
	Limiter *limit.Limiter
	Backend *Backend

	TimeoutConnect time.Duration
	TimeoutClient  time.Duration
	TimeoutServer  time.Duration
	TimeoutQueue   time.Duration
	Retries        int

	// TLS terminates TLS on this frontend's connections, or is nil.
	TLS *tlsconf.Server
	// PlainHTTP serves a connection that does not start with a TLS
	// handshake as plain HTTP on a TLS frontend (Noxy's one ssl block
	// over :80 and :443); otherwise such a connection is closed.
	PlainHTTP bool
	// SNIRoutes choose a tcp frontend's backend by the TLS server name,
	// or are nil.
	SNIRoutes *tlsconf.NameMatcher[*Backend]
	// AcceptProxy are the sources whose connections start with a PROXY
	// protocol header.
	AcceptProxy []netip.Prefix
	// Rules are the compiled http_condition rules (http mode), or nil.
	Rules *rules.Program
	// HTTP holds http-mode settings.
	HTTP HTTPSettings
	// Backends are every backend of the snapshot, by name, for rules that
	// switch backend.
	Backends map[string]*Backend

	// Counters are shared with the frontend of the same name in every
	// snapshot.
	Counters *FrontendCounters
}

// HTTPSettings are a frontend's http-mode settings.
type HTTPSettings struct {
	// RequestID is the request ID header's name ("" for none): taken from
	// the request when present, generated otherwise, forwarded and logged.
	RequestID string
	// Forwarded adds an RFC 7239 Forwarded header.
	Forwarded bool
	// ServerHeader, when set, replaces the servers' Server header; "-"
	// removes it.
	ServerHeader string
	// H2C accepts HTTP/2 with prior knowledge (cleartext) beside HTTP/1.1.
	H2C bool
	// ClientCertHeaders forwards the TLS client certificate's verification,
	// subject CN and fingerprint in X-SSL-Client-* headers (and drops
	// headers of those names that a client sent).
	ClientCertHeaders bool
	// ErrorPages replace the bodies of errors fulcrum answers, by status.
	ErrorPages map[int]ErrorPage
}

// ErrorPage is a custom body for an error status.
type ErrorPage struct {
	ContentType string
	Body        []byte
}

// RetryOn is a set of conditions under which a replayable request is sent
// again to another server (a failed connect always is).
type RetryOn uint8

// The retry conditions.
const (
	RetryEmptyResponse   RetryOn = 1 << iota // closed or reset before a response
	RetryResponseTimeout                     // no response within timeout_server
	Retry500
	Retry502
	Retry503
	Retry504
)

// Status reports whether code is one of the statuses in r.
func (r RetryOn) Status(code int) bool {
	switch code {
	case 500:
		return r&Retry500 != 0
	case 502:
		return r&Retry502 != 0
	case 503:
		return r&Retry503 != 0
	case 504:
		return r&Retry504 != 0
	}
	return false
}

// FrontendCounters are a frontend's cumulative counts.
type FrontendCounters struct {
	Conns        atomic.Uint64 // accepted connections
	Requests     atomic.Uint64 // HTTP requests
	Errors       atomic.Uint64 // HTTP errors fulcrum answered itself (5xx)
	Active       atomic.Int64  // connections open now
	LimitTimeout atomic.Uint64 // closed after waiting timeout_queue for maxconn
	NoServer     atomic.Uint64 // closed because no server was available
	QueueTimeout atomic.Uint64 // closed after waiting timeout_queue for a server slot
	ConnectFail  atomic.Uint64 // closed after every connect attempt failed
	TLSFail      atomic.Uint64 // TLS handshakes that failed
	ProxyFail    atomic.Uint64 // bad PROXY protocol headers from trusted sources
	BytesIn      atomic.Uint64 // client to server
	BytesOut     atomic.Uint64 // server to client
}

// Backend is one backend of a snapshot.
type Backend struct {
	Name string
	Pool *backend.Pool

	// Overrides of the frontend's values; zero means "the frontend's".
	TimeoutConnect time.Duration
	TimeoutServer  time.Duration
	TimeoutQueue   time.Duration
	Retries        *int
	// Key is the request attribute hashing algorithms hash: "src", "uri",
	// "header:NAME" or "cookie:NAME".
	Key string
	// TLS, when not nil, is the client TLS configuration for connections
	// to the servers (before ForServer); ServerTLS holds it per server,
	// by Server.Index().
	TLS       *tls.Config
	ServerTLS []*tls.Config
	// SendProxy is "v1" or "v2" to send a PROXY protocol header to the
	// servers, "" for none.
	SendProxy string
	// Persist is the backend's session persistence, or nil.
	Persist *Persistence
	// RetryOn says when a replayable request is retried elsewhere.
	RetryOn RetryOn
	// Proto is how http mode talks to the servers: "" (HTTP/1.1) or "h2c"
	// (HTTP/2 without TLS, e.g. for gRPC).
	Proto string
	// MaxIdle and IdleTimeout bound the idle keep-alive connections kept
	// to each server (http mode).
	MaxIdle     int
	IdleTimeout time.Duration
}

// Persistence is how a backend keeps a client on one server: a cookie
// fulcrum inserts, or a stick table keyed by a request header or the
// client's address. Server indices refer to Pool.Servers().
type Persistence struct {
	Kind string // config.PersistCookie, PersistHeader or PersistSource
	// Cookie mode.
	Cookie  persist.CookieSpec
	Cookies *persist.Table
	// Header and source modes.
	Header                 string
	Stick                  *persist.StickTable
	IPv4Prefix, IPv6Prefix int
	// ByKey finds a server's index from its ID.Key().
	ByKey map[uint64]int
}

// Timeouts are the effective values for one frontend–backend pair.
type Timeouts struct {
	Connect, Client, Server, Queue time.Duration
	Retries                        int
}

// Effective returns the values that apply to a connection of fe sent to be:
// the backend's own, else the frontend's.
func Effective(fe *Frontend, be *Backend) Timeouts {
	t := Timeouts{Connect: fe.TimeoutConnect, Client: fe.TimeoutClient, Server: fe.TimeoutServer, Queue: fe.TimeoutQueue, Retries: fe.Retries}
	if be.TimeoutConnect > 0 {
		t.Connect = be.TimeoutConnect
	}
	if be.TimeoutServer > 0 {
		t.Server = be.TimeoutServer
	}
	if be.TimeoutQueue > 0 {
		t.Queue = be.TimeoutQueue
	}
	if be.Retries != nil {
		t.Retries = *be.Retries
	}
	return t
}

// Store holds the current Snapshot. The zero value holds none.
type Store struct{ p atomic.Pointer[Snapshot] }

// Load returns the current snapshot.
func (s *Store) Load() *Snapshot { return s.p.Load() }

// Swap publishes next and returns the previous snapshot.
func (s *Store) Swap(next *Snapshot) *Snapshot { return s.p.Swap(next) }
