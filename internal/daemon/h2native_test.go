package daemon

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2raw is a bare HTTP/2 client with prior knowledge: it writes and reads
// frames itself, to check what client libraries hide (flow control, resets,
// GOAWAY).
type h2raw struct {
	t    *testing.T
	c    net.Conn
	fr   *http2.Framer
	enc  *hpack.Encoder
	hbuf bytes.Buffer
}

// dialH2 opens a connection to addr and sends the preface and settings
// (next acknowledges the server's).
func dialH2(t *testing.T, addr string, settings ...http2.Setting) *h2raw {
	t.Helper()
	c := dialSend(t, addr, http2.ClientPreface)
	h := &h2raw{t: t, c: c, fr: http2.NewFramer(c, c)}
	h.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	h.enc = hpack.NewEncoder(&h.hbuf)
	if err := h.fr.WriteSettings(settings...); err != nil {
		t.Fatal(err)
	}
	return h
}

// headers sends a HEADERS frame with fields in order.
func (h *h2raw) headers(id uint32, end bool, fields ...string) {
	h.t.Helper()
	h.hbuf.Reset()
	for i := 0; i+1 < len(fields); i += 2 {
		h.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	if err := h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: h.hbuf.Bytes(), EndStream: end, EndHeaders: true}); err != nil {
		h.t.Fatal(err)
	}
}

// get sends a GET for path on stream id.
func (h *h2raw) get(id uint32, path string) {
	h.headers(id, true, ":method", "GET", ":scheme", "http", ":authority", "x", ":path", path)
}

// next returns the next frame that is not about settings (settings are
// acknowledged), a ping or a window update (this client sends no body).
func (h *h2raw) next() http2.Frame {
	h.t.Helper()
	for {
		f, err := h.fr.ReadFrame()
		if err != nil {
			h.t.Fatalf("reading a frame: %v", err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				h.fr.WriteSettingsAck()
			}
			continue
		case *http2.PingFrame, *http2.WindowUpdateFrame:
			continue
		}
		return f
	}
}

// want returns the next frame as a T, failing the test with what came
// instead.
func want[T http2.Frame](h *h2raw) T {
	h.t.Helper()
	f := h.next()
	got, ok := f.(T)
	if !ok {
		h.t.Fatalf("got %T %+v, want %T", f, f, got)
	}
	return got
}

// status returns the :status of a response HEADERS frame.
func status(f *http2.MetaHeadersFrame) string { return f.PseudoValue("status") }

// TestH2FlowControlToClient: a client that opens a window of 1000 bytes per
// stream never gets more than its windows allow, and gets the whole body as
// it opens them again.
func TestH2FlowControlToClient(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 300<<10/16)
	srv := startHTTP(t, "s", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, big) })
	d, _ := start(t, h2cYAML("", serversYAML("app", "roundrobin", srv)))
	h := dialH2(t, frontAddr(t, d, "web"), http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1000})
	h.get(1, "/")
	streamWin, connWin := int64(1000), int64(65535)
	var got bytes.Buffer
	for {
		switch f := h.next().(type) {
		case *http2.MetaHeadersFrame:
			if status(f) != "200" {
				t.Fatalf("status %s", status(f))
			}
			if f.StreamEnded() {
				t.Fatal("the response ended with its head")
			}
		case *http2.DataFrame:
			n := int64(len(f.Data()))
			if n > streamWin || n > connWin {
				t.Fatalf("DATA of %d bytes with windows of %d (stream) and %d (connection)", n, streamWin, connWin)
			}
			streamWin -= n
			connWin -= n
			got.Write(f.Data())
			if f.StreamEnded() {
				if got.String() != big {
					t.Fatalf("got %d bytes, want %d", got.Len(), len(big))
				}
				return
			}
			// Give the windows back a little at a time, once used up.
			if streamWin == 0 {
				h.fr.WriteWindowUpdate(1, 1000)
				streamWin += 1000
			}
			if connWin < 16<<10 {
				h.fr.WriteWindowUpdate(0, uint32(65535-connWin))
				connWin = 65535
			}
		case *http2.RSTStreamFrame:
			t.Fatalf("stream reset: %v", f.ErrCode)
		case *http2.GoAwayFrame:
			t.Fatalf("GOAWAY: %v", f.ErrCode)
		}
	}
}

