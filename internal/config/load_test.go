package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// base is a valid configuration the tests below add to.
const base = `
frontend:
  - name: web
    mode: http
    bind:
      - addr_port: 127.0.0.1:8080
    use_backend: app
backend:
  - name: app
    servers:
      - addr_port: 127.0.0.1:9000
`

func mustParse(t *testing.T, text string) *Config {
	t.Helper()
	c, err := Parse("test.yaml", []byte(text))
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	return c
}

func TestDefaultsInheritance(t *testing.T) {
	t.Parallel()
	c := mustParse(t, `
defaults:
  mode: http
  maxconn: 50
  timeout_connect: 1s
  timeout_client: 2000
  retries: 0
frontend:
  - name: inherits
    bind: [{addr_port: ":8080"}]
    use_backend: app
  - name: overrides
    mode: tcp
    maxconn: 0
    timeout_connect: 3s
    timeout_client: 4s
    timeout_server: 5s
    retries: 4
    bind: [{addr_port: ":8081"}]
    use_backend: app
backend:
  - name: app
    servers: [{addr_port: "127.0.0.1:9000"}]
`)
	s := Duration(time.Second)
	tests := []struct {
		what      string
		got, want any
	}{
		{"defaults.timeout_server (built in)", c.Defaults.TimeoutServer, DefaultTimeoutServer},
		{"defaults.timeout_queue (= its timeout_connect)", c.Defaults.TimeoutQueue, s},
		{"inherits mode", c.Frontends[0].Mode, ModeHTTP},
		{"inherits maxconn", c.Frontends[0].MaxConn, 50},
		{"inherits timeout_connect", c.Frontends[0].TimeoutConnect, s},
		{"inherits timeout_client (ms)", c.Frontends[0].TimeoutClient, 2 * s},
		{"inherits timeout_server (built in)", c.Frontends[0].TimeoutServer, DefaultTimeoutServer},
		{"inherits timeout_queue", c.Frontends[0].TimeoutQueue, s},
		{"inherits retries 0", c.Frontends[0].Retries, 0},
		{"overrides mode", c.Frontends[1].Mode, ModeTCP},
		{"overrides maxconn with 0", c.Frontends[1].MaxConn, 0},
		{"overrides timeout_connect", c.Frontends[1].TimeoutConnect, 3 * s},
		{"overrides timeout_client", c.Frontends[1].TimeoutClient, 4 * s},
		{"overrides timeout_server", c.Frontends[1].TimeoutServer, 5 * s},
		{"timeout_queue follows own timeout_connect", c.Frontends[1].TimeoutQueue, 3 * s},
		{"overrides retries", c.Frontends[1].Retries, 4},
	}
	for _, tt := range tests {
		check(t, tt.what, tt.got, tt.want)
	}
}

func TestBuiltInDefaults(t *testing.T) {
	t.Parallel()
	c := mustParse(t, strings.Replace(base, "    mode: http\n", "", 1))
	check(t, "global", c.Global, Global{HealthCheck: DefaultHealthCheck, ResolveInterval: DefaultResolveInterval,
		TimeoutShutdown: DefaultTimeoutShutdown, AccessLog: AccessLog{Target: DefaultAccessLogTarget, Format: DefaultAccessLogFormat}})
	check(t, "defaults", c.Defaults, Defaults{Mode: ModeTCP, TimeoutConnect: DefaultTimeoutConnect,
		TimeoutClient: DefaultTimeoutClient, TimeoutServer: DefaultTimeoutServer,
		TimeoutQueue: DefaultTimeoutConnect, Retries: DefaultRetries})
	f := c.Frontends[0]
	check(t, "frontend mode", f.Mode, ModeTCP)
	check(t, "frontend timeout_queue", f.TimeoutQueue, DefaultTimeoutConnect)
	b := c.Backends[0]
	check(t, "balance", b.Balance, Balance{Algorithm: "roundrobin"})
	check(t, "passive", b.Passive, Passive{Fall: DefaultPassiveFall, Hold: DefaultPassiveHold})
	if b.Health != nil || b.Agent != nil || b.Retries != nil || b.TimeoutConnect != 0 {
		t.Errorf("backend = %+v, want no checks and the frontend's timeouts", b)
	}
}

