package daemon

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
)

func persistYAML(persist string, servers ...*httpServer) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  - name: app\n    health: {type: tcp, timeout: 1s, interval: 30ms, rise: 1, fall: 1}\n    persist: %s\n    servers:\n", persist)
	for _, s := range servers {
		fmt.Fprintf(&b, "      - {name: %s, addr_port: %s}\n", s.name, s.addr())
	}
	return strings.Replace(httpYAML("", b.String()), "global:\n", "global:\n  cookie_secret: 0123456789abcdef0123456789abcdef\n", 1)
}

func TestStickyCookie(t *testing.T) {
	servers := []*httpServer{startHTTP(t, "a", nil), startHTTP(t, "b", nil), startHTTP(t, "c", nil)}
	d, _ := start(t, persistYAML("{type: cookie, cookie: {name: SRV, max_age: 1h}}", servers...))
	url := "http://" + frontAddr(t, d, "web") + "/"
	jar, _ := cookiejar.New(nil)
	cl := client()
	cl.Jar = jar

	resp, first := get(t, cl, url)
	setCookie := resp.Header.Get("Set-Cookie")
	if !strings.HasPrefix(setCookie, "SRV=v1.") || !strings.Contains(setCookie, "Max-Age=3600") || !strings.Contains(setCookie, "HttpOnly") {
		t.Fatalf("Set-Cookie = %q", setCookie)
	}
	if strings.Contains(setCookie, "127.0.0.1") {
		t.Errorf("the cookie reveals the server's address: %q", setCookie)
	}
	for i := range 100 {
		resp, body := get(t, cl, url)
		if body != first {
			t.Fatalf("request %d went to %q, not the sticky %q", i, body, first)
		}
		if resp.Header.Get("Set-Cookie") != "" {
			t.Fatalf("request %d: cookie set again while valid", i)
		}
	}
	// The sticky server goes down: requests move and the cookie is re-set.
	var sticky *httpServer
	for _, s := range servers {
		if s.name+"\n" == first {
			sticky = s
		}
	}
	sticky.Close()
	srv := d.Snapshot().Backends["app"].Pool.Servers()
	waitFor(t, "sticky server down", func() bool {
		for _, s := range srv {
			if s.Name()+"\n" == first && !s.State.Up() {
				return true
			}
		}
		return false
	})
	resp, moved := get(t, cl, url)
	if moved == first || resp.StatusCode != 200 {
		t.Fatalf("after its server went down: %d %q", resp.StatusCode, moved)
	}
	if c := resp.Header.Get("Set-Cookie"); !strings.HasPrefix(c, "SRV=v1.") || c == setCookie {
		t.Errorf("cookie not re-set for the new server: %q", c)
	}
	for range 10 {
		if _, body := get(t, cl, url); body != moved {
			t.Fatalf("not sticky to the new server: %q then %q", moved, body)
		}
	}
	// A forged or stale cookie is ignored, and replaced.
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Cookie", "SRV=v1.AAAAAAAAAAAAAAAA")
	resp, err := client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Set-Cookie"), "SRV=v1.") {
		t.Errorf("forged cookie: %d, Set-Cookie %q", resp.StatusCode, resp.Header.Get("Set-Cookie"))
	}
}

func TestStickyHeaderAndSource(t *testing.T) {
	servers := []*httpServer{startHTTP(t, "a", nil), startHTTP(t, "b", nil), startHTTP(t, "c", nil)}
	t.Run("header", func(t *testing.T) {
		d, _ := start(t, persistYAML("{type: header, header: X-Session, expire: 1m}", servers...))
		url := "http://" + frontAddr(t, d, "web") + "/"
		cl := client()
		spread := map[string]bool{}
		for i := range 12 {
			session := fmt.Sprintf("session-%d", i)
			_, first := get(t, cl, url, "X-Session", session)
			spread[first] = true
			for range 5 {
				if _, again := get(t, cl, url, "X-Session", session); again != first {
					t.Fatalf("%s went to %q then %q", session, first, again)
				}
			}
		}
		if len(spread) < 2 {
			t.Errorf("12 sessions all on %v: new sessions must still be balanced", spread)
		}
	})
	t.Run("source", func(t *testing.T) {
		d, _ := start(t, persistYAML("{type: source, expire: 1m}", servers...))
		url := "http://" + frontAddr(t, d, "web") + "/"
		cl := client()
		_, first := get(t, cl, url)
		for range 10 {
			if _, again := get(t, cl, url); again != first {
				t.Fatalf("client went to %q then %q", first, again)
			}
		}
	})
}

func TestStickyCookieOverH2(t *testing.T) {
	servers := []*httpServer{startHTTP(t, "a", nil), startHTTP(t, "b", nil)}
	yaml := strings.Replace(persistYAML("cookie", servers...), "    use_backend: app\n", "    use_backend: app\n    h2c: true\n", 1)
	d, _ := start(t, yaml)
	url := "http://" + frontAddr(t, d, "web") + "/"
	cl := h2cClient()
	jar, _ := cookiejar.New(nil)
	cl.Jar = jar
	var first string
	for i := range 10 {
		resp, err := cl.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if i == 0 {
			first = string(body)
			if !strings.HasPrefix(resp.Header.Get("Set-Cookie"), "SRVID=v1.") {
				t.Fatalf("Set-Cookie %q", resp.Header.Get("Set-Cookie"))
			}
		} else if string(body) != first {
			t.Fatalf("request %d went to %q, not %q", i, body, first)
		}
	}
}
