package h1

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// Limits shared by requests, responses and chunked trailers.
const (
	// maxFields is the most header fields a head (or trailer section) may have.
	maxFields = 100
	// maxLength bounds Content-Length values and chunk sizes: 2^62.
	maxLength = 1 << 62
	// initFields is the capacity Headers starts with.
	initFields = 32
)

// Header is one header field. Name and Value are slices into the buffer the
// head was parsed from: for a Reader, valid until it reads the next head (see
// Reader). Value has its surrounding optional whitespace trimmed. Both have
// their capacity capped at their length, so appending to them copies.
type Header struct{ Name, Value []byte }

// kind names the header fields this package looks at.
type kind uint8

const (
	kOther kind = iota
	kHost
	kContentLength
	kTransferEncoding
	kConnection
	kUpgrade
	kExpect
	kKeepAlive
	kProxyConnection
	kTE
	kTrailer
	kProxyAuthenticate
	kProxyAuthorization
)

// kindOf classifies a header name, ignoring case.
func kindOf(name []byte) kind {
	switch len(name) {
	case 2:
		if eqFold(name, "te") {
			return kTE
		}
	case 4:
		if eqFold(name, "host") {
			return kHost
		}
	case 6:
		if eqFold(name, "expect") {
			return kExpect
		}
	case 7:
		switch {
		case eqFold(name, "upgrade"):
			return kUpgrade
		case eqFold(name, "trailer"):
			return kTrailer
		}
	case 10:
		switch {
		case eqFold(name, "connection"):
			return kConnection
		case eqFold(name, "keep-alive"):
			return kKeepAlive
		}
	case 14:
		if eqFold(name, "content-length") {
			return kContentLength
		}
	case 16:
		if eqFold(name, "proxy-connection") {
			return kProxyConnection
		}
	case 17:
		if eqFold(name, "transfer-encoding") {
			return kTransferEncoding
		}
	case 18:
		if eqFold(name, "proxy-authenticate") {
			return kProxyAuthenticate
		}
	case 19:
		if eqFold(name, "proxy-authorization") {
			return kProxyAuthorization
		}
	}
	return kOther
}

// hopByHop reports whether fields of kind k never cross a proxy.
func (k kind) hopByHop() bool {
	switch k {
	case kConnection, kKeepAlive, kProxyConnection, kTE, kTrailer,
		kTransferEncoding, kUpgrade, kProxyAuthenticate, kProxyAuthorization:
		return true
	}
	return false
}

// skipBlankLines skips the empty lines (CRLF) a recipient should ignore
// before a start line (RFC 9112 2.2). It returns where the start line begins.
func skipBlankLines(b []byte) (int, error) {
	i := 0
	for i < len(b) {
		switch {
		case b[i] == '\n':
			return 0, errBareLF
		case b[i] != '\r':
			return i, nil
		case i+1 == len(b):
			return 0, ErrIncomplete
		case b[i+1] != '\n':
			return i, nil // a bare CR: the start line's parser rejects it
		}
		i += 2
	}
	return i, nil
}

// startLine returns the line starting at b[i] without its CRLF, and the
// offset just past it.
func startLine(b []byte, i int) (line []byte, next int, err error) {
	lf := bytes.IndexByte(b[i:], '\n')
	if lf < 0 {
		return nil, 0, ErrIncomplete
	}
	if lf == 0 || b[i+lf-1] != '\r' {
		return nil, 0, errBareLF
	}
	return b[i : i+lf-1], i + lf + 1, nil
}

// parseFields appends the header fields of b[i:] to *hs, up to and including
// the empty line that ends the head, and returns the offset just past it.
func parseFields(b []byte, i int, hs *[]Header) (int, error) {
	h := *hs
	for {
		if i == len(b) {
			*hs = h
			return 0, ErrIncomplete
		}
		switch b[i] {
		case '\r':
			*hs = h
			switch {
			case i+1 == len(b):
				return 0, ErrIncomplete
			case b[i+1] != '\n':
				return 0, errBareCR
			}
			return i + 2, nil
		case '\n':
			*hs = h
			return 0, errBareLF
		}
		if len(h) == maxFields {
			*hs = h
			return 0, errManyFields
		}
		name, value, next, err := parseField(b, i)
		if err != nil {
			*hs = h
			return 0, err
		}
		h = append(h, Header{name, value})
		i = next
	}
}

// parseField parses the field line that starts at b[i] (and is not the
// empty line): a token, a colon, optional whitespace, a value and CRLF. It
// returns the name, the value without surrounding whitespace, and the offset
// just past the CRLF. Name and value are checked in the same pass that finds
// the line's end.
func parseField(b []byte, i int) (name, value []byte, next int, err error) {
	start := i
	if c := b[i]; c == ' ' || c == '\t' {
		// obs-fold, or whitespace before the first field (RFC 9112 2.2, 5.2).
		return nil, nil, 0, errObsFold
	}
	for i < len(b) && class[b[i]]&cToken != 0 {
		i++
	}
	if i == len(b) {
		return nil, nil, 0, ErrIncomplete
	}
	if c := b[i]; c != ':' || i == start {
		switch {
		case i == start:
			return nil, nil, 0, errFieldName
		case c == ' ' || c == '\t':
			return nil, nil, 0, errSpaceColon
		case c == '\r' || c == '\n':
			return nil, nil, 0, errNoColon
		}
		return nil, nil, 0, errFieldName
	}
	name = b[start:i]
	for i++; i < len(b) && (b[i] == ' ' || b[i] == '\t'); i++ {
	}
	vstart := i
	i = valueEnd(b, i)
	switch {
	case i == len(b) || i+1 == len(b) && b[i] == '\r':
		return nil, nil, 0, ErrIncomplete
	case b[i] == '\n':
		return nil, nil, 0, errBareLF
	case b[i] != '\r':
		return nil, nil, 0, errFieldValue
	case b[i+1] != '\n':
		return nil, nil, 0, errBareCR
	}
	value = b[vstart:i]
	for len(value) > 0 && (value[len(value)-1] == ' ' || value[len(value)-1] == '\t') {
		value = value[:len(value)-1]
	}
	return exact(name), exact(value), i + 2, nil
}