func TestTimeoutQueueFromDefaults(t *testing.T) {
	t.Parallel()
	c := mustParse(t, "defaults:\n  timeout_queue: 0\n  timeout_connect: 7s\n"+base)
	check(t, "explicit defaults.timeout_queue", c.Frontends[0].TimeoutQueue, Duration(0))
}

func TestThreads(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		yaml string
		want int
	}{{"", 0}, {"threads: max", 0}, {"threads: 4", 4}, {"threads: 1", 1}} {
		c := mustParse(t, "global:\n  "+tt.yaml+"\n"+base)
		check(t, tt.yaml, c.Global.Threads, tt.want)
	}
}

func TestDurationsInYAML(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		value string
		want  time.Duration
	}{
		{"5000", 5 * time.Second}, {"0", 0}, {"1", time.Millisecond}, {`"250ms"`, 250 * time.Millisecond},
		{"10s", 10 * time.Second}, {"1m30s", 90 * time.Second}, {`"5000"`, 5 * time.Second}, {"1h", time.Hour},
	} {
		c := mustParse(t, "global:\n  timeout_shutdown: "+tt.value+"\n"+base)
		check(t, tt.value, c.Global.TimeoutShutdown.D(), tt.want)
	}
}

func TestParseDuration(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{"5000", 5 * time.Second, ""},
		{"10s", 10 * time.Second, ""},
		{"1m30s", 90 * time.Second, ""},
		{"250ms", 250 * time.Millisecond, ""},
		{"0", 0, ""},
		{"-5", 0, "expected a non-negative duration, got -5"},
		{"-1s", 0, `expected a non-negative duration, got "-1s"`},
		{"", 0, `expected a duration such as 5000 (ms), "10s", "1m30s" or "250ms", got ""`},
		{"10 s", 0, `expected a duration such as 5000 (ms), "10s", "1m30s" or "250ms", got "10 s"`},
		{"9223372036855", 0, "duration 9223372036855 ms is too long"},
		{"99999999999999999999", 0, "duration 99999999999999999999 ms is too long"},
	} {
		got, err := ParseDuration(tt.in)
		if got.D() != tt.want || (err == nil) != (tt.wantErr == "") || (err != nil && err.Error() != tt.wantErr) {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, %q", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestBalanceForms(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		yaml string
		want Balance
	}{
		{"balance: leastconn", Balance{Algorithm: "leastconn"}},
		{"balance: {algorithm: hash}", Balance{Algorithm: "hash", Key: "src"}},
		{"balance: {algorithm: consistent, key: \"header:X-User\"}", Balance{Algorithm: "consistent", Key: "header:X-User"}},
		{"balance: {algorithm: hash, key: \"cookie:sid\"}", Balance{Algorithm: "hash", Key: "cookie:sid"}},
		{"balance: {algorithm: source, ipv4_prefix: 24, ipv6_prefix: 64}", Balance{Algorithm: "source", IPv4Prefix: 24, IPv6Prefix: 64}},
		{"balance: {key: uri, algorithm: hash}", Balance{Algorithm: "hash", Key: "uri"}},
		{"balance: {}", Balance{Algorithm: "roundrobin"}},
	} {
		c := mustParse(t, base+"    "+tt.yaml+"\n")
		check(t, tt.yaml, c.Backends[0].Balance, tt.want)
	}
}

