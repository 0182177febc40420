package persist

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Cookie insert mode: fulcrum sets a cookie whose value names the server a
// client was sent to, and sends the client's next requests to that server
// while it can take them.
//
// A value is "v1." followed by the unpadded base64url encoding of the first
// 12 bytes of HMAC-SHA256(secret, backend name + "\x00" + server name), so
// 19 bytes in all, every one valid in a cookie. It identifies the server
// without revealing its address, stays the same across reloads and across
// fulcrum instances that share the secret, and cannot be forged to reach
// another server without the secret (96 bits of MAC). The "v1." prefix
// leaves room for another format later: a table would then accept both
// while clients' cookies are rewritten, rather than guessing at the form of
// an unprefixed value.

// MinSecretLen is the shortest secret NewCodec accepts, in bytes.
const MinSecretLen = 16

const (
	// valuePrefix starts every cookie value of this format.
	valuePrefix = "v1."
	// macLen is how many bytes of the HMAC a value keeps.
	macLen = 12
	// valueLen is the length of every value: the prefix and 16 base64
	// characters.
	valueLen = len(valuePrefix) + (macLen*8+5)/6
)

// The SameSite attribute values a CookieSpec takes ("" omits the
// attribute).
const (
	SameSiteLax    = "lax"
	SameSiteStrict = "strict"
	SameSiteNone   = "none"
)

// Codec computes the cookie values of servers under one secret. It is
// immutable and safe for concurrent use.
type Codec struct {
	secret []byte
}

// NewCodec returns a Codec keyed by secret, which it copies. The secret
// must hold at least MinSecretLen bytes, else NewCodec panics: a short key
// would let anyone forge a cookie for any server. Every fulcrum instance
// that should understand the others' cookies needs the same secret;
// RandomSecret gives one good for a single process's life.
func NewCodec(secret []byte) *Codec {
	if len(secret) < MinSecretLen {
		panic(fmt.Sprintf("persist: cookie secret of %d bytes, want at least %d", len(secret), MinSecretLen))
	}
	return &Codec{secret: append([]byte(nil), secret...)}
}

// RandomSecret returns 32 bytes from crypto/rand, for when no secret is
// configured. Cookies made with it are not understood after a restart or by
// another instance.
func RandomSecret() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (it crashes the program instead)
	return b
}

// Value returns the cookie value of server serverName in backend
// backendName. It computes an HMAC: call it when building, not per request.
func (c *Codec) Value(backendName, serverName string) string {
	m := hmac.New(sha256.New, c.secret)
	m.Write([]byte(backendName))
	m.Write([]byte{0})
	m.Write([]byte(serverName))
	var sum [sha256.Size]byte
	mac := m.Sum(sum[:0])
	return valuePrefix + base64.RawURLEncoding.EncodeToString(mac[:macLen])
}

// Table maps the cookie values of one backend's servers to their indexes.
// It is immutable once built and safe for concurrent use.
type Table struct {
	values []string
	index  map[string]int
}

// Table returns the table of serverNames in backendName: Lookup(Value(i))
// is i. Build it once per server set (the index is the position in
// serverNames, e.g. in backend.Pool.Servers()). Names should be distinct;
// if two are the same, Lookup answers with the first.
func (c *Codec) Table(backendName string, serverNames []string) *Table {
	t := &Table{values: make([]string, len(serverNames)), index: make(map[string]int, len(serverNames))}
	for i, name := range serverNames {
		v := c.Value(backendName, name)
		t.values[i] = v
		if _, dup := t.index[v]; !dup {
			t.index[v] = i
		}
	}
	return t
}

// Lookup returns the index of the server whose cookie value is exactly
// value, or -1 and false. It is a length test and a map read and does not
// allocate. A value from another backend, another secret or another format,
// or altered in any byte, is not found.
func (t *Table) Lookup(value []byte) (index int, ok bool) {
	if len(value) != valueLen {
		return -1, false
	}
	i, ok := t.index[string(value)] // the compiler does not copy value here
	if !ok {
		return -1, false
	}
	return i, true
}

// Value returns the cookie value of the server at index, which must be in
// [0, Len()).
func (t *Table) Value(index int) string { return t.values[index] }

// Len returns the number of servers the table was built with.
func (t *Table) Len() int { return len(t.values) }

