package config

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// decoder walks a yaml.Node tree into the structs of types.go. It never
// stops at an error: it records it and goes on with the next key, so that a
// file's problems are all reported at once.
type decoder struct {
	file string
	errs Errors
	// seen maps the key path of every key present with a non-null value
	// (and of every list entry) to its value node. It tells an explicit
	// zero from an absent key, and gives later steps a position for a path.
	seen map[string]*yaml.Node
	// keys maps the key path of every valid key, null or not, to the key
	// node: a key written with no value is reported missing there.
	keys map[string]*yaml.Node
	// bad holds the paths already reported, and misspelt the paths of keys
	// an unknown key was taken to be a typo of. A key in either is not
	// reported missing too: one mistake, one error.
	bad, misspelt map[string]bool
}

func newDecoder(file string) *decoder {
	return &decoder{
		file:     file,
		seen:     make(map[string]*yaml.Node),
		keys:     make(map[string]*yaml.Node),
		bad:      make(map[string]bool),
		misspelt: make(map[string]bool),
	}
}

// errorf records an error at node n.
func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	e := &Error{File: d.file, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
	d.bad[path] = true
}

// attempted reports whether path was written but misspelt or had an
// error, or lies inside a value that had an error.
func (d *decoder) attempted(path string) bool {
	if d.misspelt[path] {
		return true
	}
	for p := path; ; p = parent(p) {
		if d.bad[p] || p == "" {
			return d.bad[p]
		}
	}
}

// missing reports a required key as missing ("missing; " + the message),
// unless the key was there with a wrong value or misspelt, which has been
// reported already.
func (d *decoder) missing(path, format string, args ...any) {
	if d.attempted(path) {
		return
	}
	d.errorAt(path, "missing; "+format, args...)
}

// errorAt records an error at the value of path, or, when path is absent,
// at its nearest present parent (a missing key is reported on the mapping
// that should hold it).
func (d *decoder) errorAt(path, format string, args ...any) {
	d.errorf(d.node(path), path, format, args...)
}

// has reports whether path was present with a non-null value.
func (d *decoder) has(path string) bool { return d.seen[path] != nil }

// node returns the value node of path or of its nearest present parent.
func (d *decoder) node(path string) *yaml.Node {
	for p := path; ; p = parent(p) {
		if n := d.seen[p]; n != nil || p == "" {
			return n
		}
		if k := d.keys[p]; k != nil {
			return k
		}
	}
}

// parent strips the last element of a key path: "a[0].b" → "a[0]" → "a".
func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// describe says what a node is, for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch {
	case isNull(n):
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.ShortTag() == "!!str":
		return strconv.Quote(n.Value)
	default:
		return n.Value
	}
}

// expected records "expected WHAT, got <n>".
func (d *decoder) expected(n *yaml.Node, path, what string) {
	d.errorf(n, path, "expected %s, got %s", what, describe(n))
}

// field decodes the (resolved, non-null) value of one key.
type field func(d *decoder, v *yaml.Node, path string)

// fields are the keys valid in one mapping.
type fields map[string]field

func (fs fields) names() []string {
	names := make([]string, 0, len(fs))
	for k := range fs {
		if !strings.HasPrefix(k, "x-") { // anchors' holders, see document
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return names
}

// mapping decodes a mapping node: every key must be in fs and appear once.
// Keys with a null value count as absent. YAML merge keys ("<<: *anchor")
// are honoured; a key set explicitly overrides a merged one.
func (d *decoder) mapping(n *yaml.Node, path string, fs fields) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		d.expected(n, path, "a mapping")
		return
	}
	first := make(map[string]*yaml.Node)
	var merged []*yaml.Node // key, value pairs from merge keys
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged = append(merged, d.mergePairs(v, join(path, "<<"))...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, path, "expected a key name, got %s", describe(k))
			continue
		}
		p := join(path, k.Value)
		if prev := first[k.Value]; prev != nil {
			d.errorf(k, p, "duplicate key (first at line %d, column %d)", prev.Line, prev.Column)
			continue
		}
		first[k.Value] = k
		d.key(k, v, p, fs)
	}
	for i := 0; i+1 < len(merged); i += 2 {
		k, v := merged[i], merged[i+1]
		if first[k.Value] != nil {
			continue
		}
		first[k.Value] = k
		d.key(k, v, join(path, k.Value), fs)
	}
}

