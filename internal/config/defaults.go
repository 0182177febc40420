package config

import (
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/balance"
	"github.com/fulcrum-lb/fulcrum/internal/persist"
	"github.com/fulcrum-lb/fulcrum/internal/tlsconf"
)

// Fulcrum's built-in defaults: the value a key takes when neither the file
// nor (for frontends) the defaults section sets it. docs/configuration.md
// lists them; keep the two in step.
const (
	// global
	DefaultHealthCheck     = Duration(2 * time.Second)
	DefaultResolveInterval = Duration(30 * time.Second)
	DefaultTimeoutShutdown = Duration(10 * time.Second)

	// defaults section, and through it every frontend
	DefaultMode           = ModeTCP
	DefaultTimeoutConnect = Duration(5 * time.Second)
	DefaultTimeoutClient  = Duration(30 * time.Second)
	DefaultTimeoutServer  = Duration(30 * time.Second)
	// timeout_queue defaults to the effective timeout_connect (HAProxy's rule).
	DefaultRetries = 2

	// ssl: versions default to TLSv1.2 and TLSv1.3 (see defaultTLSVersions),
	// verify to require when there is a ca, plain_http to auto in http
	// mode and off in tcp mode.
	DefaultSessionTickets = true
	DefaultTicketRotation = Duration(tlsconf.DefaultTicketRotation)

	// http_condition
	DefaultRedirectCode = 302
	DefaultDenyStatus   = 403

	// backend
	DefaultAlgorithm = string(balance.RoundRobin)
	DefaultKey       = KeySource // for the hash and consistent algorithms
	DefaultWeight    = 1         // servers and weighted use_backend entries
	MaxWeight        = 256

	// health
	DefaultHealthType   = HealthTCP
	DefaultRise         = 2
	DefaultFall         = 3
	DefaultInitial      = InitialUp
	DefaultMethod       = "GET"
	DefaultPath         = "/"
	DefaultExpectLo     = 200 // http checks expect 200-399
	DefaultExpectHi     = 399
	MaxDefaultTimeout   = Duration(2 * time.Second)        // timeout = min(interval, this)
	MinFastInterval     = Duration(100 * time.Millisecond) // fast_interval = interval/4, at least this
	DefaultAgentTimeout = Duration(time.Second)

	// passive
	DefaultPassiveFall = 3
	DefaultPassiveHold = Duration(10 * time.Second)

	// http mode
	DefaultAccessLogTarget = "stdout"
	DefaultAccessLogFormat = "text"
	DefaultRequestID       = "X-Request-ID"
	DefaultPoolMaxIdle     = 1024
	DefaultPoolIdleTimeout = Duration(60 * time.Second)

	// persist, type cookie (max_age 0: a session cookie; secure false)
	DefaultCookieName     = "SRVID"
	DefaultCookieHTTPOnly = true
	DefaultCookieSameSite = persist.SameSiteLax
	DefaultCookiePath     = "/"
	// persist, types header and source
	DefaultPersistExpire     = Duration(30 * time.Minute)
	DefaultPersistMaxEntries = 100000
	// persist, type source: the whole address
	DefaultPersistIPv4Prefix = 32
	DefaultPersistIPv6Prefix = 128
)

// Values with a meaning of their own.
const (
	// ThreadsMax is global.threads' word for "every CPU" (stored as 0).
	ThreadsMax = "max"

	HealthTCP  = "tcp"  // a check that only connects
	HealthHTTP = "http" // a check that sends a request and reads the status

	InitialUp   = "up"   // servers start up and must fail checks to go down
	InitialDown = "down" // servers start down and must pass rise checks

	KeySource = "src" // balance key: the client's address
	KeyURI    = "uri" // balance key: the request URI (http mode)

	PersistCookie = "cookie" // persistence by a cookie fulcrum inserts (http mode)
	PersistHeader = "header" // a stick table keyed by a request header (http mode)
	PersistSource = "source" // a stick table keyed by the client's address

	// ssl.verify on a frontend: how client certificates are checked.
	VerifyRequire  = tlsconf.VerifyRequire  // a certificate signed by ca, or the handshake fails
	VerifyOptional = tlsconf.VerifyOptional // none, or one signed by ca
	VerifyNone     = tlsconf.VerifyNone     // none asked (also ssl.verify on a backend: no check)

	// ssl.plain_http: what a connection that does not start with a TLS
	// handshake gets on a frontend with ssl.
	PlainHTTPAuto = "auto" // served as plain HTTP (http mode)
	PlainHTTPOff  = "off"  // closed

	SendProxyV1 = "v1" // PROXY protocol text header
	SendProxyV2 = "v2" // PROXY protocol binary header
)

// VerifyModes are the values a frontend's ssl.verify accepts.
var VerifyModes = append([]string(nil), tlsconf.VerifyModes...)

// SendProxyVersions are the values send_proxy accepts.
var SendProxyVersions = []string{SendProxyV1, SendProxyV2}

