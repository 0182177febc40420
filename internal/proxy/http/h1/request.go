package h1

import "bytes"

// Request is a parsed request head. Its slices point into the buffer it was
// parsed from. A Request may be reused: ParseRequest resets it and keeps the
// capacity of Headers.
type Request struct {
	// Method and Target are the request line's method (a token, case kept)
	// and request-target, as received.
	Method, Target []byte
	// Minor is the minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
	Minor int
	// Headers are the header fields in the order received.
	Headers []Header

	// Host is the Host header's value (required, and single, in HTTP/1.1).
	// For an absolute-form target it equals Authority (case aside); an
	// HTTP/1.0 request with an absolute-form target and no Host header gets
	// Authority here.
	Host []byte
	// ContentLength is the body's length, or -1 when there is no
	// Content-Length (a chunked body, or no body at all).
	ContentLength int64
	// Chunked reports "Transfer-Encoding: chunked".
	Chunked bool
	// Close reports that the client wants the connection closed after this
	// exchange: HTTP/1.0 without "Connection: keep-alive", or
	// "Connection: close".
	Close bool
	// Upgrade is the Upgrade header's value when a Connection header lists
	// "upgrade" in an HTTP/1.1 request, else nil.
	Upgrade []byte
	// Expect100 reports "Expect: 100-continue" in an HTTP/1.1 request.
	Expect100 bool

	// Authority is the authority (host[:port]) of an absolute-form target
	// such as "http://example.com:8080/x", and nil for the other forms.
	Authority []byte
	// Path is the target in origin-form, as a server expects it: Target
	// itself for origin-form and "*", the path and query of an
	// absolute-form target ("/" when it has no path).
	Path []byte

	connection bool // a Connection field is present
}

// slash is the origin-form of an absolute-form target without a path.
var slash = []byte("/")

// Reset clears r, keeping the capacity of Headers.
func (r *Request) Reset() {
	*r = Request{Headers: r.Headers[:0], ContentLength: -1}
}

// Header returns the value of the first header field named name, ignoring
// case, or nil when there is none. A present but empty field gives a
// non-nil empty slice.
func (r *Request) Header(name string) []byte { return lookup(r.Headers, name) }

// IsHopByHop reports whether a header field named name must not be
// forwarded: Connection, Keep-Alive, Proxy-Connection, TE, Trailer,
// Transfer-Encoding, Upgrade, Proxy-Authenticate, Proxy-Authorization, and
// every name listed in the request's Connection fields.
func (r *Request) IsHopByHop(name []byte) bool {
	return isHopByHop(r.Headers, r.connection, name)
}

// ParseRequest parses a request head at the start of b into r. It returns the
// head's length (up to and including the empty line), ErrIncomplete when b
// holds only a valid beginning of a head, or an *Error. Empty lines before
// the request line are skipped and counted in the length. ParseRequest does
// not allocate once r.Headers has the capacity it needs (it starts at 32).
func ParseRequest(b []byte, r *Request) (int, error) {
	r.Reset()
	if r.Headers == nil {
		r.Headers = make([]Header, 0, initFields)
	}
	start, err := skipBlankLines(b)
	if err != nil {
		return 0, err
	}
	line, i, err := startLine(b, start)
	if err == ErrIncomplete {
		return 0, checkPartialRequestLine(b[start:])
	}
	if err != nil {
		return 0, err
	}
	if err := r.parseRequestLine(line); err != nil {
		return 0, err
	}
	n, err := parseFields(b, i, &r.Headers)
	if err != nil {
		return 0, err
	}
	if err := r.derive(); err != nil {
		return 0, err
	}
	return n, nil
}

// checkPartialRequestLine rejects the beginning of a request line early when
// its method or target is already malformed; otherwise it returns
// ErrIncomplete.
func checkPartialRequestLine(b []byte) error {
	sp := bytes.IndexByte(b, ' ')
	if sp < 0 {
		if !all(b, cToken) {
			return errMethod
		}
		return ErrIncomplete
	}
	if !isToken(b[:sp]) {
		return errMethod
	}
	target := b[sp+1:]
	if sp2 := bytes.IndexByte(target, ' '); sp2 >= 0 {
		target = target[:sp2]
	}
	if !all(target, cTarget) {
		return errTarget
	}
	return ErrIncomplete
}