// key decodes one key's value with its field.
func (d *decoder) key(k, v *yaml.Node, path string, fs fields) {
	f, ok := fs[k.Value]
	if !ok {
		d.unknownKey(k, path, fs)
		return
	}
	d.keys[path] = k
	v = resolve(v)
	if isNull(v) {
		return
	}
	d.seen[path] = v
	f(d, v, path)
}

// mergePairs returns the key, value pairs a merge key brings in: one
// mapping, or a list of mappings where earlier ones win.
func (d *decoder) mergePairs(v *yaml.Node, path string) []*yaml.Node {
	v = resolve(v)
	switch v.Kind {
	case yaml.MappingNode:
		var pairs []*yaml.Node
		for i := 0; i+1 < len(v.Content); i += 2 {
			if v.Content[i].Kind == yaml.ScalarNode {
				pairs = append(pairs, v.Content[i], v.Content[i+1])
			}
		}
		return pairs
	case yaml.SequenceNode:
		var pairs []*yaml.Node
		for _, e := range v.Content {
			if m := resolve(e); m.Kind == yaml.MappingNode {
				pairs = append(pairs, d.mergePairs(m, path)...)
			} else {
				d.expected(m, path, "a mapping to merge")
			}
		}
		return pairs
	}
	d.expected(v, path, "a mapping or a list of mappings to merge")
	return nil
}

// unknownKey reports a key not valid here, with the nearest valid key, or
// the sections where that key would be valid.
func (d *decoder) unknownKey(k *yaml.Node, path string, fs fields) {
	valid := fs.names()
	if s := suggest(k.Value, valid); s != "" {
		d.misspelt[join(parent(path), s)] = true
		d.errorf(k, path, "unknown key; did you mean %q?", s)
		return
	}
	if where := sectionsWithKey(k.Value); where != "" {
		d.errorf(k, path, "unknown key here; it belongs in %s", where)
		return
	}
	d.errorf(k, path, "unknown key; expected one of %s", strings.Join(valid, ", "))
}

// list decodes a sequence, calling each with every entry (resolved, maybe
// null) and its path. what names the entries, e.g. "servers".
func (d *decoder) list(n *yaml.Node, path, what string, each func(v *yaml.Node, path string)) {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		d.expected(n, path, "a list of "+what)
		return
	}
	for i, e := range n.Content {
		p := index(path, i)
		e = resolve(e)
		d.seen[p] = e
		each(e, p)
	}
}

// scalar returns v's text, or false (after an error) if v is not a scalar.
func (d *decoder) scalar(v *yaml.Node, path, what string) (string, bool) {
	if v.Kind != yaml.ScalarNode || isNull(v) {
		d.expected(v, path, what)
		return "", false
	}
	return v.Value, true
}

// integer returns v as an int in [lo, hi], or false after an error.
func (d *decoder) integer(v *yaml.Node, path string, lo, hi int) (int, bool) {
	var n int64
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" || v.Decode(&n) != nil ||
		n < int64(lo) || n > int64(hi) {
		d.expected(v, path, rangeText(lo, hi))
		return 0, false
	}
	return int(n), true
}

// rangeText describes the integers from lo to hi.
func rangeText(lo, hi int) string {
	switch {
	case lo == 0 && hi == math.MaxInt:
		return "a non-negative integer"
	case lo == 1 && hi == math.MaxInt:
		return "a positive integer"
	}
	return fmt.Sprintf("an integer from %d to %d", lo, hi)
}

// The field constructors below each decode one kind of value into dst.

func str(dst *string) field {
	return func(d *decoder, v *yaml.Node, path string) {
		if s, ok := d.scalar(v, path, "a string"); ok {
			*dst = s
		}
	}
}