// TestH2UploadFlowControl: a body of several times the connection's window
// reaches the server whole: fulcrum gives the windows back as the body is
// forwarded.
func TestH2UploadFlowControl(t *testing.T) {
	srv := startHTTP(t, "s", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, _ := io.Copy(h, r.Body)
		fmt.Fprintf(w, "%d %x", n, h.Sum(nil))
	})
	d, _ := start(t, h2cYAML("", serversYAML("app", "roundrobin", srv)))
	body := bytes.Repeat([]byte("fulcrum upload "), 5<<20/15)
	resp, err := h2cClient().Post("http://"+frontAddr(t, d, "web")+"/", "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := fmt.Sprintf("%d %x", len(body), sha256.Sum256(body)); string(got) != want || resp.ProtoMajor != 2 {
		t.Fatalf("HTTP/%d: %q, want %q", resp.ProtoMajor, got, want)
	}
}

// TestH2MalformedAndRefusedStreams: malformed requests (a missing or
// repeated pseudo field, one after a regular field, a connection-specific
// field, an upper-case name, TE other than trailers) are reset with
// PROTOCOL_ERROR, a head over the limit is answered 431, a head split over
// CONTINUATION frames is served, a stream past the 250 that may be open at
// once is refused; the connection serves on through all of it.
func TestH2MalformedAndRefusedStreams(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	srv := startHTTP(t, "s", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-release:
			case <-time.After(10 * time.Second):
			}
		}
		io.WriteString(w, "ok")
	})
	d, _ := start(t, h2cYAML("", serversYAML("app", "roundrobin", srv)))
	t.Cleanup(free)
	h := dialH2(t, frontAddr(t, d, "web"))
	malformed := [][]string{
		{":method", "GET", ":scheme", "http", ":authority", "x"}, // no :path
		{":method", "GET", ":scheme", "http", ":authority", "x", ":path", "/", "connection", "keep-alive"},
		{":method", "GET", ":scheme", "http", ":authority", "x", ":path", "/", "X-Upper", "1"},
		{":method", "GET", ":scheme", "http", "accept", "*/*", ":authority", "x", ":path", "/"}, // pseudo after regular
		{":method", "GET", ":scheme", "http", ":authority", "x", ":path", "/", ":path", "/again"},
		{":method", "GET", ":scheme", "http", ":authority", "x", ":path", "/", "te", "gzip"},
	}
	id := uint32(1)
	for _, fields := range malformed {
		h.headers(id, true, fields...)
		if f := want[*http2.RSTStreamFrame](h); f.StreamID != id || f.ErrCode != http2.ErrCodeProtocol {
			t.Fatalf("%q: RST_STREAM %v on stream %d, want PROTOCOL_ERROR on %d", fields, f.ErrCode, f.StreamID, id)
		}
		id += 2
	}
	// A head larger than the limit is answered 431.
	h.hbuf.Reset()
	for _, f := range []hpack.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"}, {Name: ":authority", Value: "x"}, {Name: ":path", Value: "/"}, {Name: "x-big", Value: strings.Repeat("b", 40<<10)}} {
		h.enc.WriteField(f)
	}
	for b, first := h.hbuf.Bytes(), true; len(b) > 0; first = false {
		n := min(len(b), 16<<10)
		if first {
			h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: b[:n], EndStream: true, EndHeaders: n == len(b)})
		} else {
			h.fr.WriteContinuation(id, n == len(b), b[:n])
		}
		b = b[n:]
	}
	if f := want[*http2.MetaHeadersFrame](h); f.StreamID != id || status(f) != "431" || !f.StreamEnded() {
		t.Fatalf("stream %d: status %s on %d, want 431", id, status(f), f.StreamID)
	}
	id += 2
	// A head split over HEADERS and CONTINUATION frames is served.
	h.hbuf.Reset()
	for _, f := range []hpack.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"}, {Name: ":authority", Value: "x"}, {Name: ":path", Value: "/split"}} {
		h.enc.WriteField(f)
	}
	block := h.hbuf.Bytes()
	h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block[:3], EndStream: true})
	h.fr.WriteContinuation(id, false, block[3:5])
	h.fr.WriteContinuation(id, true, block[5:])
	if f := want[*http2.MetaHeadersFrame](h); f.StreamID != id || status(f) != "200" {
		t.Fatalf("split head: status %s on stream %d", status(f), f.StreamID)
	}
	if f := want[*http2.DataFrame](h); string(f.Data()) != "ok" || !f.StreamEnded() {
		t.Fatalf("split head: body %q", f.Data())
	}
	id += 2
	// 250 streams wait for the server; the 251st is refused.
	for range 250 {
		h.get(id, "/slow")
		id += 2
	}
	h.get(id, "/slow")
	if f, ok := h.next().(*http2.RSTStreamFrame); !ok || f.StreamID != id || f.ErrCode != http2.ErrCodeRefusedStream {
		t.Fatalf("stream %d: got %v, want RST_STREAM REFUSED_STREAM", id, f)
	}
	free()
	answered := 0
	for answered < 250 {
		switch f := h.next().(type) {
		case *http2.MetaHeadersFrame:
			if status(f) != "200" {
				t.Fatalf("stream %d: status %s", f.StreamID, status(f))
			}
		case *http2.DataFrame:
			if f.StreamEnded() {
				answered++
			}
		default:
			t.Fatalf("unexpected %v", f)
		}
	}
}

