package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/fulcrum-lb/fulcrum/internal/rules"
)

// validate checks what decoding could not check one value at a time: names,
// references, addresses, rules and TLS files. It runs on effective values
// (after applyDefaults). dir is the directory relative file names are
// resolved against; validate rewrites them to that directory.
func (d *decoder) validate(c *Config, dir string) {
	d.needList("frontend", len(c.Frontends), "frontend")
	d.needList("backend", len(c.Backends), "backend")

	backends := make(map[string]int, len(c.Backends))
	for i := range c.Backends {
		b := &c.Backends[i]
		p := index("backend", i)
		if d.uniqueName(b.Name, p, "backend", backends, i) {
			backends[b.Name] = i
		}
		d.validateBackend(b, p)
		if b.SSL != nil {
			d.validateBackendSSL(b.SSL, p+".ssl", dir)
		}
	}
	names := make([]string, 0, len(backends))
	for name := range backends {
		names = append(names, name)
	}
	sort.Strings(names)

	frontends := make(map[string]int, len(c.Frontends))
	bound := make(map[string]string) // normalised addr_port → frontend name
	checked := make(map[int]bool)    // backends checked for use by a tcp frontend
	for i := range c.Frontends {
		f := &c.Frontends[i]
		p := index("frontend", i)
		if d.uniqueName(f.Name, p, "frontend", frontends, i) {
			frontends[f.Name] = i
		}
		d.validateBinds(f, p, bound)
		d.validateFrontend(f, p, names, dir)
		if f.Mode != ModeTCP {
			continue
		}
		used := []string{f.UseBackend}
		for _, r := range f.SNIRoutes {
			used = append(used, r.UseBackend)
		}
		for _, name := range used {
			if j, ok := backends[name]; ok && !checked[j] {
				checked[j] = true
				d.checkTCPKey(&c.Backends[j], index("backend", j), f.Name)
				d.checkTCPPersist(&c.Backends[j], index("backend", j), f.Name)
			}
		}
	}
}

// needList reports the list at path as missing or empty when it has no
// entries; what describes an entry.
func (d *decoder) needList(path string, n int, what string) {
	switch {
	case n > 0 || d.attempted(path):
	case d.has(path):
		d.errorAt(path, "expected a list of at least one %s, got an empty list", what)
	default:
		d.missing(path, "expected a list of at least one %s", what)
	}
}

// uniqueName checks that name is set and not in seen (list index by
// name); it reports whether name is new.
func (d *decoder) uniqueName(name, p, what string, seen map[string]int, i int) bool {
	if name == "" {
		d.missing(p+".name", "every %s needs a name", what)
		return false
	}
	if j, dup := seen[name]; dup {
		d.errorAt(p+".name", "duplicate %s name %q (also %s[%d])", what, name, what, j)
		return false
	}
	return true
}

// validateBinds checks f's listening addresses, which must not be bound
// twice (bound remembers them across frontends).
func (d *decoder) validateBinds(f *Frontend, p string, bound map[string]string) {
	if len(f.Bind) == 0 {
		d.needList(p+".bind", len(f.Bind), `{addr_port: "host:port"}`)
	}
	for i, b := range f.Bind {
		bp := index(p+".bind", i) + ".addr_port"
		if b.AddrPort == "" {
			d.missing(bp, `expected "host:port", such as "0.0.0.0:80"`)
			continue
		}
		norm, msg := checkAddr(b.AddrPort, false)
		if msg != "" {
			d.errorAt(bp, "%s", msg)
			continue
		}
		if other, dup := bound[norm]; dup && !strings.HasSuffix(norm, ":0") {
			d.errorAt(bp, "%q is already bound by frontend %q", b.AddrPort, other)
			continue
		}
		bound[norm] = f.Name
	}
}

// validateFrontend checks f's mode, default backend, rules and TLS.
func (d *decoder) validateFrontend(f *Frontend, p string, backends []string, dir string) {
	routed := f.UseBackend != ""
	if routed {
		d.checkBackendRef(f.UseBackend, p+".use_backend", backends)
	}
	if f.Mode == ModeTCP && d.has(p+".http_condition") {
		d.errorAt(p+".http_condition", "needs mode http; this frontend's mode is tcp")
	} else {
		for i := range f.HTTPCondition {
			r := &f.HTTPCondition[i]
			rp := index(p+".http_condition", i)
			d.validateRule(r, rp, backends)
			routed = routed || len(r.UseBackend) > 0 || d.attempted(rp+".use_backend")
		}
	}
	d.validateSNIRoutes(f, p, backends)
	routed = routed || len(f.SNIRoutes) > 0 || d.attempted(p+".sni_routes")
	switch {
	case routed:
	case f.Mode == ModeTCP:
		d.missing(p+".use_backend", "a tcp frontend needs a use_backend, or sni_routes")
	default:
		d.missing(p+".use_backend", "a frontend needs a use_backend, or an http_condition with use_backend")
	}
	if f.SSL != nil {
		d.validateSSL(f, p+".ssl", dir)
	}
	if len(f.ErrorPages) > 0 && f.Mode != ModeHTTP {
		d.errorAt(p+".error_pages", "needs mode http; this frontend's mode is %s", f.Mode)
	}
	for code, file := range f.ErrorPages {
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, file)
			f.ErrorPages[code] = file
		}
		if err := readable(file); err != nil {
			d.errorAt(join(p+".error_pages", strconv.Itoa(code)), "%v", err)
		}
	}
}

