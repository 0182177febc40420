package config

import (
	"net/netip"
	"time"
)

// Config is a whole, validated configuration with defaults applied: every
// Frontend carries its effective values (its own, else the defaults section's,
// else fulcrum's built-in defaults). It is plain data, read-only once loaded.
//
// The yaml tags name each field's key for readers; decoding does not use
// them (sections.go lists the keys and decodes each by hand).
type Config struct {
	// File is the path the configuration was read from ("" for embedded).
	File      string
	Global    Global
	Defaults  Defaults
	Frontends []Frontend
	Backends  []Backend
}

// Global is the global section.
type Global struct {
	// MaxConn limits connections across all frontends; 0 means no limit.
	MaxConn int `yaml:"maxconn"`
	// Threads is the number of OS threads running Go code (GOMAXPROCS);
	// 0 ("max" in YAML) means every CPU.
	Threads int `yaml:"threads"`
	// HealthCheck is the default interval of active health checks (Noxy's
	// global.health_check).
	HealthCheck Duration `yaml:"health_check"`
	// ResolveInterval is how often server names are resolved again.
	ResolveInterval Duration `yaml:"resolve_interval"`
	// TimeoutShutdown is how long established connections may go on after
	// SIGTERM/SIGINT before they are closed.
	TimeoutShutdown Duration `yaml:"timeout_shutdown"`
	// AccessLog is where http-mode frontends log one line per request.
	AccessLog AccessLog `yaml:"access_log"`
	// CookieSecret keys the HMAC of persistence cookies (at least
	// persist.MinSecretLen bytes). When it is empty the runtime uses a
	// random secret per start, so cookies do not survive a restart and are
	// not understood by another fulcrum instance.
	CookieSecret string `yaml:"cookie_secret"`
}

// AccessLog configures the access log of http-mode requests.
type AccessLog struct {
	// Target is "stdout" (default), "stderr", "off", or a file path
	// (appended to).
	Target string `yaml:"target"`
	// Format is "text" (key=value, default) or "json".
	Format string `yaml:"format"`
}

// Defaults is the defaults section: values every frontend (and its backend)
// takes unless it sets its own.
//
// After loading every field holds its effective value (the built-in default
// when the section leaves it out); see Frontend for their meaning.
type Defaults struct {
	Mode           Mode     `yaml:"mode"`
	MaxConn        int      `yaml:"maxconn"`
	TimeoutConnect Duration `yaml:"timeout_connect"`
	TimeoutClient  Duration `yaml:"timeout_client"`
	TimeoutServer  Duration `yaml:"timeout_server"`
	TimeoutQueue   Duration `yaml:"timeout_queue"`
	Retries        int      `yaml:"retries"`
}

// Mode is a frontend's protocol.
type Mode string

// The modes.
const (
	ModeTCP  Mode = "tcp"
	ModeHTTP Mode = "http"
)