func TestRuleForms(t *testing.T) {
	t.Parallel()
	c := mustParse(t, strings.Replace(base, "    use_backend: app\n", `    use_backend: app
    http_condition:
      - when: "path == '/a'"
        use_backend: app
        set_header: {X-Route: a}
      - when: "path == '/b'"
        use_backend:
          - {name: app, weight: 9}
          - {name: app2}
      - when: "true"
        deny: true
      - when: "true"
        deny: 429
      - when: "true"
        deny: {body: "go away"}
      - when: "true"
        redirect: "'https://x'"
        code: 301
      - when: "true"
        del_header: X-Debug
        path_prefix: /api
`, 1)+"  - name: app2\n    servers: [{addr_port: \"127.0.0.1:9001\"}]\n")
	r := c.Frontends[0].HTTPCondition
	check(t, "scalar use_backend", r[0].UseBackend, []WeightedBackend{{Name: "app", Weight: 1}})
	check(t, "set_header", r[0].SetHeader, map[string]string{"X-Route": "a"})
	check(t, "weighted use_backend", r[1].UseBackend, []WeightedBackend{{Name: "app", Weight: 9}, {Name: "app2", Weight: 1}})
	check(t, "deny: true", r[2].Deny, &Deny{Status: 403})
	check(t, "deny: 429", r[3].Deny, &Deny{Status: 429})
	check(t, "deny: {body}", r[4].Deny, &Deny{Status: 403, Body: "go away"})
	check(t, "redirect code", r[5].Code, 301)
	check(t, "del_header scalar", r[6].DelHeader, []string{"X-Debug"})
	check(t, "rule position", r[1].Pos, Pos{Line: 12, Col: 9})
	if b := c.Backend("app2"); b == nil || b.Name != "app2" || c.Backend("nope") != nil {
		t.Errorf("Backend() lookups wrong: %v", b)
	}
}

func TestHealth(t *testing.T) {
	t.Parallel()
	s := Duration(time.Second)
	for _, tt := range []struct {
		global, yaml string
		want         *Health
	}{
		{"", "", nil},
		{"health_check: 8s", "", &Health{Type: "tcp", Interval: 8 * s, FastInterval: 2 * s, DownInterval: 8 * s,
			Timeout: 2 * s, Rise: 2, Fall: 3, Initial: "up"}},
		{"health_check: 8s", "health: false", nil},
		{"", "health: true", &Health{Type: "tcp", Interval: 2 * s, FastInterval: s / 2, DownInterval: 2 * s,
			Timeout: 2 * s, Rise: 2, Fall: 3, Initial: "up"}},
		{"", "health: {interval: 200ms, rise: 1, initial: down}", &Health{Type: "tcp", Interval: s / 5,
			FastInterval: s / 10, DownInterval: s / 5, Timeout: s / 5, Rise: 1, Fall: 3, Initial: "down"}},
		{"", "health: {interval: 50ms}", &Health{Type: "tcp", Interval: s / 20, FastInterval: s / 20,
			DownInterval: s / 20, Timeout: s / 20, Rise: 2, Fall: 3, Initial: "up"}},
		{"", "health: {type: http}", &Health{Type: "http", Interval: 2 * s, FastInterval: s / 2, DownInterval: 2 * s,
			Timeout: 2 * s, Rise: 2, Fall: 3, Initial: "up", Method: "GET", Path: "/", Expect: []StatusRange{{200, 399}}}},
		{"", "health: {type: http, method: HEAD, path: /hz, host: h, expect: 204, expect_body: ok, port: 81, timeout: 3s}",
			&Health{Type: "http", Interval: 2 * s, FastInterval: s / 2, DownInterval: 2 * s, Timeout: 3 * s, Rise: 2,
				Fall: 3, Initial: "up", Method: "HEAD", Path: "/hz", Host: "h", Expect: []StatusRange{{204, 204}},
				ExpectBody: "ok", Port: 81}},
		{"", `health: {type: http, expect: "200-299"}`, &Health{Type: "http", Interval: 2 * s, FastInterval: s / 2,
			DownInterval: 2 * s, Timeout: 2 * s, Rise: 2, Fall: 3, Initial: "up", Method: "GET", Path: "/",
			Expect: []StatusRange{{200, 299}}}},
		{"", `health: {type: http, expect: [200, "301-302", "404"]}`, &Health{Type: "http", Interval: 2 * s,
			FastInterval: s / 2, DownInterval: 2 * s, Timeout: 2 * s, Rise: 2, Fall: 3, Initial: "up", Method: "GET",
			Path: "/", Expect: []StatusRange{{200, 200}, {301, 302}, {404, 404}}}},
	} {
		c := mustParse(t, "global: {"+tt.global+"}\n"+base+"    "+tt.yaml+"\n")
		check(t, tt.global+" "+tt.yaml, c.Backends[0].Health, tt.want)
	}
}