// PersistTypes are the values persist.type accepts.
var PersistTypes = []string{PersistCookie, PersistHeader, PersistSource}

// SameSiteValues are the values persist.cookie.samesite accepts.
var SameSiteValues = []string{persist.SameSiteLax, persist.SameSiteStrict, persist.SameSiteNone}

// RedirectCodes are the statuses a redirect may use.
var RedirectCodes = []int{301, 302, 303, 307, 308}

// The retry_on conditions: the connection closed or reset before a
// response, no response within timeout_server, or one of these statuses.
const (
	RetryOnEmptyResponse   = "empty-response"
	RetryOnResponseTimeout = "response-timeout"
)

// RetryOnChoices are the values retry_on accepts.
var RetryOnChoices = []string{RetryOnEmptyResponse, RetryOnResponseTimeout, "500", "502", "503", "504"}

// DefaultRetryOn is retry_on when unset.
var DefaultRetryOn = []string{RetryOnEmptyResponse}

// TLSVersions are the names ssl.versions accepts.
var TLSVersions = append([]string(nil), tlsconf.Versions...)

func defaultTLSVersions() []string { return []string{"TLSv1.2", "TLSv1.3"} }

// applyDefaults fills every value c left unset. It runs after decoding (it
// needs d.seen to tell an explicit 0 from an absent key) and before
// validation, so that validation sees effective values.
func (d *decoder) applyDefaults(c *Config) {
	g := &c.Global
	setDuration(&g.HealthCheck, !d.has("global.health_check"), DefaultHealthCheck)
	setDuration(&g.ResolveInterval, !d.has("global.resolve_interval"), DefaultResolveInterval)
	setDuration(&g.TimeoutShutdown, !d.has("global.timeout_shutdown"), DefaultTimeoutShutdown)
	if g.AccessLog.Target == "" {
		g.AccessLog.Target = DefaultAccessLogTarget
	}
	if g.AccessLog.Format == "" {
		g.AccessLog.Format = DefaultAccessLogFormat
	}

	df := &c.Defaults
	if df.Mode == "" {
		df.Mode = DefaultMode
	}
	setDuration(&df.TimeoutConnect, !d.has("defaults.timeout_connect"), DefaultTimeoutConnect)
	setDuration(&df.TimeoutClient, !d.has("defaults.timeout_client"), DefaultTimeoutClient)
	setDuration(&df.TimeoutServer, !d.has("defaults.timeout_server"), DefaultTimeoutServer)
	setDuration(&df.TimeoutQueue, !d.has("defaults.timeout_queue"), df.TimeoutConnect)
	if !d.has("defaults.retries") {
		df.Retries = DefaultRetries
	}

	for i := range c.Frontends {
		d.frontendDefaults(&c.Frontends[i], index("frontend", i), df)
	}
	for i := range c.Backends {
		d.backendDefaults(&c.Backends[i], index("backend", i), g)
	}
}

// setDuration sets *dst to def when unset is true.
func setDuration(dst *Duration, unset bool, def Duration) {
	if unset {
		*dst = def
	}
}

// frontendDefaults fills f's unset values from the defaults section.
func (d *decoder) frontendDefaults(f *Frontend, p string, df *Defaults) {
	if f.Mode == "" {
		f.Mode = df.Mode
	}
	if !d.has(p + ".maxconn") {
		f.MaxConn = df.MaxConn
	}
	setDuration(&f.TimeoutConnect, !d.has(p+".timeout_connect"), df.TimeoutConnect)
	setDuration(&f.TimeoutClient, !d.has(p+".timeout_client"), df.TimeoutClient)
	setDuration(&f.TimeoutServer, !d.has(p+".timeout_server"), df.TimeoutServer)
	if !d.has(p + ".timeout_queue") {
		// An explicit defaults.timeout_queue wins; otherwise the queue
		// timeout follows this frontend's own connect timeout.
		f.TimeoutQueue = f.TimeoutConnect
		if d.has("defaults.timeout_queue") {
			f.TimeoutQueue = df.TimeoutQueue
		}
	}
	if !d.has(p + ".retries") {
		f.Retries = df.Retries
	}
	if !d.has(p + ".request_id") {
		f.RequestID = DefaultRequestID
	}
	if f.SSL != nil {
		d.sslDefaults(f.SSL, p+".ssl", f.Mode)
	}
	for i := range f.HTTPCondition {
		r := &f.HTTPCondition[i]
		if r.Redirect != "" && r.Code == 0 {
			r.Code = DefaultRedirectCode
		}
		if r.Deny != nil && r.Deny.Status == 0 {
			r.Deny.Status = DefaultDenyStatus
		}
	}
}