// Frontend is one frontend: listening addresses, TLS, rules and limits.
// Every value is effective: its own, else the defaults section's, else the
// built-in default.
type Frontend struct {
	// Name is unique among frontends.
	Name string `yaml:"name"`
	// Mode is tcp (layer 4) or http (layer 7).
	Mode Mode `yaml:"mode"`
	// Bind holds at least one address.
	Bind []Bind `yaml:"bind"`
	// SSL terminates TLS on every bind address when not nil.
	SSL *SSL `yaml:"ssl"`
	// AcceptProxy lists the networks whose connections must start with a
	// PROXY protocol header (v1 or v2), which then gives the client's
	// address; nil when the frontend accepts no PROXY header.
	AcceptProxy []netip.Prefix `yaml:"accept_proxy"`
	// UseBackend is the default backend: traffic no rule routes goes
	// there. It may be empty when rules route everything.
	UseBackend string `yaml:"use_backend"`
	// HTTPCondition holds the rules, in order (http mode only).
	HTTPCondition []HTTPRule `yaml:"http_condition"`
	// SNIRoutes route connections by the server name of their TLS
	// ClientHello (tcp mode only); see SNIRoute.
	SNIRoutes []SNIRoute `yaml:"sni_routes"`
	// MaxConn limits this frontend's connections; 0 means no limit.
	MaxConn int `yaml:"maxconn"`
	// TimeoutConnect bounds a connection to a server (> 0).
	TimeoutConnect Duration `yaml:"timeout_connect"`
	// TimeoutClient bounds client inactivity (> 0).
	TimeoutClient Duration `yaml:"timeout_client"`
	// TimeoutServer bounds server inactivity (> 0).
	TimeoutServer Duration `yaml:"timeout_server"`
	// TimeoutQueue bounds the wait for a free server slot when every server
	// is at its maxconn; 0 means do not wait.
	TimeoutQueue Duration `yaml:"timeout_queue"`
	// Retries is how many times a failed connection attempt to a server is
	// retried.
	Retries int `yaml:"retries"`
	// RequestID is the name of the request ID header (http mode): taken
	// from the request when present, generated otherwise, forwarded and
	// logged. "" turns request IDs off.
	RequestID string `yaml:"request_id"`
	// Forwarded adds an RFC 7239 Forwarded header to requests (http mode).
	Forwarded bool `yaml:"forwarded"`
	// ServerHeader replaces the servers' Server header in responses;
	// "hide" removes it; "" leaves it alone (http mode).
	ServerHeader string `yaml:"server_header"`
	// H2C accepts HTTP/2 without TLS from clients that know in advance the
	// frontend speaks it ("prior knowledge", as gRPC clients do), beside
	// HTTP/1.1 on the same address (http mode).
	H2C bool `yaml:"h2c"`
	// ForwardClientCert tells the servers about the client's TLS
	// certificate in X-SSL-Client-Verified, -CN and -SHA256 headers
	// (http mode with ssl); headers of those names from clients are
	// dropped.
	ForwardClientCert bool `yaml:"forward_client_cert"`
	// ErrorPages replace the body of errors fulcrum answers itself (http
	// mode), by status: e.g. 503: /etc/fulcrum/503.html. Paths are made
	// absolute against the configuration's folder.
	ErrorPages map[int]string `yaml:"error_pages"`
	// Pos is where the frontend starts in the file, for messages.
	Pos Pos `yaml:"-"`
}

// Bind is one listening address.
type Bind struct {
	// AddrPort is "host:port"; the host may be empty, an IP address or a
	// name, and the port is from 1 to 65535.
	AddrPort string `yaml:"addr_port"`
	Pos      Pos    `yaml:"-"`
}

// HTTPRule is one http_condition entry: a when expression and its actions.
// A rule has either one of Redirect, UseBackend and Deny, or header and
// path actions (which may also go with UseBackend).
type HTTPRule struct {
	// When is an expression (compiled by the rules package, not here).
	When string `yaml:"when"`
	// Redirect is an expression giving the new location.
	Redirect string `yaml:"redirect"`
	// Code is the redirect's status (one of RedirectCodes; 302 by default),
	// 0 when there is no redirect.
	Code              int               `yaml:"code"`
	UseBackend        []WeightedBackend `yaml:"use_backend"` // a name, or a list of {name, weight}
	SetHeader         map[string]string `yaml:"set_header"`
	DelHeader         []string          `yaml:"del_header"`
	SetResponseHeader map[string]string `yaml:"set_response_header"`
	DelResponseHeader []string          `yaml:"del_response_header"`
	Deny              *Deny             `yaml:"deny"`
	PathPrefix        string            `yaml:"path_prefix"`
	Pos               Pos               `yaml:"-"`
}

// WeightedBackend is one choice of a weighted use_backend list. A single
// name is a list of one, of weight 1.
type WeightedBackend struct {
	Name string `yaml:"name"`
	// Weight is ≥ 0, 1 when not set; not every weight of a list is 0.
	Weight int `yaml:"weight"`
}

// Deny is a deny action.
type Deny struct {
	// Status is from 400 to 599, 403 by default.
	Status int    `yaml:"status"`
	Body   string `yaml:"body"`
}

