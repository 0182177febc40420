package http

import (
	"strconv"

	"github.com/fulcrum-lb/fulcrum/internal/backend"
	"github.com/fulcrum-lb/fulcrum/internal/proxy/http/h1"
	"github.com/fulcrum-lb/fulcrum/internal/rules"
)

// eqFold compares an ASCII header name case-insensitively.
func eqFold(a []byte, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x|0x20 != y|0x20 {
			return false
		}
		if x|0x20 < 'a' || x|0x20 > 'z' {
			if x != y {
				return false
			}
		}
	}
	return true
}

func (s *session) deleted(name []byte, dels []string) bool {
	for _, d := range dels {
		if eqFold(name, d) {
			return true
		}
	}
	return false
}

func (s *session) setByRule(name []byte, sets []rules.HeaderOp) bool {
	for _, h := range sets {
		if eqFold(name, h.Name) {
			return true
		}
	}
	return false
}

// appendRequestHead appends the request head to send to srv: hop-by-hop
// headers removed, forwarding headers added, rules applied.
func (s *session) appendRequestHead(dst []byte, _ *backend.Server) []byte {
	req := &s.req
	fe := s.fe
	dst = append(dst, req.Method...)
	dst = append(dst, ' ')
	if s.res.PathPrefix != "" {
		dst = append(dst, s.res.PathPrefix...)
	}
	dst = append(dst, s.uri()...)
	dst = append(dst, " HTTP/1.1\r\n"...)
	var xff []byte
	nxff := 0
	sets := s.res.SetHeader
	for _, h := range req.Headers {
		switch {
		case req.IsHopByHop(h.Name), eqFold(h.Name, "Content-Length"):
			continue // Content-Length goes out once, normalised, below
		case eqFold(h.Name, "X-Forwarded-For"):
			// Earlier proxies' addresses are kept, ours appended.
			if nxff > 0 {
				xff = append(xff, ", "...)
			}
			xff = append(xff, h.Value...)
			nxff++
			continue
		case eqFold(h.Name, "X-Forwarded-Proto"), eqFold(h.Name, "X-Forwarded-Host"):
			continue
		case fe.HTTP.ClientCertHeaders && clientCertHeader(h.Name):
			continue
		case fe.HTTP.Forwarded && eqFold(h.Name, "Forwarded"):
			continue
		case len(s.res.DelHeader) > 0 && s.deleted(h.Name, s.res.DelHeader):
			continue
		case len(sets) > 0 && s.setByRule(h.Name, sets):
			continue
		}
		dst = h1.AppendHeader(dst, h.Name, h.Value)
	}
	// X-Forwarded-For: the previous hops, then this client.
	dst = append(dst, "X-Forwarded-For: "...)
	if nxff > 0 {
		dst = append(dst, xff...)
		dst = append(dst, ", "...)
	}
	dst = append(dst, s.srcTxt...)
	dst = append(dst, "\r\nX-Forwarded-Proto: "...)
	dst = append(dst, s.scheme()...)
	if len(s.host) > 0 {
		dst = append(dst, "\r\nX-Forwarded-Host: "...)
		dst = append(dst, s.host...)
	}
	dst = append(dst, "\r\n"...)
	if fe.HTTP.Forwarded {
		dst = s.appendForwarded(dst)
	}
	if t := s.tls; t != nil && fe.HTTP.ClientCertHeaders {
		dst = appendClientCertHeaders(dst, t)
	}
	if fe.HTTP.RequestID != "" && req.Header(fe.HTTP.RequestID) == nil {
		dst = append(dst, fe.HTTP.RequestID...)
		dst = append(dst, ": "...)
		dst = append(dst, s.id...)
		dst = append(dst, "\r\n"...)
	}
	for _, h := range sets {
		dst = append(dst, h.Name...)
		dst = append(dst, ": "...)
		dst = append(dst, h.Value...)
		dst = append(dst, "\r\n"...)
	}
	if req.Chunked {
		dst = append(dst, "Transfer-Encoding: chunked\r\n"...)
	} else if req.ContentLength >= 0 {
		dst = h1.AppendContentLength(dst, req.ContentLength)
	}
	if req.Upgrade != nil {
		dst = append(dst, "Connection: Upgrade\r\nUpgrade: "...)
		dst = append(dst, req.Upgrade...)
		dst = append(dst, "\r\n"...)
	}
	return append(dst, "\r\n"...)
}

