package h1

import "bytes"

// Response is a parsed response head. Its slices point into the buffer it
// was parsed from. A Response may be reused: ParseResponse resets it and
// keeps the capacity of Headers.
type Response struct {
	// Minor is the minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
	Minor int
	// Status is the status code, 100 to 599.
	Status int
	// Reason is the reason phrase, possibly empty.
	Reason []byte
	// Headers are the header fields in the order received.
	Headers []Header

	// ContentLength is the body's length, or -1 when there is no
	// Content-Length or a Transfer-Encoding overrides it (RFC 9112 6.3).
	ContentLength int64
	// Chunked reports "Transfer-Encoding: chunked".
	Chunked bool
	// Close reports that the connection cannot carry another exchange:
	// "Connection: close", HTTP/1.0 without "Connection: keep-alive", or a
	// body delimited by the connection closing.
	Close bool
	// NoBody reports a response without a body whatever its headers say:
	// 1xx, 204, 304, or a response to HEAD.
	NoBody bool
	// Upgrade is the Upgrade header's value when a Connection header lists
	// "upgrade", else nil. It matters for 101 (Switching Protocols).
	Upgrade []byte

	connection bool // a Connection field is present
}

// Reset clears r, keeping the capacity of Headers.
func (r *Response) Reset() {
	*r = Response{Headers: r.Headers[:0], ContentLength: -1}
}

// Header returns the value of the first header field named name, ignoring
// case, or nil when there is none.
func (r *Response) Header(name string) []byte { return lookup(r.Headers, name) }

// IsHopByHop reports whether a header field named name must not be
// forwarded; see Request.IsHopByHop.
func (r *Response) IsHopByHop(name []byte) bool {
	return isHopByHop(r.Headers, r.connection, name)
}

// BodyUntilClose reports whether the body is delimited by the connection
// closing: no Content-Length, not chunked, and a status that has a body.
func (r *Response) BodyUntilClose() bool {
	return !r.NoBody && !r.Chunked && r.ContentLength < 0
}

// ParseResponse parses a response head at the start of b into r; head
// reports that the request was HEAD. It returns the head's length,
// ErrIncomplete, or an *Error (which the caller answers with 502). The rules
// are those of ParseRequest, except that a Transfer-Encoding overrides a
// Content-Length instead of being an error.
func ParseResponse(b []byte, r *Response, head bool) (int, error) {
	r.Reset()
	if r.Headers == nil {
		r.Headers = make([]Header, 0, initFields)
	}
	start, err := skipBlankLines(b)
	if err != nil {
		return 0, err
	}
	line, i, err := startLine(b, start)
	if err != nil {
		return 0, err
	}
	if err := r.parseStatusLine(line); err != nil {
		return 0, err
	}
	n, err := parseFields(b, i, &r.Headers)
	if err != nil {
		return 0, err
	}
	if err := r.derive(head); err != nil {
		return 0, err
	}
	return n, nil
}

// parseStatusLine parses HTTP-version SP 3DIGIT [SP reason-phrase]. The
// space before an empty reason phrase may be missing, as many servers omit it.
func (r *Response) parseStatusLine(line []byte) error {
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 {
		if _, err := parseVersion(line); err != nil {
			return err
		}
		return errStatusLine
	}
	minor, err := parseVersion(line[:sp])
	if err != nil {
		return err
	}
	rest := line[sp+1:]
	if len(rest) < 3 || !all(rest[:3], cDigit) || len(rest) > 3 && rest[3] != ' ' {
		return errStatus
	}
	status := int(rest[0]-'0')*100 + int(rest[1]-'0')*10 + int(rest[2]-'0')
	if status < 100 || status > 599 {
		return errStatus
	}
	reason := rest[3:]
	if len(reason) > 0 {
		reason = reason[1:]
	}
	if !validValue(reason) {
		return errReason
	}
	r.Minor, r.Status, r.Reason = minor, status, exact(reason)
	return nil
}

// derive checks the fields that frame the response and sets the derived
// members of r.
func (r *Response) derive(head bool) error {
	var (
		cl      = int64(-1)
		clBad   bool
		te      codings
		teSeen  bool
		conn    connTokens
		upgrade []byte
	)
	for i := range r.Headers {
		h := &r.Headers[i]
		switch kindOf(h.Name) {
		case kContentLength:
			n, ok := parseContentLength(h.Value)
			if !ok || cl >= 0 && n != cl {
				clBad = true
			}
			cl = n
		case kTransferEncoding:
			teSeen = true
			te.add(h.Value)
		case kConnection:
			r.connection = true
			if !conn.add(h.Value) {
				return errConnection
			}
		case kUpgrade:
			if upgrade == nil {
				upgrade = h.Value
			}
		}
	}
	r.NoBody = head || r.Status < 200 || r.Status == 204 || r.Status == 304
	if teSeen {
		// A Transfer-Encoding overrides a Content-Length (RFC 9112 6.3 item 3);
		// in HTTP/1.0 the framing is faulty (RFC 9112 6.1).
		if r.Minor == 0 {
			return errTEHTTP10
		}
		if err := te.result(); err != nil {
			return err
		}
		r.Chunked = true
	} else {
		if clBad {
			return errContentLength
		}
		r.ContentLength = cl
	}
	r.Close = conn.close || r.Minor == 0 && !conn.keepAlive || r.BodyUntilClose()
	if conn.upgrade && len(upgrade) > 0 {
		r.Upgrade = upgrade
	}
	return nil
}