// Backend is one backend: a pool of servers with an algorithm, health checks
// and its own timeouts (0 means: the frontend's).
type Backend struct {
	// Name is unique among backends.
	Name    string   `yaml:"name"`
	Balance Balance  `yaml:"balance"` // "roundrobin", or {algorithm, key, ipv4_prefix, ipv6_prefix}
	Servers []Server `yaml:"servers"`
	// Health is nil when there is no active check.
	Health *Health `yaml:"health"`
	// Agent is nil when there is no agent check.
	Agent          *Agent   `yaml:"agent"`
	Passive        Passive  `yaml:"passive"`
	TimeoutConnect Duration `yaml:"timeout_connect"`
	TimeoutServer  Duration `yaml:"timeout_server"`
	TimeoutQueue   Duration `yaml:"timeout_queue"`
	// Retries overrides the frontend's retries when not nil.
	Retries *int `yaml:"retries"`
	// Proto is the protocol spoken to the servers in http mode: "h1"
	// (HTTP/1.1, default), "h2" (HTTP/2 over TLS: needs ssl) or "h2c"
	// (HTTP/2 without TLS, e.g. gRPC).
	Proto string `yaml:"proto"`
	// RetryOn lists what, besides a failed connect (always retried), makes
	// fulcrum retry a request on another server in http mode; only a
	// request that is idempotent and has no body is retried: see RetryOn*.
	RetryOn []string `yaml:"retry_on"`
	// Pool tunes the idle connections kept to each server (http mode).
	Pool Pool `yaml:"pool"`
	// Persist keeps clients on one server; nil when there is no
	// persistence.
	Persist *Persist `yaml:"persist"`
	// SSL makes fulcrum speak TLS to the servers when not nil.
	SSL *BackendSSL `yaml:"ssl"`
	// SendProxy is SendProxyV1 or SendProxyV2 to send a PROXY protocol
	// header to the servers at the start of each connection, "" for none.
	SendProxy string `yaml:"send_proxy"`
	Pos       Pos    `yaml:"-"`
}

// Persist is a backend's persistence (stickiness): how a client is sent
// back to the server it reached before, while that server can take it.
// After loading, the fields that apply to Type hold their effective values
// and the others are zero.
type Persist struct {
	// Type is PersistCookie, PersistHeader or PersistSource.
	Type string `yaml:"type"`
	// Cookie is the cookie fulcrum inserts (type cookie; http mode).
	Cookie CookieSettings `yaml:"cookie"`
	// Header names the request header whose value sticks to a server
	// (type header; http mode).
	Header string `yaml:"header"`
	// Expire is how long an entry of the stick table lasts after its last
	// use (types header and source).
	Expire Duration `yaml:"expire"`
	// MaxEntries bounds the stick table; the least recently used entries
	// make way (types header and source).
	MaxEntries int `yaml:"max_entries"`
	// IPv4Prefix and IPv6Prefix are how many leading bits of the client's
	// address identify it (type source): 24 puts a /24 on one server.
	IPv4Prefix int `yaml:"ipv4_prefix"`
	IPv6Prefix int `yaml:"ipv6_prefix"`
}

// CookieSettings is the cookie of cookie persistence.
type CookieSettings struct {
	// Name is the cookie's name, an HTTP token.
	Name string `yaml:"name"`
	// Secure sends the cookie over HTTPS only; HTTPOnly hides it from
	// scripts.
	Secure   bool `yaml:"secure"`
	HTTPOnly bool `yaml:"httponly"`
	// SameSite is "lax", "strict" or "none" (which needs Secure).
	SameSite string `yaml:"samesite"`
	// MaxAge is the cookie's lifetime in the browser; 0 makes a session
	// cookie.
	MaxAge Duration `yaml:"max_age"`
	// Path is the cookie's path, starting with /.
	Path string `yaml:"path"`
	// Domain is the cookie's domain; empty for the host that set it only.
	Domain string `yaml:"domain"`
}

// Pool tunes the keep-alive connections kept open to each server of a
// backend in http mode.
type Pool struct {
	// MaxIdle is the most idle connections kept per server (0: none).
	MaxIdle int `yaml:"max_idle"`
	// IdleTimeout closes connections idle for longer.
	IdleTimeout Duration `yaml:"idle_timeout"`
}

