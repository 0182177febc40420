package health

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// step is one scripted response.
type step struct {
	status int
	body   string
	delay  time.Duration // before answering, cut short if the client leaves
	header map[string]string
}

// seen is what the server saw of one request.
type seen struct {
	method, host, uri string
	close             bool
	userAgent         string
}

// script is an HTTP handler answering each request with the next step; the
// last step repeats (Traefik's HealthSequence).
type script struct {
	mu    sync.Mutex
	steps []step
	n     int
	reqs  []seen
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	st := s.steps[min(s.n, len(s.steps)-1)]
	s.n++
	s.reqs = append(s.reqs, seen{r.Method, r.Host, r.RequestURI, r.Close, r.UserAgent()})
	s.mu.Unlock()
	if st.delay > 0 {
		select {
		case <-time.After(st.delay):
		case <-r.Context().Done():
			return
		}
	}
	for k, v := range st.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(st.status)
	io.WriteString(w, st.body)
}

func (s *script) requests() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.reqs...)
}

// serve starts an httptest server playing steps.
func serve(t *testing.T, steps ...step) (*script, string) {
	t.Helper()
	s := &script{steps: steps}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, strings.TrimPrefix(srv.URL, "http://")
}

func mustHTTP(t *testing.T, o HTTPOptions) *HTTP {
	t.Helper()
	h, err := NewHTTP(o)
	if err != nil {
		t.Fatalf("NewHTTP(%+v): %v", o, err)
	}
	return h
}

func check(t *testing.T, c Checker, addr string, timeout time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := c.Check(ctx, addr); err != nil {
		failureOf(t, err)
		return err.Error()
	}
	return ""
}

func TestHTTPCheck(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 70<<10) + "ok"
	tests := []struct {
		name string
		opts HTTPOptions
		step step
		want string // "" for a pass
	}{
		{"200 passes", HTTPOptions{}, step{status: 200}, ""},
		{"399 passes by default", HTTPOptions{}, step{status: 399}, ""},
		{"503 fails", HTTPOptions{}, step{status: 503}, "status 503, expected 200-399"},
		{"redirect is not followed", HTTPOptions{}, step{status: 302, header: map[string]string{"Location": "/elsewhere"}}, ""},
		{"redirect fails an exact expectation", HTTPOptions{Expect: []StatusRange{{200, 200}}},
			step{status: 302, header: map[string]string{"Location": "/elsewhere"}}, "status 302, expected 200"},
		{"several ranges", HTTPOptions{Expect: []StatusRange{{200, 204}, {404, 404}}}, step{status: 404}, ""},
		{"several ranges fail", HTTPOptions{Expect: []StatusRange{{200, 204}, {404, 404}}}, step{status: 500},
			"status 500, expected 200-204,404"},
		{"body contains", HTTPOptions{Body: "ok"}, step{status: 200, body: `{"status":"ok"}`}, ""},
		{"body does not contain", HTTPOptions{Body: "ok"}, step{status: 200, body: "degraded"}, `body does not contain "ok"`},
		{"status checked before body", HTTPOptions{Body: "ok"}, step{status: 500, body: "ok"}, "status 500, expected 200-399"},
		{"only 64 KiB of body are read", HTTPOptions{Body: "ok"}, step{status: 200, body: big}, `body does not contain "ok"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, addr := serve(t, tt.step)
			if got := check(t, mustHTTP(t, tt.opts), addr, 5*time.Second); got != tt.want {
				t.Errorf("Check() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHTTPCheckSequence(t *testing.T) {
	t.Parallel()
	s, addr := serve(t, step{status: 200}, step{status: 503}, step{status: 200, body: "nope"}, step{status: 204})
	h := mustHTTP(t, HTTPOptions{})
	want := []string{"", "status 503, expected 200-399", "", ""}
	for i, w := range want {
		if got := check(t, h, addr, 5*time.Second); got != w {
			t.Errorf("check %d = %q, want %q", i, got, w)
		}
	}
	if n := len(s.requests()); n != len(want) {
		t.Errorf("server saw %d requests, want %d", n, len(want))
	}
}

func TestHTTPCheckRequest(t *testing.T) {
	t.Parallel()
	s, addr := serve(t, step{status: 200})
	check(t, mustHTTP(t, HTTPOptions{}), addr, 5*time.Second)
	check(t, mustHTTP(t, HTTPOptions{Method: "HEAD", Path: "/healthz?full=1", Host: "app.example"}), addr, 5*time.Second)
	got := s.requests()
	want := []seen{
		{"GET", addr, "/", true, "fulcrum-health-check"},
		{"HEAD", "app.example", "/healthz?full=1", true, "fulcrum-health-check"},
	}
	if len(got) != len(want) {
		t.Fatalf("server saw %d requests, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestHTTPCheckTimeout(t *testing.T) {
	t.Parallel()
	_, addr := serve(t, step{status: 200, delay: 5 * time.Second})
	err := mustHTTP(t, HTTPOptions{}).Check(timeoutCtx(t, 20*time.Millisecond), addr)
	// The exact budget in the reason depends on when Check started; the
	// group names its configured timeout (TestGroupTimeoutReason).
	if f := failureOf(t, err); !f.Timeout || !strings.HasPrefix(f.Reason, "timeout after ") {
		t.Fatalf("Check() = %q (timeout %v), want timeout after ...", f.Reason, f.Timeout)
	}
}

func TestHTTPCheckBodyTimeout(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	err := mustHTTP(t, HTTPOptions{Body: "ok"}).Check(timeoutCtx(t, 50*time.Millisecond), strings.TrimPrefix(srv.URL, "http://"))
	if f := failureOf(t, err); !f.Timeout {
		t.Fatalf("Check() = %q, want a timeout", f.Reason)
	}
}

func TestHTTPCheckRefused(t *testing.T) {
	t.Parallel()
	if got := check(t, mustHTTP(t, HTTPOptions{}), closedAddr(t), 5*time.Second); got != "connection refused" {
		t.Fatalf("Check() = %q, want connection refused", got)
	}
}

func TestNewHTTPInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts HTTPOptions
		want string
	}{
		{"method with space", HTTPOptions{Method: "GE T"}, `invalid method "GE T"`},
		{"relative path", HTTPOptions{Path: "health"}, `invalid path "health": want an absolute path such as /health`},
		{"absolute URL", HTTPOptions{Path: "http://x/health"}, `invalid path "http://x/health": want an absolute path such as /health`},
		{"range reversed", HTTPOptions{Expect: []StatusRange{{399, 200}}}, "invalid status range 399-200: want 100 <= low <= high <= 599"},
		{"range too high", HTTPOptions{Expect: []StatusRange{{200, 600}}}, "invalid status range 200-600: want 100 <= low <= high <= 599"},
		{"HEAD with body", HTTPOptions{Method: "HEAD", Body: "ok"}, "a HEAD check cannot expect a body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewHTTP(tt.opts)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("NewHTTP() error = %v, want %q", err, tt.want)
			}
		})
	}
}

func timeoutCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