func TestAgentAndPassive(t *testing.T) {
	t.Parallel()
	c := mustParse(t, base+"    agent: {port: 5555}\n    passive: {fall: 0}\n    retries: 0\n")
	b := c.Backends[0]
	check(t, "agent", b.Agent, &Agent{Port: 5555, Interval: DefaultHealthCheck, Timeout: DefaultAgentTimeout})
	check(t, "passive", b.Passive, Passive{Fall: 0, Hold: DefaultPassiveHold})
	if b.Retries == nil || *b.Retries != 0 {
		t.Errorf("retries = %v, want an explicit 0", b.Retries)
	}
}

func TestServers(t *testing.T) {
	t.Parallel()
	c := mustParse(t, strings.Replace(base, "      - addr_port: 127.0.0.1:9000\n", `      - addr_port: 127.0.0.1:9000
        name: a
        weight: 0
        backup: true
        maxconn: 10
        disabled: true
      - addr_port: "[::1]:9000"
      - addr_port: db.internal.:5432
`, 1))
	s := c.Backends[0].Servers
	check(t, "server a", s[0], Server{Name: "a", AddrPort: "127.0.0.1:9000", Weight: 0, Backup: true, MaxConn: 10,
		Disabled: true, Pos: Pos{Line: 11, Col: 9}})
	check(t, "ipv6 name", s[1].Name, "[::1]:9000")
	check(t, "weight", s[2].Weight, DefaultWeight)
}

func TestSSLRelativePaths(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, f := range []string{"c.pem", "k.pem"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	name := filepath.Join(dir, "fulcrum.yaml")
	c, err := Parse(name, []byte(strings.Replace(base, "    use_backend: app\n",
		"    use_backend: app\n    ssl: {cert: c.pem, key: "+filepath.Join(dir, "k.pem")+"}\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	check(t, "ssl", *c.Frontends[0].SSL, SSL{Cert: filepath.Join(dir, "c.pem"), Key: filepath.Join(dir, "k.pem"),
		Versions: []string{"TLSv1.2", "TLSv1.3"}, SessionTickets: true, TicketRotation: DefaultTicketRotation,
		PlainHTTP: PlainHTTPAuto})
}

func TestAnchorsAndMergeKeys(t *testing.T) {
	t.Parallel()
	c := mustParse(t, `
x-servers: &servers
  - addr_port: 127.0.0.1:9000
  - addr_port: 127.0.0.1:9001
x-health: &health {type: http, path: /hz, interval: 3s}
frontend:
  - name: web
    bind: [{addr_port: ":8080"}]
    use_backend: a
backend:
  - name: a
    servers: *servers
    health: *health
  - name: b
    servers: *servers
    health:
      <<: *health
      path: /other
`[1:])
	a, b := c.Backends[0], c.Backends[1]
	check(t, "aliased servers", len(b.Servers), 2)
	check(t, "aliased health path", a.Health.Path, "/hz")
	check(t, "merged health interval", b.Health.Interval, Duration(3*time.Second))
	check(t, "overridden health path", b.Health.Path, "/other")
}

func TestNearMissHints(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ yaml, want string }{
		{"defaults: {mxaconn: 1}", `defaults.mxaconn: unknown key; did you mean "maxconn"?`},
		{"defaults: {mode: TCP}", `defaults.mode: unknown mode "TCP"; did you mean "tcp"?`},
		{"global: {treads: 2}", `global.treads: unknown key; did you mean "threads"?`},
		{"global: {timeout_client: 2}", `global.timeout_client: unknown key here; it belongs in defaults, frontend`},
		{"defaults: {health_check: 2}", `defaults.health_check: unknown key here; it belongs in global`},
	} {
		_, err := Parse("t.yaml", []byte(tt.yaml+"\n"+base))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error = %v, want it to contain %q", tt.yaml, err, tt.want)
		}
	}
}