// sslDefaults fills the unset values of a frontend's ssl.
func (d *decoder) sslDefaults(s *SSL, p string, mode Mode) {
	if len(s.Versions) == 0 {
		s.Versions = defaultTLSVersions()
	}
	if !d.has(p + ".session_tickets") {
		s.SessionTickets = DefaultSessionTickets
	}
	setDuration(&s.TicketRotation, s.SessionTickets && s.TicketRotation == 0, DefaultTicketRotation)
	if s.CA != "" && s.Verify == "" {
		s.Verify = VerifyRequire
	}
	if s.PlainHTTP == "" {
		s.PlainHTTP = PlainHTTPOff
		if mode == ModeHTTP {
			s.PlainHTTP = PlainHTTPAuto
		}
	}
}

// backendDefaults fills b's unset values. A backend's timeouts and retries
// stay zero (nil): they mean "the frontend's".
func (d *decoder) backendDefaults(b *Backend, p string, g *Global) {
	if b.Balance.Algorithm == "" {
		b.Balance.Algorithm = DefaultAlgorithm
	}
	if !d.has(p + ".retry_on") {
		b.RetryOn = append([]string(nil), DefaultRetryOn...)
	}
	if !d.has(p + ".pool.max_idle") {
		b.Pool.MaxIdle = DefaultPoolMaxIdle
	}
	setDuration(&b.Pool.IdleTimeout, !d.has(p+".pool.idle_timeout"), DefaultPoolIdleTimeout)
	if usesKey(b.Balance.Algorithm) && b.Balance.Key == "" {
		b.Balance.Key = DefaultKey
	}
	for i := range b.Servers {
		if s := &b.Servers[i]; s.Name == "" {
			s.Name = s.AddrPort
		}
	}
	// Noxy's global.health_check means "check every backend": when it is
	// set, a backend without a health section gets the default tcp check
	// (write health: false to opt out).
	if b.Health == nil && !d.has(p+".health") && d.has("global.health_check") {
		b.Health = &Health{}
	}
	if h := b.Health; h != nil {
		healthDefaults(h, g)
	}
	if a := b.Agent; a != nil {
		setDuration(&a.Interval, a.Interval == 0, g.HealthCheck)
		setDuration(&a.Timeout, a.Timeout == 0, DefaultAgentTimeout)
	}
	if !d.has(p + ".passive.fall") {
		b.Passive.Fall = DefaultPassiveFall
	}
	setDuration(&b.Passive.Hold, b.Passive.Hold == 0, DefaultPassiveHold)
	if ps := b.Persist; ps != nil {
		d.persistDefaults(ps, p+".persist")
	}
}

// persistDefaults fills the unset values of ps that apply to its type.
func (d *decoder) persistDefaults(ps *Persist, p string) {
	switch ps.Type {
	case PersistCookie:
		c := &ps.Cookie
		if c.Name == "" {
			c.Name = DefaultCookieName
		}
		if !d.has(p + ".cookie.httponly") {
			c.HTTPOnly = DefaultCookieHTTPOnly
		}
		if c.SameSite == "" {
			c.SameSite = DefaultCookieSameSite
		}
		if c.Path == "" {
			c.Path = DefaultCookiePath
		}
	case PersistHeader, PersistSource:
		setDuration(&ps.Expire, ps.Expire == 0, DefaultPersistExpire)
		if ps.MaxEntries == 0 {
			ps.MaxEntries = DefaultPersistMaxEntries
		}
		if ps.Type == PersistSource && !d.has(p+".ipv4_prefix") {
			ps.IPv4Prefix = DefaultPersistIPv4Prefix
		}
		if ps.Type == PersistSource && !d.has(p+".ipv6_prefix") {
			ps.IPv6Prefix = DefaultPersistIPv6Prefix
		}
	}
}

// healthDefaults fills h's unset values; zero is never valid for any of
// them, so zero means unset.
func healthDefaults(h *Health, g *Global) {
	if h.Type == "" {
		h.Type = DefaultHealthType
	}
	setDuration(&h.Interval, h.Interval == 0, g.HealthCheck)
	setDuration(&h.FastInterval, h.FastInterval == 0, min(h.Interval, max(h.Interval/4, MinFastInterval)))
	setDuration(&h.DownInterval, h.DownInterval == 0, h.Interval)
	setDuration(&h.Timeout, h.Timeout == 0, min(h.Interval, MaxDefaultTimeout))
	if h.Rise == 0 {
		h.Rise = DefaultRise
	}
	if h.Fall == 0 {
		h.Fall = DefaultFall
	}
	if h.Initial == "" {
		h.Initial = DefaultInitial
	}
	if h.Type == HealthHTTP {
		if h.Method == "" {
			h.Method = DefaultMethod
		}
		if h.Path == "" {
			h.Path = DefaultPath
		}
		if len(h.Expect) == 0 {
			h.Expect = []StatusRange{{Lo: DefaultExpectLo, Hi: DefaultExpectHi}}
		}
	}
}

// usesKey reports whether an algorithm hashes balance.key.
func usesKey(alg string) bool {
	return alg == string(balance.Hash) || alg == string(balance.Consistent)
}
