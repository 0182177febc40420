package daemon

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestH2CHeadersToHTTP1Backend: an HTTP/2 request reaches an HTTP/1.1
// server with hop-by-hop fields removed, forwarding fields added and
// earlier hops kept, and the answer's hop-by-hop fields stay behind.
func TestH2CHeadersToHTTP1Backend(t *testing.T) {
	a := startHTTP(t, "a", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("X-Seen", fmt.Sprintf("proto=%s xff=%s xfp=%s xfh=%s te=%q drop=%q keep=%q uri=%s",
			r.Proto, r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Forwarded-Proto"),
			r.Header.Get("X-Forwarded-Host"), r.Header.Get("Te"), r.Header.Get("X-Drop"), r.Header.Get("X-Keep"), r.RequestURI))
		fmt.Fprint(w, "ok")
	})
	d, _ := start(t, h2cYAML("", serversYAML("app", "roundrobin", a)))
	req, _ := http.NewRequest("GET", "http://"+frontAddr(t, d, "web")+"/p/a%2Fb?q=1", nil)
	req.Header.Set("X-Forwarded-For", "10.0.0.1")
	req.Header.Set("X-Forwarded-Proto", "gopher")
	req.Header.Set("Te", "trailers")
	req.Header.Set("X-Keep", "yes")
	resp, err := h2cClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `proto=HTTP/1.1 xff=10.0.0.1, 127.0.0.1 xfp=http xfh=` + frontAddr(t, d, "web") + ` te="trailers" drop="" keep="yes" uri=/p/a%2Fb?q=1`
	if got := resp.Header.Get("X-Seen"); got != want || string(body) != "ok" {
		t.Errorf("server saw %q (body %q), want %q", got, body, want)
	}
	if resp.Header.Get("Keep-Alive") != "" {
		t.Error("hop-by-hop Keep-Alive reached the client")
	}
	if resp.ContentLength != 2 {
		t.Errorf("Content-Length %d, want 2", resp.ContentLength)
	}
}

// TestH2CBodiesToHTTP1Backend: request bodies of known and unknown length
// reach an HTTP/1.1 server, and a chunked answer streams back with its
// trailers.
func TestH2CBodiesToHTTP1Backend(t *testing.T) {
	a := startHTTP(t, "a", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Trailer", "X-Sum")
		w.Header().Set("X-Framing", fmt.Sprintf("cl=%d te=%v", r.ContentLength, r.TransferEncoding))
		w.WriteHeader(200)
		for i := range 3 {
			fmt.Fprintf(w, "%d:%s;", i, b)
			w.(http.Flusher).Flush()
		}
		w.Header().Set("X-Sum", fmt.Sprint(len(b)))
	})
	d, _ := start(t, h2cYAML("", serversYAML("app", "roundrobin", a)))
	url := "http://" + frontAddr(t, d, "web") + "/"
	for _, known := range []bool{true, false} {
		var body io.Reader = strings.NewReader("hello")
		if !known {
			body = io.MultiReader(strings.NewReader("hel"), strings.NewReader("lo"))
		}
		req, _ := http.NewRequest("POST", url, body)
		resp, err := h2cClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		framing := "cl=5 te=[]"
		if !known {
			framing = "cl=-1 te=[chunked]"
		}
		if string(got) != "0:hello;1:hello;2:hello;" || resp.Trailer.Get("X-Sum") != "5" || resp.Header.Get("X-Framing") != framing {
			t.Errorf("known length %v: body %q, trailer %v, framing %q (want %q)", known, got, resp.Trailer, resp.Header.Get("X-Framing"), framing)
		}
	}
}

// TestH2CStreamsChunkedAnswer: each chunk of a streamed HTTP/1.1 answer
// reaches the HTTP/2 client before the next one is sent.
func TestH2CStreamsChunkedAnswer(t *testing.T) {
	next := make(chan struct{})
	a := startHTTP(t, "a", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			fmt.Fprintf(w, "event %d\n", i)
			w.(http.Flusher).Flush()
			select {
			case <-next:
			case <-time.After(5 * time.Second):
				return
			}
		}
	})
	d, _ := start(t, h2cYAML("", serversYAML("app", "roundrobin", a)))
	resp, err := h2cClient().Get("http://" + frontAddr(t, d, "web") + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for i := range 3 {
		line, err := br.ReadString('\n')
		if err != nil || line != fmt.Sprintf("event %d\n", i) {
			t.Fatalf("event %d: %q, %v", i, line, err)
		}
		next <- struct{}{}
	}
}

// TestH2CTruncatedAnswerResets: an answer cut short by its server is not
// passed off as complete: the client's stream fails.
func TestH2CTruncatedAnswerResets(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			br := bufio.NewReader(c)
			for {
				line, err := br.ReadString('\n')
				if err != nil || line == "\r\n" {
					break
				}
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")
			c.Close()
		}
	}()
	backends := "  - name: app\n    servers:\n      - {name: cut, addr_port: " + ln.Addr().String() + "}\n"
	d, _ := start(t, h2cYAML("", backends))
	resp, err := h2cClient().Get("http://" + frontAddr(t, d, "web") + "/")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Error("a truncated answer read as complete")
	}
}

// TestH2CRetriesAnotherServer: a server that refuses connections is
// skipped, and a 503 on a replayable request is retried elsewhere when
// retry_on says so.
func TestH2CRetriesAnotherServer(t *testing.T) {
	bad := startHTTP(t, "bad", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
	good := startHTTP(t, "good", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "good") })
	backends := "  - name: app\n    balance: roundrobin\n    retry_on: [empty-response, '503']\n    servers:\n" +
		"      - {name: dead, addr_port: " + closedPort(t) + "}\n" +
		"      - {name: bad, addr_port: " + bad.addr() + "}\n" +
		"      - {name: good, addr_port: " + good.addr() + "}\n"
	d, _ := start(t, h2cYAML("", backends))
	cl := h2cClient()
	for i := range 3 {
		resp, err := cl.Get("http://" + frontAddr(t, d, "web") + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "good" {
			t.Errorf("request %d: %d %q, want 200 from the good server", i, resp.StatusCode, body)
		}
	}
}

// TestH2CLargeAnswers: answers far larger than what the client connection
// queues (64 KiB) arrive whole, on concurrent streams.
func TestH2CLargeAnswers(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	a := startHTTP(t, "a", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, big) })
	d, _ := start(t, h2cYAML("", serversYAML("app", "roundrobin", a)))
	cl := h2cClient()
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			resp, err := cl.Get("http://" + frontAddr(t, d, "web") + "/")
			if err != nil {
				errs <- err
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && string(b) != big {
				err = fmt.Errorf("got %d bytes, want %d", len(b), len(big))
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