// Balance is a backend's algorithm and its options.
type Balance struct {
	// Algorithm is one of balance.Algorithms, roundrobin by default.
	Algorithm string `yaml:"algorithm"`
	// Key is the request attribute hashed by "hash" and "consistent":
	// "src" (client address; the only one in tcp mode), "uri", "header:NAME",
	// "cookie:NAME". It is "src" by default for those two algorithms and
	// empty for the others.
	Key string `yaml:"key"`
	// IPv4Prefix and IPv6Prefix make "source" hash only an address prefix.
	IPv4Prefix int `yaml:"ipv4_prefix"`
	IPv6Prefix int `yaml:"ipv6_prefix"`
}

// Server is one real server.
type Server struct {
	// Name defaults to the addr_port.
	Name     string `yaml:"name"`
	AddrPort string `yaml:"addr_port"`
	// Weight defaults to 1; 0 means no new traffic. At most 256.
	Weight int `yaml:"weight"`
	// Backup servers take traffic only when no other server can.
	Backup bool `yaml:"backup"`
	// MaxConn limits the server's connections; 0 means no limit.
	MaxConn int `yaml:"maxconn"`
	// Disabled servers take no traffic (administrative maintenance).
	Disabled bool `yaml:"disabled"`
	Pos      Pos  `yaml:"-"`
}

// Health is a backend's active health check. After loading every field
// holds its effective value (see defaults.go); the HTTP fields are set only
// for http checks.
type Health struct {
	Type string `yaml:"type"` // tcp (default) or http
	// Interval is the time between checks of a server that is up.
	Interval Duration `yaml:"interval"`
	// FastInterval is used while a server is changing state (it has
	// failed or passed some checks but not yet fall or rise of them).
	FastInterval Duration `yaml:"fast_interval"`
	// DownInterval is used while a server is down.
	DownInterval Duration `yaml:"down_interval"`
	// Timeout bounds one check.
	Timeout Duration `yaml:"timeout"`
	// Rise consecutive passes bring a server up; Fall consecutive failures
	// take it down. Both are ≥ 1.
	Rise int `yaml:"rise"`
	Fall int `yaml:"fall"`
	// Initial is the state before the first check: "up" (default) or "down".
	Initial string `yaml:"initial"`
	// Port checks another port than the server's (0: the server's).
	Port int `yaml:"port"`
	// HTTP checks.
	Method string `yaml:"method"`
	Path   string `yaml:"path"`
	Host   string `yaml:"host"`
	// Expect is a list of statuses and ranges, e.g. ["200-399"] or [200, 204].
	Expect []StatusRange `yaml:"expect"`
	// ExpectBody is a substring the body must contain.
	ExpectBody string `yaml:"expect_body"`
}

// StatusRange is an inclusive range of HTTP statuses.
type StatusRange struct{ Lo, Hi int }

// Agent is a backend's agent check: each server answers on Port with a weight
// percentage ("75%"), "drain", "down", "up", "ready" or "maint".
type Agent struct {
	// Port is required, from 1 to 65535.
	Port int `yaml:"port"`
	// Interval defaults to global.health_check, Timeout to 1s.
	Interval Duration `yaml:"interval"`
	Timeout  Duration `yaml:"timeout"`
	// Send is written to the agent before reading its answer.
	Send string `yaml:"send"`
}

// Passive is passive health checking on live traffic.
type Passive struct {
	// Fall consecutive connect failures mark a server down at once (0: off).
	Fall int `yaml:"fall"`
	// Hold is how long a passively failed server stays down when the backend
	// has no active check to bring it back.
	Hold Duration `yaml:"hold"`
}

// Duration is a time span written as an integer of milliseconds (Noxy's
// rule) or a Go duration string such as "10s" or "1m30s".
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Pos is a position in the configuration file (1-based).
type Pos struct{ Line, Col int }

// Backend returns the backend called name, or nil.
func (c *Config) Backend(name string) *Backend {
	for i := range c.Backends {
		if c.Backends[i].Name == name {
			return &c.Backends[i]
		}
	}
	return nil
}
