package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary builds fulcrum once per test run.
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "fulcrum-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "fulcrum")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// need fails in CI (where scripts/test.sh installs every tool) and skips
// elsewhere when a Debian tool is missing.
func need(t *testing.T, tool string) string {
	t.Helper()
	for _, p := range []string{tool, "/usr/sbin/" + tool} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed; scripts/test.sh installs it", tool)
	}
	t.Skipf("%s is not installed (scripts/test.sh installs it)", tool)
	return ""
}

// referenceDir finds the Noxy example configurations beside the repository.
func referenceDir(t *testing.T) string {
	t.Helper()
	dir, _ := filepath.Abs(".")
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		for _, cand := range []string{filepath.Join(d, "shared", "reference"), filepath.Join(d, "..", "shared", "reference")} {
			if _, err := os.Stat(filepath.Join(cand, "noxy-minimal.yaml")); err == nil {
				return cand
			}
		}
	}
	t.Fatal("shared/reference with the Noxy examples not found beside the repository")
	return ""
}

func TestCheckNoxyReferences(t *testing.T) {
	ref := referenceDir(t)
	tmp := t.TempDir()
	for _, f := range []string{"cert.pem", "key.pem", "ca-cert.pem"} {
		os.WriteFile(filepath.Join(tmp, f), []byte("placeholder\n"), 0o600)
	}
	for _, name := range []string{"noxy-minimal.yaml", "noxy-simple.yaml", "noxy-complex.yaml"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(ref, name))
			if err != nil {
				t.Fatal(err)
			}
			data = bytes.ReplaceAll(data, []byte("/app/"), []byte(tmp+"/"))
			file := filepath.Join(tmp, name)
			os.WriteFile(file, data, 0o600)
			var out, errb bytes.Buffer
			if code := realMain([]string{"check", "-c", file}, &out, &errb); code != 0 {
				t.Fatalf("check exit %d:\n%s", code, errb.String())
			}
			if !strings.Contains(out.String(), "valid") {
				t.Errorf("stdout = %q", out.String())
			}
		})
	}
}

func TestCheckReportsEveryError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(file, []byte(`defaults:
  mode: tcp
frontend:
  - name: f
    bind:
      - addr_port: 127.0.0.1:80
    use_backnd: b
backend:
  - name: b
    balance: roundrobbin
    servers:
      - addr_port: 127.0.0.1:8000
        weight: lots
`), 0o600)
	var out, errb bytes.Buffer
	if code := realMain([]string{"check", "-c", file}, &out, &errb); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	got := errb.String()
	for _, want := range []string{
		file + `:7:5: frontend[0].use_backnd: unknown key; did you mean "use_backend"?`,
		file + `:10:14: backend[0].balance: unknown algorithm "roundrobbin"; did you mean "roundrobin"?`,
		file + `:13:17: backend[0].servers[0].weight:`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("stderr lacks %q:\n%s", want, got)
		}
	}
}

func TestUsageAndVersion(t *testing.T) {
	var out, errb bytes.Buffer
	if code := realMain([]string{"version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "fulcrum ") {
		t.Errorf("version: exit %d, %q", code, out.String())
	}
	if code := realMain([]string{"nonsense"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), `unknown command "nonsense"`) {
		t.Errorf("unknown command: exit %d, %q", code, errb.String())
	}
	if code := realMain([]string{"run"}, &out, &errb); code != 2 {
		t.Errorf("run without -c: exit %d", code)
	}
	if code := realMain([]string{"run", "-c", "x", "--log-format", "xml"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "--log-format") {
		t.Errorf("bad --log-format: exit %d, %q", code, errb.String())
	}
}

// process is a running fulcrum binary whose output is collected.
type process struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan error
}

func startBinary(t *testing.T, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(binary(t), args...), done: make(chan error, 1)}
	pr, pw, _ := os.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitOutput waits until the output matches re and returns the submatches.
func (p *process) waitOutput(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(p.output()); m != nil {
			return m
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("output never matched %s:\n%s", re, p.output())
	return nil
}

// stop sends SIGTERM and waits for a clean exit.
func (p *process) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, p.output())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("no exit 15s after SIGTERM:\n%s", p.output())
	}
}

func curl(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, need(t, "curl"), "-sS", "--max-time", "5", url).CombinedOutput()
	if err != nil {
		t.Fatalf("curl %s: %v\n%s", url, err, out)
	}
	return string(out)
}