func intIn(dst *int, lo, hi int) field {
	return func(d *decoder, v *yaml.Node, path string) {
		if n, ok := d.integer(v, path, lo, hi); ok {
			*dst = n
		}
	}
}

func nonNegative(dst *int) field { return intIn(dst, 0, math.MaxInt) }
func positive(dst *int) field    { return intIn(dst, 1, math.MaxInt) }

func boolean(dst *bool) field {
	return func(d *decoder, v *yaml.Node, path string) {
		if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!bool" || v.Decode(dst) != nil {
			d.expected(v, path, "true or false")
		}
	}
}

// strList decodes a list of strings; a single string is a list of one.
func strList(dst *[]string) field {
	return func(d *decoder, v *yaml.Node, path string) {
		if v.Kind == yaml.ScalarNode {
			*dst = []string{v.Value}
			return
		}
		*dst = []string{}
		d.list(v, path, "strings", func(e *yaml.Node, p string) {
			if s, ok := d.scalar(e, p, "a string"); ok {
				*dst = append(*dst, s)
			}
		})
	}
}

// strMap decodes a mapping of strings to strings (header name → value).
func strMap(dst *map[string]string) field {
	return func(d *decoder, v *yaml.Node, path string) {
		if v.Kind != yaml.MappingNode {
			d.expected(v, path, "a mapping of names to values")
			return
		}
		m := make(map[string]string)
		pos := make(map[string]*yaml.Node)
		for i := 0; i+1 < len(v.Content); i += 2 {
			k, val := v.Content[i], resolve(v.Content[i+1])
			name, ok := d.scalar(k, path, "a name")
			if !ok {
				continue
			}
			p := join(path, name)
			if prev := pos[name]; prev != nil {
				d.errorf(k, p, "duplicate key (first at line %d, column %d)", prev.Line, prev.Column)
				continue
			}
			pos[name] = k
			d.seen[p] = k
			s := ""
			if !isNull(val) {
				s, ok = d.scalar(val, p, "a string")
			}
			if ok {
				m[name] = s
			}
		}
		*dst = m
	}
}

// enum decodes one of choices and passes it to set. what names the kind of
// value in the message, e.g. `unknown algorithm "rr"; did you mean ...`.
func enum(what string, choices []string, set func(string)) field {
	return func(d *decoder, v *yaml.Node, path string) {
		s, ok := d.scalar(v, path, what)
		if !ok {
			return
		}
		for _, c := range choices {
			if s == c {
				set(s)
				return
			}
		}
		d.errorf(v, path, "unknown %s %q%s", what, s, didYouMean(s, choices))
	}
}

// duration decodes a Duration. With positive set, 0 is refused too.
func duration(dst *Duration, positive bool) field {
	return func(d *decoder, v *yaml.Node, path string) {
		if v.Kind != yaml.ScalarNode {
			d.expected(v, path, `a duration (milliseconds, or a string such as "10s")`)
			return
		}
		var (
			dur Duration
			err error
		)
		switch v.ShortTag() {
		case "!!int", "!!str":
			dur, err = ParseDuration(v.Value)
		default:
			d.expected(v, path, `a duration (milliseconds as an integer, or a string such as "10s")`)
			return
		}
		switch {
		case err != nil:
			d.errorf(v, path, "%v", err)
		case positive && dur == 0:
			d.expected(v, path, "a duration above 0")
		default:
			*dst = dur
		}
	}
}

// maxNodes bounds the nodes of a document once its aliases are expanded, so
// that an "alias bomb" cannot make the walker run for ever.
const maxNodes = 1 << 20

// tooLarge reports whether root, with aliases expanded, has more than
// maxNodes nodes (a cycle of aliases always has).
func tooLarge(root *yaml.Node) bool {
	stack := []*yaml.Node{root}
	for count := 0; len(stack) > 0; count++ {
		if count > maxNodes {
			return true
		}
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n == nil {
			continue
		}
		if n.Kind == yaml.AliasNode {
			stack = append(stack, n.Alias)
			continue
		}
		stack = append(stack, n.Content...)
	}
	return false
}