func TestAllErrorsAtOnce(t *testing.T) {
	t.Parallel()
	_, err := Parse("five.yaml", []byte(`
global:
  threads: several
frontend:
  - name: web
    mode: htpp
    maxconn: lots
    bind:
      - addr_port: 127.0.0.1:8080
    use_backnd: app
    use_backend: app
backend:
  - name: app
    balance: roundrobbin
    servers:
      - addr_port: 127.0.0.1:9000
`[1:]))
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse() error = %v, want Errors", err)
	}
	want := `five.yaml:2:12: global.threads: expected a positive integer or "max", got "several"
five.yaml:5:11: frontend[0].mode: unknown mode "htpp"; did you mean "http"?
five.yaml:6:14: frontend[0].maxconn: expected a non-negative integer, got "lots"
five.yaml:9:5: frontend[0].use_backnd: unknown key; did you mean "use_backend"?
five.yaml:13:14: backend[0].balance: unknown algorithm "roundrobbin"; did you mean "roundrobin"?`
	if len(errs) != 5 || err.Error() != want {
		t.Errorf("got %d errors:\n%v\nwant 5:\n%s", len(errs), err, want)
	}
}

func TestAliasBomb(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 12; i++ {
		b.WriteString("a" + string(rune('a'+i)) + ": &a" + string(rune('a'+i)) + " [")
		prev := "a0"
		if i > 1 {
			prev = "a" + string(rune('a'+i-1))
		}
		for j := 0; j < 10; j++ {
			b.WriteString("*" + prev + ", ")
		}
		b.WriteString("]\n")
	}
	_, err := Parse("bomb.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "too large once its aliases are expanded") {
		t.Errorf("Parse(alias bomb) error = %v", err)
	}
}

func TestHTTPSettings(t *testing.T) {
	t.Parallel()
	c := mustParse(t, `
global:
  access_log: {target: /var/log/fulcrum.log, format: json}
frontend:
  - name: a
    mode: http
    bind: [{addr_port: ":80"}]
    use_backend: b
    request_id: X-Trace
    forwarded: true
    server_header: hide
  - name: plain
    mode: http
    bind: [{addr_port: ":81"}]
    use_backend: b
    request_id: false
backend:
  - name: b
    pool: {max_idle: 8, idle_timeout: 5s}
    servers: [{addr_port: "127.0.0.1:8000"}]
  - name: c
    servers: [{addr_port: "127.0.0.1:8001"}]
`)
	check(t, "access_log", c.Global.AccessLog, AccessLog{Target: "/var/log/fulcrum.log", Format: "json"})
	check(t, "request_id", c.Frontends[0].RequestID, "X-Trace")
	check(t, "request_id off", c.Frontends[1].RequestID, "")
	check(t, "forwarded", c.Frontends[0].Forwarded, true)
	check(t, "server_header", c.Frontends[0].ServerHeader, "hide")
	check(t, "pool", c.Backends[0].Pool, Pool{MaxIdle: 8, IdleTimeout: Duration(5 * time.Second)})
	check(t, "default pool", c.Backends[1].Pool, Pool{MaxIdle: DefaultPoolMaxIdle, IdleTimeout: DefaultPoolIdleTimeout})
	c = mustParse(t, "global: {access_log: off}\nfrontend: [{name: f, bind: [{addr_port: ':1'}], use_backend: b}]\nbackend: [{name: b, servers: [{addr_port: 'h:1'}]}]\n")
	check(t, "access_log scalar", c.Global.AccessLog, AccessLog{Target: "off", Format: "text"})
	check(t, "default request_id", c.Frontends[0].RequestID, DefaultRequestID)
}
