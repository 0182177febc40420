package config

import "time"

// Config is a whole, validated configuration with defaults applied: every
// Frontend carries its effective values (its own, else the defaults section's,
// else fulcrum's built-in defaults). It is plain data, read-only once loaded.
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
}

// Defaults is the defaults section: values every frontend (and its backend)
// takes unless it sets its own.
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

// Frontend is one frontend.
type Frontend struct {
	Name string `yaml:"name"`
	Mode Mode   `yaml:"mode"`
	Bind []Bind `yaml:"bind"`
	SSL  *SSL   `yaml:"ssl"`
	// UseBackend is the default backend.
	UseBackend    string     `yaml:"use_backend"`
	HTTPCondition []HTTPRule `yaml:"http_condition"`
	// MaxConn limits this frontend's connections; 0 means no limit.
	MaxConn        int      `yaml:"maxconn"`
	TimeoutConnect Duration `yaml:"timeout_connect"`
	TimeoutClient  Duration `yaml:"timeout_client"`
	TimeoutServer  Duration `yaml:"timeout_server"`
	TimeoutQueue   Duration `yaml:"timeout_queue"`
	Retries        int      `yaml:"retries"`
	// Pos is where the frontend starts in the file, for messages.
	Pos Pos `yaml:"-"`
}

// Bind is one listening address.
type Bind struct {
	AddrPort string `yaml:"addr_port"`
	Pos      Pos    `yaml:"-"`
}

// SSL is a frontend's TLS settings (Noxy's ssl block).
type SSL struct {
	Cert     string   `yaml:"cert"`
	Key      string   `yaml:"key"`
	CA       string   `yaml:"ca"`
	Versions []string `yaml:"versions"`
	ALPN     []string `yaml:"alpn"`
}

// HTTPRule is one http_condition entry: a when expression and one action.
type HTTPRule struct {
	When              string            `yaml:"when"`
	Redirect          string            `yaml:"redirect"`
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

// WeightedBackend is one choice of a weighted use_backend list.
type WeightedBackend struct {
	Name   string `yaml:"name"`
	Weight int    `yaml:"weight"`
}

// Deny is a deny action.
type Deny struct {
	Status int    `yaml:"status"`
	Body   string `yaml:"body"`
}

// Backend is one backend: a pool of servers with an algorithm, health checks
// and its own timeouts (0 means: the frontend's).
type Backend struct {
	Name           string   `yaml:"name"`
	Balance        Balance  `yaml:"balance"` // "roundrobin", or {algorithm, key, ipv4_prefix, ipv6_prefix}
	Servers        []Server `yaml:"servers"`
	Health         *Health  `yaml:"health"`
	Agent          *Agent   `yaml:"agent"`
	Passive        Passive  `yaml:"passive"`
	TimeoutConnect Duration `yaml:"timeout_connect"`
	TimeoutServer  Duration `yaml:"timeout_server"`
	TimeoutQueue   Duration `yaml:"timeout_queue"`
	// Retries overrides the frontend's retries when not nil.
	Retries *int `yaml:"retries"`
	Pos     Pos  `yaml:"-"`
}

// Balance is a backend's algorithm and its options.
type Balance struct {
	Algorithm string `yaml:"algorithm"`
	// Key is the request attribute hashed by "hash" and "consistent":
	// "src" (client address; the only one in tcp mode), "uri", "header:NAME",
	// "cookie:NAME".
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
	Weight   int  `yaml:"weight"`
	Backup   bool `yaml:"backup"`
	MaxConn  int  `yaml:"maxconn"`
	Disabled bool `yaml:"disabled"`
	Pos      Pos  `yaml:"-"`
}

// Health is a backend's active health check.
type Health struct {
	Type         string   `yaml:"type"` // tcp (default) or http
	Interval     Duration `yaml:"interval"`
	FastInterval Duration `yaml:"fast_interval"`
	DownInterval Duration `yaml:"down_interval"`
	Timeout      Duration `yaml:"timeout"`
	Rise         int      `yaml:"rise"`
	Fall         int      `yaml:"fall"`
	// Initial is the state before the first check: "up" (default) or "down".
	Initial string `yaml:"initial"`
	// Port checks another port than the server's.
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
	Port     int      `yaml:"port"`
	Interval Duration `yaml:"interval"`
	Timeout  Duration `yaml:"timeout"`
	Send     string   `yaml:"send"`
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

// Pos is a position in the configuration file.
type Pos struct{ Line, Col int }