// TestH2IdleConnectionEnds: a connection without a stream for
// timeout_client gets a GOAWAY and is closed.
func TestH2IdleConnectionEnds(t *testing.T) {
	srv := startHTTP(t, "s", nil)
	yaml := strings.Replace(h2cYAML("", serversYAML("app", "roundrobin", srv)), "timeout_client: 5s", "timeout_client: 300ms", 1)
	d, _ := start(t, yaml)
	h := dialH2(t, frontAddr(t, d, "web"))
	h.get(1, "/")
	for {
		if f, ok := h.next().(*http2.DataFrame); ok && f.StreamEnded() {
			break
		}
	}
	began := time.Now()
	f, ok := h.next().(*http2.GoAwayFrame)
	if !ok || f.ErrCode != http2.ErrCodeNo || f.LastStreamID != 1 {
		t.Fatalf("got %v, want GOAWAY NO_ERROR after stream 1", f)
	}
	if waited := time.Since(began); waited < 200*time.Millisecond {
		t.Errorf("GOAWAY after %v idle, want about 300ms", waited)
	}
	if _, err := h.fr.ReadFrame(); !errors.Is(err, io.EOF) {
		t.Errorf("after GOAWAY: %v, want the connection closed", err)
	}
}

// TestH2ShutdownFinishesStreams: on shutdown an HTTP/2 client is told
// GOAWAY, and the stream in flight still gets its whole answer.
func TestH2ShutdownFinishesStreams(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	srv := startHTTP(t, "s", func(w http.ResponseWriter, r *http.Request) {
		<-release
		io.WriteString(w, "finished")
	})
	d, _ := start(t, h2cYAML("", serversYAML("app", "roundrobin", srv)))
	t.Cleanup(free) // first, also when the test fails: the server waits for its handler
	h := dialH2(t, frontAddr(t, d, "web"))
	h.get(1, "/")
	waitFor(t, "the request at the server", func() bool { return srv.requests.Load() == 1 })
	done := make(chan int, 1)
	go func() { done <- d.Shutdown(5 * time.Second) }()
	if f := want[*http2.GoAwayFrame](h); f.ErrCode != http2.ErrCodeNo || f.LastStreamID != 1 {
		t.Fatalf("GOAWAY %v after stream %d, want NO_ERROR after 1", f.ErrCode, f.LastStreamID)
	}
	free()
	var body []byte
	for {
		if f, ok := h.next().(*http2.DataFrame); ok {
			body = append(body, f.Data()...)
			if f.StreamEnded() {
				break
			}
		}
	}
	if string(body) != "finished" {
		t.Errorf("body %q", body)
	}
	if forced := <-done; forced != 0 {
		t.Errorf("%d connections closed by force", forced)
	}
}

