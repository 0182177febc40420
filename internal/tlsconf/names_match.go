package tlsconf

import "strings"

// NameMatcher maps server names (SNI) to values by the rules of a tcp
// frontend's sni_routes: an exact name wins over wildcards; a wildcard
// "*.example.com" matches any name ending in ".example.com", at any depth,
// but not "example.com" itself (as NGINX's server_name); among matching
// wildcards the longest wins. Names are compared without letter case and
// without a trailing dot.
//
// A NameMatcher is immutable once built and safe for concurrent use;
// Match does not allocate for a lower-case name.
type NameMatcher[T any] struct {
	exact map[string]T
	// wild maps the suffix of a wildcard, with its dot (".example.com").
	wild map[string]T
}

// NewNameMatcher builds a matcher from patterns (exact names or "*."
// wildcards) to values. A pattern given twice keeps its last value.
func NewNameMatcher[T any](patterns map[string]T) *NameMatcher[T] {
	m := &NameMatcher[T]{exact: make(map[string]T), wild: make(map[string]T)}
	for p, v := range patterns {
		p = normalise(p)
		if suffix, ok := strings.CutPrefix(p, "*"); ok && strings.HasPrefix(suffix, ".") {
			m.wild[suffix] = v
		} else {
			m.exact[p] = v
		}
	}
	return m
}

// Match returns the value for name, and false when no pattern matches.
func (m *NameMatcher[T]) Match(name string) (T, bool) {
	name = normalise(name)
	if v, ok := m.exact[name]; ok {
		return v, true
	}
	if len(m.wild) > 0 {
		// The suffixes from the longest: for a.b.example.com,
		// .b.example.com, .example.com, .com.
		for i := strings.IndexByte(name, '.'); i >= 0; {
			if v, ok := m.wild[name[i:]]; ok && i > 0 {
				return v, true
			}
			j := strings.IndexByte(name[i+1:], '.')
			if j < 0 {
				break
			}
			i += 1 + j
		}
	}
	var zero T
	return zero, false
}
