package daemon

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// h2cClient speaks HTTP/2 without TLS, with prior knowledge.
func h2cClient() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{
		Timeout:       10 * time.Second,
		Transport:     &http.Transport{Protocols: &p},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func h2cYAML(rules, backends string) string {
	return strings.Replace(httpYAML(rules, backends), "    use_backend: app\n", "    use_backend: app\n    h2c: true\n", 1)
}

func TestH2CToHTTP1Backend(t *testing.T) {
	a, b := startHTTP(t, "a", nil), startHTTP(t, "b", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "b proto=%s xff=%s\n", r.Proto, r.Header.Get("X-Forwarded-For"))
	})
	rules := `    http_condition:
      - when: "path == '/old'"
        redirect: "'/new'"
        code: 301
`
	d, _ := start(t, h2cYAML(rules, serversYAML("app", "roundrobin", a, b)))
	front := "http://" + frontAddr(t, d, "web")
	cl := h2cClient()
	var got []string
	for range 4 {
		resp, err := cl.Get(front + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Fatalf("client got %s, want HTTP/2", resp.Proto)
		}
		got = append(got, strings.TrimSpace(string(body)))
	}
	if got[0] != "a" || got[1] != "b proto=HTTP/1.1 xff=127.0.0.1" || got[2] != "a" {
		t.Errorf("answers %q: want round robin a, b over HTTP/1.1 to the servers", got)
	}
	resp, err := cl.Get(front + "/old")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 301 || resp.Header.Get("Location") != "/new" {
		t.Errorf("redirect over h2: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// HTTP/1.1 still works on the same address.
	if _, body := get(t, client(), front+"/"); body == "" {
		t.Error("HTTP/1.1 on an h2c frontend got nothing")
	}
}

// grpcLikeServer is an h2c server that echoes each line of a streamed
// request body as it arrives and ends with gRPC-style trailers.
func grpcLikeServer(t *testing.T) *httpServer {
	t.Helper()
	s := &httpServer{name: "grpc"}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 {
			http.Error(w, "want HTTP/2", http.StatusHTTPVersionNotSupported)
			return
		}
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Trailer", "Grpc-Status, Grpc-Message")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		br := bufio.NewReader(r.Body)
		n := 0
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				break
			}
			n++
			fmt.Fprintf(w, "echo %s", line)
			w.(http.Flusher).Flush()
		}
		w.Header().Set("Grpc-Status", "0")
		w.Header().Set("Grpc-Message", fmt.Sprintf("%d messages", n))
	})
	s.Server = httptest.NewUnstartedServer(h)
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	s.Server.Config.Protocols = &p
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func TestGRPCStreamingWithTrailers(t *testing.T) {
	g := grpcLikeServer(t)
	backends := "  - name: app\n    proto: h2c\n    servers:\n      - {name: grpc, addr_port: " + g.addr() + "}\n"
	d, _ := start(t, h2cYAML("", backends))
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", "http://"+frontAddr(t, d, "web")+"/echo.Echo/Stream", pr)
	req.Header.Set("Content-Type", "application/grpc")
	req.Header.Set("TE", "trailers")
	resp, err := h2cClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Fatalf("status %d proto %s", resp.StatusCode, resp.Proto)
	}
	br := bufio.NewReader(resp.Body)
	// Bidirectional streaming: each message's echo arrives before the next
	// message is sent.
	for i := range 3 {
		fmt.Fprintf(pw, "message %d\n", i)
		line, err := br.ReadString('\n')
		if err != nil || line != fmt.Sprintf("echo message %d\n", i) {
			t.Fatalf("stream %d: got %q, %v", i, line, err)
		}
	}
	pw.Close()
	if rest, _ := io.ReadAll(br); len(rest) != 0 {
		t.Errorf("unexpected data after the stream: %q", rest)
	}
	if resp.Trailer.Get("Grpc-Status") != "0" || resp.Trailer.Get("Grpc-Message") != "3 messages" {
		t.Errorf("trailers %v, want Grpc-Status 0 and Grpc-Message '3 messages'", resp.Trailer)
	}
}

func TestH2CNoServer503(t *testing.T) {
	backends := "  - name: app\n    health: {type: tcp, timeout: 1s, interval: 20ms, rise: 1, fall: 1}\n    servers:\n      - {name: dead, addr_port: " + closedPort(t) + "}\n"
	d, _ := start(t, h2cYAML("", backends))
	srv := d.Snapshot().Backends["app"].Pool.Servers()[0]
	waitFor(t, "server down", func() bool { return !srv.State.Up() })
	resp, err := h2cClient().Get("http://" + frontAddr(t, d, "web") + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "503") {
		t.Errorf("got %d %q", resp.StatusCode, body)
	}
}

// TestH2ClientCancelIsNotServerFailure: HTTP/2 clients giving up on slow
// requests must not eject a healthy server.
func TestH2ClientCancelIsNotServerFailure(t *testing.T) {
	slow := startHTTP(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
		fmt.Fprint(w, "late")
	})
	backends := "  - name: app\n    passive: {fall: 2, hold: 10s}\n    servers:\n      - {name: slow, addr_port: " + slow.addr() + "}\n"
	d, _ := start(t, h2cYAML("", backends))
	url := "http://" + frontAddr(t, d, "web") + "/"
	for range 4 {
		cl := h2cClient()
		cl.Timeout = 100 * time.Millisecond
		if resp, err := cl.Get(url); err == nil {
			resp.Body.Close()
		}
	}
	time.Sleep(100 * time.Millisecond)
	if srv := d.Snapshot().Backends["app"].Pool.Servers()[0]; !srv.State.Up() {
		t.Fatal("clients cancelling took the server down")
	}
}