// TestH2ResetCutsServerWait: a client that resets its stream while the
// server is still working ends the wait for the server at once: the
// server connection is dropped, and the server sees its request canceled.
func TestH2ResetCutsServerWait(t *testing.T) {
	canceled := make(chan time.Time, 1)
	srv := startHTTP(t, "s", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			canceled <- time.Now()
		case <-time.After(10 * time.Second):
		}
	})
	d, _ := start(t, h2cYAML("", serversYAML("app", "roundrobin", srv)))
	h := dialH2(t, frontAddr(t, d, "web"))
	h.get(1, "/")
	waitFor(t, "the request at the server", func() bool { return srv.requests.Load() == 1 })
	reset := time.Now()
	if err := h.fr.WriteRSTStream(1, http2.ErrCodeCancel); err != nil {
		t.Fatal(err)
	}
	select {
	case at := <-canceled:
		if took := at.Sub(reset); took > time.Second {
			t.Errorf("the server's request was canceled %v after the reset", took)
		}
	case <-time.After(4 * time.Second): // timeout_server is 5s
		t.Fatal("the server's request was not canceled after the reset")
	}
}

// TestH2SurvivesRandomFrames: connections that send frames of every type
// with random flags, streams and payloads (a fixed seed) are ended or
// reset as the protocol says; none takes the server down, and a proper
// request is served after them.
func TestH2SurvivesRandomFrames(t *testing.T) {
	srv := startHTTP(t, "s", nil)
	d, _ := start(t, h2cYAML("", serversYAML("app", "roundrobin", srv)))
	addr := frontAddr(t, d, "web")
	rng := rand.New(rand.NewPCG(5, 9))
	for conn := range 400 {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, http2.ClientPreface)
		fr := http2.NewFramer(c, c)
		fr.AllowIllegalWrites = true
		fr.WriteSettings()
		var enc bytes.Buffer
		he := hpack.NewEncoder(&enc)
		for range 1 + rng.IntN(12) {
			id := uint32(2*rng.IntN(6) + 1) // client streams, mostly
			if rng.IntN(5) == 0 {
				id = uint32(rng.IntN(12))
			}
			switch kind := rng.IntN(10); kind {
			case 0: // a plausible head, maybe cut short
				enc.Reset()
				he.WriteField(hpack.HeaderField{Name: ":method", Value: "GET"})
				he.WriteField(hpack.HeaderField{Name: ":path", Value: "/"})
				he.WriteField(hpack.HeaderField{Name: ":scheme", Value: "http"})
				b := enc.Bytes()
				fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: b[:rng.IntN(len(b)+1)],
					EndStream: rng.IntN(2) == 0, EndHeaders: rng.IntN(4) != 0})
			default: // any frame type, random flags and payload
				n := []int{4, 5, 6, 8, 9, 12, rng.IntN(40)}[rng.IntN(7)] // lengths some frame types need
				payload := make([]byte, n)
				for i := range payload {
					payload[i] = byte(rng.UintN(256))
				}
				fr.WriteRawFrame(http2.FrameType(rng.IntN(11)), http2.Flags(rng.UintN(256)), id, payload)
			}
		}
		// Read what comes back until the server is done with the
		// connection, or for a moment.
		c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		io.Copy(io.Discard, c)
		c.Close()
		if conn%100 == 99 {
			h := dialH2(t, addr)
			h.get(1, "/")
			if f := want[*http2.MetaHeadersFrame](h); status(f) != "200" {
				t.Fatalf("after %d random connections: status %s", conn+1, status(f))
			}
		}
	}
}
