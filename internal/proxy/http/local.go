package http

import (
	"bytes"
	"strconv"
)

// statusText is the reason phrase of the statuses fulcrum answers itself.
func statusText(code int) string {
	switch code {
	case 301:
		return "Moved Permanently"
	case 302:
		return "Found"
	case 303:
		return "See Other"
	case 307:
		return "Temporary Redirect"
	case 308:
		return "Permanent Redirect"
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 408:
		return "Request Timeout"
	case 413:
		return "Content Too Large"
	case 414:
		return "URI Too Long"
	case 429:
		return "Too Many Requests"
	case 499:
		return "Client Closed Request"
	case 431:
		return "Request Header Fields Too Large"
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 504:
		return "Gateway Timeout"
	case 505:
		return "HTTP Version Not Supported"
	}
	return "Error"
}

// fail answers an error status fulcrum decided itself, with a short body in
// JSON when the client accepts it, HTML otherwise, unless a response was
// already under way (then the connection is closed).
func (s *session) fail(code int, msg string) {
	if s.committed {
		s.closeAfter = true
		return
	}
	if code >= 500 {
		s.fe.Counters.Errors.Add(1)
	}
	s.discardBody()
	ctype, body := errorBody(code, msg, s.req.Header("Accept"))
	if page, ok := s.fe.HTTP.ErrorPages[code]; ok {
		ctype, body = page.ContentType, page.Body
	}
	extra := ""
	if code == 503 {
		extra = "Retry-After: 1\r\n"
	}
	if code == 400 || code == 408 || code == 431 || code == 414 || code == 505 || code == 501 {
		s.closeAfter = true
	}
	s.local(code, ctype, extra, body)
}

// errorBody is the body of an error fulcrum answers itself: JSON when the
// client accepts it, a short HTML page otherwise.
func errorBody(code int, msg string, accept []byte) (ctype string, body []byte) {
	if bytes.Contains(accept, []byte("application/json")) {
		body = append(body, `{"status":`...)
		body = strconv.AppendInt(body, int64(code), 10)
		body = append(body, `,"error":`...)
		body = strconv.AppendQuote(body, msg)
		return "application/json", append(body, "}\n"...)
	}
	t := statusText(code)
	body = append(body, "<!DOCTYPE html>\n<html><head><title>"...)
	body = strconv.AppendInt(body, int64(code), 10)
	body = append(body, ' ')
	body = append(body, t...)
	body = append(body, "</title></head><body><h1>"...)
	body = strconv.AppendInt(body, int64(code), 10)
	body = append(body, ' ')
	body = append(body, t...)
	body = append(body, "</h1><p>"...)
	body = append(body, msg...) // fulcrum's own text, no markup
	return "text/html; charset=utf-8", append(body, "</p></body></html>\n"...)
}

// redirect answers a redirect rule.
func (s *session) redirect(code int, location string) {
	if code == 0 {
		code = 302
	}
	s.discardBody()
	s.local(code, "", "Location: "+location+"\r\n", nil)
}

// deny answers a deny rule.
func (s *session) deny(code int, body string) {
	if code == 0 {
		code = 403
	}
	s.discardBody()
	s.local(code, "text/plain; charset=utf-8", "", []byte(body))
}

// local writes a response fulcrum makes itself.
func (s *session) local(code int, ctype, extra string, body []byte) {
	s.log.status = code
	if s.p.draining.Load() {
		s.closeAfter = true
	}
	out := s.out[:0]
	out = append(out, "HTTP/1.1 "...)
	out = strconv.AppendInt(out, int64(code), 10)
	out = append(out, ' ')
	out = append(out, statusText(code)...)
	out = append(out, "\r\n"...)
	if ctype != "" {
		out = append(out, "Content-Type: "...)
		out = append(out, ctype...)
		out = append(out, "\r\n"...)
	}
	out = append(out, "Content-Length: "...)
	out = strconv.AppendInt(out, int64(len(body)), 10)
	out = append(out, "\r\n"...)
	out = append(out, extra...)
	if s.fe.HTTP.ServerHeader != "" && s.fe.HTTP.ServerHeader != "-" {
		out = append(out, "Server: "...)
		out = append(out, s.fe.HTTP.ServerHeader...)
		out = append(out, "\r\n"...)
	}
	if s.closeAfter {
		out = append(out, "Connection: close\r\n"...)
	}
	out = append(out, "\r\n"...)
	if string(s.req.Method) != "HEAD" {
		out = append(out, body...)
	}
	s.out = out
	s.committed = true
	s.log.bytesOut += int64(len(body))
	if _, err := s.cc.Write(out); err != nil {
		s.closeAfter = true
	}
}
