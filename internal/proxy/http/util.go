package http

import (
	"bytes"
	"math/rand/v2"
	"unsafe"

	"github.com/fulcrum-lb/fulcrum/internal/balance"
	"github.com/fulcrum-lb/fulcrum/internal/proxy/http/h1"
	"github.com/fulcrum-lb/fulcrum/internal/runtime"
)

// ustr views b as a string without copying. The string is valid only while
// b's memory is not reused: callers use it within one request and never
// keep it.
func ustr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

func randFloat() float64 { return rand.Float64() }

// cookieValue returns the value of cookie name in the request's Cookie
// headers, or nil.
func cookieValue(req *h1.Request, name string) []byte {
	for _, h := range req.Headers {
		if !eqFold(h.Name, "Cookie") {
			continue
		}
		v := h.Value
		for len(v) > 0 {
			var part []byte
			if i := bytes.IndexByte(v, ';'); i >= 0 {
				part, v = v[:i], v[i+1:]
			} else {
				part, v = v, nil
			}
			part = bytes.TrimLeft(part, " \t")
			if len(part) > len(name) && part[len(name)] == '=' && string(part[:len(name)]) == name {
				val := part[len(name)+1:]
				if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
					val = val[1 : len(val)-1]
				}
				return bytes.TrimRight(val, " \t")
			}
		}
	}
	return nil
}

// hashKey computes the request's affinity key for be's hashing algorithm.
func (s *session) hashKey(be *runtime.Backend) uint64 {
	switch k := be.Key; {
	case k == "" || k == "src":
		return balance.HashAddr(s.src)
	case k == "uri":
		return balance.HashBytes(s.uri())
	case len(k) > 7 && k[:7] == "header:":
		if v := s.req.Header(k[7:]); len(v) > 0 {
			return balance.HashBytes(v)
		}
	case len(k) > 7 && k[:7] == "cookie:":
		if v := cookieValue(&s.req, k[7:]); len(v) > 0 {
			return balance.HashBytes(v)
		}
	}
	return 0 // no key: the picker falls back to round robin
}

// requestID takes the request's ID from the configured header, or makes one.
func (s *session) requestID() {
	name := s.fe.HTTP.RequestID
	if name == "" {
		return
	}
	if v := s.req.Header(name); len(v) > 0 && len(v) <= 128 {
		s.id = append(s.id[:0], v...)
		return
	}
	s.id = s.p.requestID(s.id[:0])
}