// checkBackendRef checks that name is one of backends.
func (d *decoder) checkBackendRef(name, p string, backends []string) {
	if len(backends) == 0 {
		return // no backends at all is reported once, on its own
	}
	for _, b := range backends {
		if b == name {
			return
		}
	}
	d.errorAt(p, "unknown backend %q%s", name, didYouMean(name, backends))
}

// checkTCPKey checks that a backend used by a tcp frontend hashes nothing
// an HTTP request would be needed for.
func (d *decoder) checkTCPKey(b *Backend, p, frontend string) {
	if usesKey(b.Balance.Algorithm) && b.Balance.Key != KeySource {
		d.errorAt(p+".balance.key", "%q needs mode http, but tcp frontend %q uses this backend; only %q works in tcp mode",
			b.Balance.Key, frontend, KeySource)
	}
}

// ruleModifiers are the http_condition actions that change the request or
// response and may be combined with one another and with use_backend.
var ruleModifiers = []string{"set_header", "del_header", "set_response_header", "del_response_header", "path_prefix"}

// validateRule checks one http_condition entry. Every rule needs a when
// expression: rules are conditional, as HAProxy's are, and a rule meant to
// apply always says so with when: "true". The rules package checks the
// when and redirect expressions (it compiles them again when the runtime
// snapshot is built).
func (d *decoder) validateRule(r *HTTPRule, p string, backends []string) {
	if strings.TrimSpace(r.When) == "" {
		d.missing(p+".when", `every http_condition needs a when expression (use "true" for always)`)
	} else if err := rules.CheckWhen(r.When); err != nil {
		d.errorAt(p+".when", "%v", err)
	}
	var final []string // redirect, use_backend, deny: they end the request's rules
	for _, k := range []string{"redirect", "use_backend", "deny"} {
		if d.has(p+"."+k) && (k != "deny" || r.Deny != nil) { // deny: false is no action
			final = append(final, k)
		}
	}
	var mods []string
	attempted := false // an action was written but misspelt or wrong
	for _, k := range ruleModifiers {
		if d.has(p + "." + k) {
			mods = append(mods, k)
		}
	}
	for _, k := range append([]string{"redirect", "use_backend", "deny"}, ruleModifiers...) {
		attempted = attempted || d.attempted(p+"."+k)
	}
	switch {
	case len(final) > 1:
		d.errorAt(p+"."+final[1], "cannot be combined with %s: a rule takes one of redirect, use_backend, deny", final[0])
	case len(final) == 0 && len(mods) == 0 && !attempted:
		d.errorAt(p, "needs an action: redirect, use_backend, deny, %s", strings.Join(ruleModifiers, ", "))
	case len(final) == 1 && final[0] != "use_backend":
		for _, m := range mods {
			d.errorAt(p+"."+m, "cannot be combined with %s", final[0])
		}
	}
	if d.has(p+".redirect") && strings.TrimSpace(r.Redirect) == "" {
		d.errorAt(p+".redirect", "expected an expression giving the new location, got an empty string")
	} else if d.has(p + ".redirect") {
		if err := rules.CheckValue(r.Redirect); err != nil {
			d.errorAt(p+".redirect", "%v", err)
		}
	}
	if d.has(p+".code") && !d.has(p+".redirect") {
		d.errorAt(p+".code", "needs redirect (a deny sets its status with deny.status)")
	}
	if d.has(p+".path_prefix") && !strings.HasPrefix(r.PathPrefix, "/") {
		d.errorAt(p+".path_prefix", "expected a path starting with /, got %q", r.PathPrefix)
	}
	d.validateWeighted(r.UseBackend, p+".use_backend", backends)
	for _, k := range []string{"set_header", "set_response_header"} {
		m := r.SetHeader
		if k == "set_response_header" {
			m = r.SetResponseHeader
		}
		for name := range m {
			if !token(name) {
				d.errorAt(p+"."+k+"."+name, "invalid header name %q", name)
			}
		}
	}
	for k, names := range map[string][]string{"del_header": r.DelHeader, "del_response_header": r.DelResponseHeader} {
		for i, name := range names {
			if !token(name) {
				d.errorAt(index(p+"."+k, i), "invalid header name %q", name)
			}
		}
	}
}

// validateWeighted checks a rule's use_backend choices.
func (d *decoder) validateWeighted(ws []WeightedBackend, p string, backends []string) {
	if d.has(p) && len(ws) == 0 {
		d.errorAt(p, "expected a backend name or a list of at least one {name, weight}")
		return
	}
	isList := d.has(p) && d.seen[p].Kind == yaml.SequenceNode
	total := 0
	seen := make(map[string]bool, len(ws))
	for i, w := range ws {
		np := p // the path of the name: the scalar itself, or list[i].name
		if isList {
			np = index(p, i) + ".name"
		}
		total += w.Weight
		switch {
		case w.Name == "":
			d.missing(np, "expected a backend name")
		case seen[w.Name]:
			d.errorAt(np, "backend %q is listed twice", w.Name)
		default:
			seen[w.Name] = true
			d.checkBackendRef(w.Name, np, backends)
		}
	}
	if len(ws) > 0 && total == 0 {
		d.errorAt(p, "every weight is 0; at least one backend needs a weight above 0")
	}
}

// readable checks that name is a regular file this process can open.
func readable(name string) error {
	fi, err := os.Stat(name)
	if err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("%q is not a regular file", name)
	}
	if err == nil {
		var f *os.File
		if f, err = os.Open(name); err == nil {
			return f.Close()
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("file %q does not exist", name)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("cannot read file %q: %v", name, err)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
