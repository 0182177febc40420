package h1

// Character classes, one bit each, so that classifying a byte is one load.
const (
	cToken  = 1 << iota // tchar (RFC 9110 5.6.2)
	cValue              // field-vchar, SP or HTAB (RFC 9110 5.5); obs-text included
	cTarget             // request-target: VCHAR except '#' (no CTL, space or non-ASCII)
	cHost               // reg-name or IPv4address (RFC 3986 3.2.2), '%' included
	cDigit
)

// class holds each byte's classes; lower maps ASCII letters to lower case.
// Both are filled once at start-up and only read afterwards.
var (
	class = classes()
	lower = lowers()
	unhex = unhexes()
)

func classes() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		isAlnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if isAlnum || c < 0x80 && containsByte("!#$%&'*+-.^_`|~", byte(c)) {
			t[c] |= cToken
		}
		if c == ' ' || c == '\t' || 0x21 <= c && c != 0x7f {
			t[c] |= cValue
		}
		if 0x21 <= c && c <= 0x7e && c != '#' {
			t[c] |= cTarget
		}
		if isAlnum || c < 0x80 && containsByte("-._~!$&'()*+,;=%", byte(c)) {
			t[c] |= cHost
		}
		if '0' <= c && c <= '9' {
			t[c] |= cDigit
		}
	}
	return t
}

func lowers() (t [256]byte) {
	for c := range t {
		t[c] = byte(c)
		if 'A' <= c && c <= 'Z' {
			t[c] = byte(c) + 'a' - 'A'
		}
	}
	return t
}

// unhexes maps hex digits to their value and every other byte to 0xff.
func unhexes() (t [256]byte) {
	for c := range t {
		switch {
		case '0' <= c && c <= '9':
			t[c] = byte(c - '0')
		case 'a' <= c && c <= 'f':
			t[c] = byte(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			t[c] = byte(c - 'A' + 10)
		default:
			t[c] = 0xff
		}
	}
	return t
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

// all reports whether every byte of b is in class c.
func all(b []byte, c uint8) bool {
	for _, x := range b {
		if class[x]&c == 0 {
			return false
		}
	}
	return true
}

// isToken reports whether b is a non-empty token.
func isToken(b []byte) bool { return len(b) > 0 && all(b, cToken) }

// Masks for word-at-a-time scans (see valueEnd).
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// validValue reports whether b holds only field-vchar, SP and HTAB.
func validValue(b []byte) bool { return valueEnd(b, 0) == len(b) }

// eqFold reports whether b equals s, a lower-case ASCII string, ignoring case.
func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lower[b[i]] != s[i] {
			return false
		}
	}
	return true
}

// eqFoldAny reports whether a and b are equal ignoring ASCII case.
func eqFoldAny[S ~string | ~[]byte](a []byte, b S) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower[a[i]] != lower[b[i]] {
			return false
		}
	}
	return true
}

// hasPrefixFold reports whether b starts with the lower-case string s,
// ignoring case.
func hasPrefixFold(b []byte, s string) bool {
	return len(b) >= len(s) && eqFold(b[:len(s)], s)
}

// trimOWS removes optional whitespace (SP, HTAB) at both ends of b.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// cutElem splits a comma-separated list (RFC 9110 5.6.1) at its first comma.
// elem is the first element with its whitespace trimmed; more reports whether
// a comma followed it.
func cutElem(v []byte) (elem, rest []byte, more bool) {
	for i, c := range v {
		if c == ',' {
			return trimOWS(v[:i]), v[i+1:], true
		}
	}
	return trimOWS(v), nil, false
}

// parseDecimal parses 1*DIGIT no greater than maxLength.
func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if class[c]&cDigit == 0 {
			return 0, false
		}
		d := int64(c - '0')
		if n > (maxLength-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// exact caps a slice's capacity at its length, so that a caller appending to
// a parsed field copies instead of overwriting the rest of the buffer.
func exact(b []byte) []byte { return b[:len(b):len(b)] }
