package http

import (
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// logEntry is what the access log records about one request.
type logEntry struct {
	start                    time.Time
	backend, server          string
	status                   int
	bytesIn, bytesOut        int64
	queue, connect, response time.Duration
	retries                  int
}

// AccessLog writes one line per request, in text (key=value) or JSON,
// without blocking the request path: lines are formatted by the caller into
// pooled buffers and written by one goroutine; when it falls behind, lines
// are dropped and counted rather than slowing requests. Create it with
// NewAccessLog; Close flushes and stops it.
type AccessLog struct {
	w    io.Writer
	json bool
	ch   chan *[]byte
	bufs sync.Pool
	done chan struct{}
	// Dropped counts lines lost because the writer fell behind.
	Dropped atomic.Uint64
}

// NewAccessLog starts an access log writing to w.
func NewAccessLog(w io.Writer, json bool) *AccessLog {
	l := &AccessLog{w: w, json: json, ch: make(chan *[]byte, 4096), done: make(chan struct{})}
	l.bufs.New = func() any { b := make([]byte, 0, 512); return &b }
	go l.run()
	return l
}

func (l *AccessLog) run() {
	defer close(l.done)
	batch := make([]byte, 0, 64<<10)
	for b := range l.ch {
		batch = append(batch[:0], *b...)
		l.bufs.Put(b)
		// Gather what else is waiting into one write.
	more:
		for len(batch) < 60<<10 {
			select {
			case b, ok := <-l.ch:
				if !ok {
					break more
				}
				batch = append(batch, *b...)
				l.bufs.Put(b)
			default:
				break more
			}
		}
		l.w.Write(batch)
	}
}

// Close writes what is queued and stops the writer.
func (l *AccessLog) Close() {
	close(l.ch)
	<-l.done
}

// logRequest formats the current request's line and queues it.
func (s *session) logRequest() {
	if s.p.access == nil || s.log.start.IsZero() {
		return
	}
	s.p.access.write(&s.log, logFields{client: ustr(s.srcTxt), frontend: s.fe.Name,
		method: s.req.Method, host: s.host, path: s.path, id: s.id})
}

// logFields are the request's own words in a log line.
type logFields struct {
	client, frontend       string
	method, host, path, id []byte
}

// write formats one line and queues it for the writer.
func (l *AccessLog) write(e *logEntry, f logFields) {
	bp := l.bufs.Get().(*[]byte)
	b := (*bp)[:0]
	total := time.Since(e.start)
	field := func(k string) {
		if l.json {
			if len(b) > 1 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, k...)
			b = append(b, `":`...)
		} else {
			if len(b) > 0 {
				b = append(b, ' ')
			}
			b = append(b, k...)
			b = append(b, '=')
		}
	}
	str := func(k string, v []byte) {
		field(k)
		if l.json || needsQuote(v) {
			b = strconv.AppendQuote(b, ustr(v))
		} else if len(v) == 0 {
			b = append(b, `""`...)
		} else {
			b = append(b, v...)
		}
	}
	num := func(k string, v int64) {
		field(k)
		b = strconv.AppendInt(b, v, 10)
	}
	ms := func(k string, d time.Duration) {
		field(k)
		b = strconv.AppendFloat(b, float64(d.Microseconds())/1000, 'f', 3, 64)
	}
	if l.json {
		b = append(b, '{')
	}
	field("time")
	if l.json {
		b = append(b, '"')
	}
	b = e.start.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	if l.json {
		b = append(b, '"')
	}
	str("client", []byte(f.client))
	str("frontend", []byte(f.frontend))
	str("backend", []byte(e.backend))
	str("server", []byte(e.server))
	str("method", f.method)
	str("host", f.host)
	str("path", f.path)
	num("status", int64(e.status))
	num("bytes_in", e.bytesIn)
	num("bytes_out", e.bytesOut)
	ms("queue_ms", e.queue)
	ms("connect_ms", e.connect)
	ms("response_ms", e.response)
	ms("total_ms", total)
	str("request_id", f.id)
	num("retries", int64(e.retries))
	if l.json {
		b = append(b, '}')
	}
	b = append(b, '\n')
	*bp = b
	select {
	case l.ch <- bp:
	default:
		l.Dropped.Add(1)
		l.bufs.Put(bp)
	}
}

// needsQuote reports whether a text-format value must be quoted.
func needsQuote(v []byte) bool {
	for _, c := range v {
		if c <= ' ' || c == '"' || c == '=' || c >= 0x7f {
			return true
		}
	}
	return false
}