// parseRequestLine parses method SP request-target SP HTTP-version.
func (r *Request) parseRequestLine(line []byte) error {
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 {
		return errRequestLine
	}
	method := line[:sp]
	if !isToken(method) {
		return errMethod
	}
	rest := line[sp+1:]
	sp = bytes.IndexByte(rest, ' ')
	if sp <= 0 {
		return errRequestLine // no version, or two spaces
	}
	target := rest[:sp]
	if !all(target, cTarget) {
		return errTarget
	}
	minor, err := parseVersion(rest[sp+1:])
	if err != nil {
		return err
	}
	r.Method, r.Target, r.Minor = exact(method), exact(target), minor
	if string(method) == "CONNECT" {
		return errConnect
	}
	return r.parseTarget()
}

// parseVersion parses "HTTP/1.0" or "HTTP/1.1". Another HTTP/x.y gives 505;
// anything else 400.
func parseVersion(v []byte) (int, error) {
	if len(v) != 8 || string(v[:5]) != "HTTP/" || v[6] != '.' ||
		class[v[5]]&cDigit == 0 || class[v[7]]&cDigit == 0 {
		return 0, errVersion
	}
	if v[5] != '1' || v[7] > '1' {
		return 0, errHTTPVersion
	}
	return int(v[7] - '0'), nil
}

// parseTarget checks the target's form (RFC 9112 3.2) and sets Path and
// Authority. Origin-form and absolute-form (http and https) are accepted,
// asterisk-form only for OPTIONS.
func (r *Request) parseTarget() error {
	t := r.Target
	switch {
	case t[0] == '/':
		r.Path = t
		return nil
	case t[0] == '*':
		if len(t) != 1 || string(r.Method) != "OPTIONS" {
			return errTarget
		}
		r.Path = t
		return nil
	}
	var rest []byte
	switch {
	case hasPrefixFold(t, "http://"):
		rest = t[len("http://"):]
	case hasPrefixFold(t, "https://"):
		rest = t[len("https://"):]
	default:
		return errTarget
	}
	end := bytes.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	auth := rest[:end]
	// userinfo is deprecated and an error (RFC 9110 4.2.4).
	if len(auth) == 0 || bytes.IndexByte(auth, '@') >= 0 || !validHost(auth) {
		return errTarget
	}
	r.Authority = exact(auth)
	switch path := rest[end:]; {
	case len(path) == 0:
		r.Path = slash[:1:1]
	case path[0] == '?':
		// "http://host?q" has no origin-form without copying; refuse it.
		return errTarget
	default:
		r.Path = exact(path)
	}
	return nil
}

// derive checks the fields that frame and route the request and sets the
// derived members of r.
func (r *Request) derive() error {
	var (
		hosts   int
		cl      = int64(-1)
		te      codings
		teSeen  bool
		conn    connTokens
		upgrade []byte
	)
	for i := range r.Headers {
		h := &r.Headers[i]
		switch kindOf(h.Name) {
		case kHost:
			hosts++
			r.Host = h.Value
		case kContentLength:
			n, ok := parseContentLength(h.Value)
			if !ok || cl >= 0 && n != cl {
				return errContentLength
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
		case kExpect:
			if eqFold(h.Value, "100-continue") {
				r.Expect100 = true
			}
		}
	}
	if err := r.deriveHost(hosts); err != nil {
		return err
	}
	if teSeen {
		switch {
		case r.Minor == 0:
			return errTEHTTP10
		case cl >= 0:
			return errTEAndCL
		}
		if err := te.result(); err != nil {
			return err
		}
		r.Chunked = true
	}
	r.ContentLength = cl
	r.Close = conn.close || r.Minor == 0 && !conn.keepAlive
	if r.Minor == 0 {
		r.Expect100 = false // RFC 9110 10.1.1
	} else if conn.upgrade && len(upgrade) > 0 {
		r.Upgrade = upgrade // HTTP/1.0 upgrades are ignored (RFC 9110 7.8)
	}
	return nil
}

// deriveHost checks the Host fields (RFC 9112 3.2) against the version and
// the target.
func (r *Request) deriveHost(hosts int) error {
	switch {
	case hosts > 1:
		return errManyHosts
	case hosts == 1 && !validHost(r.Host):
		return errHost
	case hosts == 0 && r.Minor == 1:
		return errNoHost
	}
	if r.Authority != nil {
		if r.Host == nil {
			r.Host = r.Authority
		} else if !eqFoldAny(r.Host, r.Authority) {
			return errHostMismatch
		}
	}
	return nil
}