// valueEnd returns the index of the first byte at or after i that may not
// appear in a field value (CR, LF, another control character or DEL), or
// len(b). It looks at eight bytes at a time: the lowest byte flagged by the
// word test is always a real match (borrows only run upwards), and HTAB,
// the one legal control character, is stepped over.
func valueEnd(b []byte, i int) int {
	for i < len(b) {
		if len(b)-i >= 8 {
			x := binary.LittleEndian.Uint64(b[i:])
			y := x ^ 0x7f*ones
			m := ((x-0x20*ones)&^x | (y-ones)&^y) & highs
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		}
		if class[b[i]]&cValue == 0 {
			return i
		}
		i++
	}
	return i
}

// lookup returns the value of the first field named name, ignoring case.
func lookup(hs []Header, name string) []byte {
	for i := range hs {
		if eqFoldAny(hs[i].Name, name) {
			return hs[i].Value
		}
	}
	return nil
}

// isHopByHop reports whether name is a hop-by-hop field of a message whose
// fields are hs: one of the fixed list, or one named by a Connection field.
func isHopByHop(hs []Header, connection bool, name []byte) bool {
	if kindOf(name).hopByHop() {
		return true
	}
	if !connection {
		return false
	}
	for i := range hs {
		if kindOf(hs[i].Name) != kConnection {
			continue
		}
		for v, more := hs[i].Value, true; more; {
			var elem []byte
			elem, v, more = cutElem(v)
			if len(elem) > 0 && eqFoldAny(name, elem) {
				return true
			}
		}
	}
	return false
}

// parseContentLength parses a Content-Length value: 1*DIGIT, or a list whose
// members are all the same number (RFC 9112 6.3 item 5).
func parseContentLength(v []byte) (int64, bool) {
	n := int64(-1)
	for more := true; more; {
		var elem []byte
		elem, v, more = cutElem(v)
		m, ok := parseDecimal(elem)
		if !ok || n >= 0 && m != n {
			return 0, false
		}
		n = m
	}
	return n, true
}

// codings accumulates the transfer codings of a message's Transfer-Encoding
// fields, in order.
type codings struct {
	chunked bool // "chunked" was seen
	other   bool // another coding was seen
	bad     bool // malformed, or chunked repeated or not last
}

func (c *codings) add(v []byte) {
	for more := true; more; {
		var elem []byte
		elem, v, more = cutElem(v)
		name, params := elem, false
		if i := bytes.IndexByte(elem, ';'); i >= 0 {
			name, params = trimOWS(elem[:i]), true
		}
		if c.chunked || !isToken(name) {
			// Something after chunked, or an empty or malformed member.
			c.bad = true
			return
		}
		if eqFold(name, "chunked") {
			c.chunked = true
			c.bad = c.bad || params
		} else {
			c.other = true
		}
	}
}

// result is nil when the codings are exactly "chunked".
func (c *codings) result() error {
	switch {
	case c.bad:
		return errTE
	case c.other:
		return errCoding
	case !c.chunked:
		return errTE
	}
	return nil
}

// connTokens accumulates the options of a message's Connection fields.
type connTokens struct {
	close, keepAlive, upgrade bool
}

// add reads one Connection value; it reports false when a member is not a
// token. Empty members are allowed (RFC 9110 5.6.1).
func (t *connTokens) add(v []byte) bool {
	for more := true; more; {
		var elem []byte
		elem, v, more = cutElem(v)
		switch {
		case len(elem) == 0:
		case !isToken(elem):
			return false
		case eqFold(elem, "close"):
			t.close = true
		case eqFold(elem, "keep-alive"):
			t.keepAlive = true
		case eqFold(elem, "upgrade"):
			t.upgrade = true
		}
	}
	return true
}

// validHost reports whether v is a valid Host value: uri-host [":" port]
// (RFC 9110 7.2), where uri-host is a reg-name, an IPv4 address or a
// bracketed IPv6 address. An empty value is valid.
func validHost(v []byte) bool {
	var port []byte
	if len(v) > 0 && v[0] == '[' {
		end := bytes.IndexByte(v, ']')
		if end < 2 {
			return false
		}
		for _, c := range v[1:end] {
			if unhex[c] == 0xff && c != ':' && c != '.' {
				return false
			}
		}
		switch rest := v[end+1:]; {
		case len(rest) == 0:
			return true
		case rest[0] != ':':
			return false
		default:
			port = rest[1:]
		}
	} else {
		host := v
		if i := bytes.IndexByte(v, ':'); i >= 0 {
			host, port = v[:i], v[i+1:]
		}
		if !all(host, cHost) {
			return false
		}
	}
	return all(port, cDigit)
}