// CookieSpec describes the cookie fulcrum sets. It is plain data; see
// Validate for what makes it valid.
type CookieSpec struct {
	// Name is the cookie's name, an HTTP token.
	Name string
	// Secure sends the cookie over HTTPS only; HTTPOnly hides it from
	// scripts.
	Secure, HTTPOnly bool
	// SameSite is "", SameSiteLax, SameSiteStrict or SameSiteNone; ""
	// leaves the attribute out (browsers then treat the cookie as Lax).
	SameSite string
	// MaxAge is the cookie's lifetime in the browser, sent in whole
	// seconds rounded up; 0 or less makes a session cookie, dropped when
	// the browser closes.
	MaxAge time.Duration
	// Path is the cookie's path, "/" when empty.
	Path string
	// Domain is the cookie's domain; when empty the cookie goes back to
	// the host that set it only.
	Domain string
}

// AppendSetCookie appends the whole Set-Cookie header line for value to
// dst, ending in CRLF, and returns the extended buffer, e.g.
//
//	Set-Cookie: SRVID=v1.AbC...; Path=/; Domain=example.com; Max-Age=3600; Secure; HttpOnly; SameSite=Lax\r\n
//
// The attributes come in that order, each only when set. It allocates only
// when dst lacks room. It does not check s or value: s must pass Validate,
// and value must be a cookie value (a Table's are).
func (s *CookieSpec) AppendSetCookie(dst []byte, value string) []byte {
	dst = append(dst, "Set-Cookie: "...)
	dst = append(dst, s.Name...)
	dst = append(dst, '=')
	dst = append(dst, value...)
	dst = append(dst, "; Path="...)
	if s.Path == "" {
		dst = append(dst, '/')
	} else {
		dst = append(dst, s.Path...)
	}
	if s.Domain != "" {
		dst = append(dst, "; Domain="...)
		dst = append(dst, s.Domain...)
	}
	if s.MaxAge > 0 {
		dst = append(dst, "; Max-Age="...)
		dst = strconv.AppendInt(dst, int64((s.MaxAge+time.Second-1)/time.Second), 10)
	}
	if s.Secure {
		dst = append(dst, "; Secure"...)
	}
	if s.HTTPOnly {
		dst = append(dst, "; HttpOnly"...)
	}
	switch s.SameSite {
	case SameSiteLax:
		dst = append(dst, "; SameSite=Lax"...)
	case SameSiteStrict:
		dst = append(dst, "; SameSite=Strict"...)
	case SameSiteNone:
		dst = append(dst, "; SameSite=None"...)
	}
	return append(dst, "\r\n"...)
}

// Validate reports what is wrong with s, if anything: a name that is not a
// token, an unknown SameSite, SameSite None without Secure (browsers refuse
// such a cookie), or a path or domain that could break out of the header.
func (s *CookieSpec) Validate() error {
	var errs []error
	if !isToken(s.Name) {
		errs = append(errs, fmt.Errorf("cookie name %q is not a token", s.Name))
	}
	switch s.SameSite {
	case "", SameSiteLax, SameSiteStrict:
	case SameSiteNone:
		if !s.Secure {
			errs = append(errs, errors.New("SameSite=None needs Secure: browsers refuse the cookie otherwise"))
		}
	default:
		errs = append(errs, fmt.Errorf("unknown SameSite %q", s.SameSite))
	}
	if s.Path != "" && (!strings.HasPrefix(s.Path, "/") || !isAttrValue(s.Path)) {
		errs = append(errs, fmt.Errorf("cookie path %q must start with / and hold no control character or ';'", s.Path))
	}
	if s.Domain != "" && (!isAttrValue(s.Domain) || strings.ContainsAny(s.Domain, " ,")) {
		errs = append(errs, fmt.Errorf("cookie domain %q is not a domain name", s.Domain))
	}
	return errors.Join(errs...)
}

// isToken reports whether s is a non-empty HTTP token (RFC 9110 5.6.2), as
// a cookie name must be (RFC 6265 4.1.1).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// isAttrValue reports whether s may be a cookie attribute's value: any
// printable ASCII but ';' (RFC 6265 4.1.1 path-value).
func isAttrValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c >= 0x7f || c == ';' {
			return false
		}
	}
	return true
}