// TestDemo runs `fulcrum demo` and follows what it tells the user to try,
// with curl.
func TestDemo(t *testing.T) {
	need(t, "curl")
	p := startBinary(t, "demo", "--listen", "127.0.0.1:0")
	m := p.waitOutput(t, regexp.MustCompile(`curl -s http://(\S+)/down`))
	second := m[1]
	front := p.waitOutput(t, regexp.MustCompile(`frontend "demo" on (\S+),`))[1]
	var got []string
	for range 6 {
		got = append(got, strings.Fields(curl(t, "http://"+front+"/"))[2])
	}
	if s := strings.Join(got, " "); s != "demo-1 demo-2 demo-3 demo-1 demo-2 demo-3" {
		t.Errorf("answers = %s, want demo-1..3 in turn", s)
	}
	curl(t, "http://"+second+"/down")
	p.waitOutput(t, regexp.MustCompile(`server=demo-2 .*state=DOWN`))
	for range 4 {
		if who := curl(t, "http://"+front+"/"); strings.Contains(who, "demo-2") {
			t.Errorf("demo-2 answered while down: %s", who)
		}
	}
	curl(t, "http://"+second+"/up")
	p.waitOutput(t, regexp.MustCompile(`server=demo-2 .*state=UP`))
	p.stop(t)
}

// TestRunWithNginx serves two real nginx servers through `fulcrum run`, with
// curl as the client.
func TestRunWithNginx(t *testing.T) {
	ngx := need(t, "nginx")
	need(t, "curl")
	var servers []string
	for _, name := range []string{"nginx-a", "nginx-b"} {
		servers = append(servers, startNginx(t, ngx, name))
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "fulcrum.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`
defaults: {mode: tcp, timeout_connect: 1s}
frontend:
  - name: web
    bind: [{addr_port: 127.0.0.1:%d}]
    use_backend: nginx
backend:
  - name: nginx
    balance: roundrobin
    health: {type: http, path: /, interval: 200ms}
    servers:
      - {name: a, addr_port: %s}
      - {name: b, addr_port: %s}
`, freePort(t), servers[0], servers[1])), 0o600)
	p := startBinary(t, "run", "-c", cfg, "--log-format", "json")
	front := p.waitOutput(t, regexp.MustCompile(`"msg":"listening","frontend":"web","addr":"([^"]+)"`))[1]
	seen := map[string]int{}
	for range 10 {
		seen[strings.TrimSpace(curl(t, "http://"+front+"/"))]++
	}
	if seen["nginx-a"] != 5 || seen["nginx-b"] != 5 {
		t.Errorf("answers %v, want 5 each", seen)
	}
	p.stop(t)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startNginx runs a single-process nginx answering name on a free port.
func startNginx(t *testing.T, ngx, name string) string {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	runNginx(t, ngx, t.TempDir(), addr, fmt.Sprintf(`server {
    listen %s;
    location / { return 200 "%s\n"; }
  }`, addr, name))
	return addr
}

// runNginx runs a single-process nginx in dir until the test ends, its
// http block made of settings every test wants and then servers, and waits
// until it accepts connections on addr. pre, if given, is a command that
// runs nginx (taskset -c 1, say).
func runNginx(t *testing.T, ngx, dir, addr, servers string, pre ...string) {
	t.Helper()
	conf := fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log stderr warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  %[2]s
}
`, dir, servers)
	file := filepath.Join(dir, "nginx.conf")
	os.WriteFile(file, []byte(conf), 0o600)
	args := append(append([]string{}, pre...), ngx, "-p", dir, "-c", file)
	cmd := exec.Command(args[0], args[1:]...)
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitPort(t, addr, "nginx", &out)
}

// TestNoxyMinimalWithNginx serves Noxy's minimal example, unmodified but for
// its addresses, in front of two real nginx servers, with curl as client.
func TestNoxyMinimalWithNginx(t *testing.T) {
	ngx := need(t, "nginx")
	need(t, "curl")
	a, b := startNginx(t, ngx, "nginx-a"), startNginx(t, ngx, "nginx-b")
	data, err := os.ReadFile(filepath.Join(referenceDir(t), "noxy-minimal.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	front := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	text := strings.NewReplacer("127.0.0.1:3030", front, "127.0.0.1:8000", a, "127.0.0.1:8001", b).Replace(string(data))
	cfg := filepath.Join(t.TempDir(), "noxy-minimal.yaml")
	os.WriteFile(cfg, []byte(text), 0o600)
	p := startBinary(t, "run", "-c", cfg)
	p.waitOutput(t, regexp.MustCompile(`msg=listening frontend=http_front`))
	var got []string
	for range 4 {
		got = append(got, strings.TrimSpace(curl(t, "http://"+front+"/")))
	}
	if s := strings.Join(got, " "); s != "nginx-a nginx-b nginx-a nginx-b" {
		t.Errorf("answers %q, want round robin over the two nginx servers", s)
	}
	// The access log (stdout by default) has a line per request.
	p.waitOutput(t, regexp.MustCompile(`(?s)(frontend=http_front backend=http_backend .*){4}`))
	p.stop(t)
}