// appendForwarded appends an RFC 7239 Forwarded header: the previous ones'
// elements, then this hop's.
func (s *session) appendForwarded(dst []byte) []byte {
	dst = append(dst, "Forwarded: "...)
	n := 0
	for _, h := range s.req.Headers {
		if eqFold(h.Name, "Forwarded") {
			if n > 0 {
				dst = append(dst, ", "...)
			}
			dst = append(dst, h.Value...)
			n++
		}
	}
	if n > 0 {
		dst = append(dst, ", "...)
	}
	dst = append(dst, "for="...)
	if s.src.Is6() {
		dst = append(dst, "\"["...)
		dst = append(dst, s.srcTxt...)
		dst = append(dst, "]\""...)
	} else {
		dst = append(dst, s.srcTxt...)
	}
	dst = append(dst, ";proto="...)
	dst = append(dst, s.scheme()...)
	if len(s.host) > 0 {
		dst = append(dst, ";host=\""...)
		dst = append(dst, s.host...)
		dst = append(dst, '"')
	}
	return append(dst, "\r\n"...)
}

func (s *session) scheme() string {
	if s.tls != nil {
		return "https"
	}
	return "http"
}

// appendResponseHead appends the response head for the client.
func (s *session) appendResponseHead(dst []byte) []byte {
	resp := &s.resp
	fe := s.fe
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(resp.Status), 10)
	dst = append(dst, ' ')
	dst = append(dst, resp.Reason...)
	dst = append(dst, "\r\n"...)
	sets := s.res.SetResponseHeader
	for _, h := range resp.Headers {
		switch {
		case resp.IsHopByHop(h.Name), eqFold(h.Name, "Content-Length"):
			continue // Content-Length goes out once, normalised, below
		case fe.HTTP.ServerHeader != "" && eqFold(h.Name, "Server"):
			continue
		case len(s.res.DelResponseHeader) > 0 && s.deleted(h.Name, s.res.DelResponseHeader):
			continue
		case len(sets) > 0 && s.setByRule(h.Name, sets):
			continue
		}
		dst = h1.AppendHeader(dst, h.Name, h.Value)
	}
	if fe.HTTP.ServerHeader != "" && fe.HTTP.ServerHeader != "-" {
		dst = append(dst, "Server: "...)
		dst = append(dst, fe.HTTP.ServerHeader...)
		dst = append(dst, "\r\n"...)
	}
	if s.setCookie != "" && resp.Status >= 200 {
		dst = s.be.Persist.Cookie.AppendSetCookie(dst, s.setCookie)
	}
	for _, h := range sets {
		dst = append(dst, h.Name...)
		dst = append(dst, ": "...)
		dst = append(dst, h.Value...)
		dst = append(dst, "\r\n"...)
	}
	if resp.Status == 101 {
		dst = append(dst, "Connection: Upgrade\r\nUpgrade: "...)
		dst = append(dst, resp.Upgrade...)
		dst = append(dst, "\r\n"...)
	} else if resp.Status >= 200 {
		if resp.Chunked && !resp.NoBody {
			dst = append(dst, "Transfer-Encoding: chunked\r\n"...)
		} else if resp.ContentLength >= 0 && !resp.Chunked {
			// Kept even on HEAD and 304 answers, where it describes the
			// body a GET would get.
			dst = h1.AppendContentLength(dst, resp.ContentLength)
		}
		if s.closeAfter {
			dst = append(dst, "Connection: close\r\n"...)
		}
	}
	return append(dst, "\r\n"...)
}

// appendClientCertHeaders tells the server about the client's certificate.
// fulcrum sets these headers itself; values a client sent under the same
// names are dropped (see clientCertHeader).
func appendClientCertHeaders(dst []byte, t *ConnTLS) []byte {
	dst = append(dst, "X-SSL-Client-Verified: "...)
	if t.ClientVerified {
		dst = append(dst, "1\r\n"...)
		dst = append(dst, "X-SSL-Client-CN: "...)
		dst = append(dst, t.ClientCN...)
		dst = append(dst, "\r\nX-SSL-Client-SHA256: "...)
		dst = append(dst, t.ClientSHA256...)
		return append(dst, "\r\n"...)
	}
	return append(dst, "0\r\n"...)
}

// clientCertHeader reports whether name is one of the headers fulcrum sets
// from the client's certificate, which a client must not be able to send.
func clientCertHeader(name []byte) bool {
	return eqFold(name, "X-SSL-Client-Verified") || eqFold(name, "X-SSL-Client-CN") || eqFold(name, "X-SSL-Client-SHA256")
}
