package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/fulcrum-lb/fulcrum/internal/tlsconf"
)

// httpALPN are the protocols an http-mode frontend can speak after the
// handshake.
var httpALPN = []string{"h2", "http/1.1"}

// validateSSL checks a frontend's ssl and makes its file names absolute
// against dir.
func (d *decoder) validateSSL(f *Frontend, p, dir string) {
	s := f.SSL
	d.checkCertSources(s, p)
	d.checkFile(&s.Cert, p+".cert", dir)
	d.checkFile(&s.Key, p+".key", dir)
	d.checkFile(&s.CA, p+".ca", dir)
	for i := range s.Certs {
		cp := index(p+".certs", i)
		d.checkFile(&s.Certs[i].Cert, cp+".cert", dir)
		d.checkFile(&s.Certs[i].Key, cp+".key", dir)
	}
	if s.CertDir != "" {
		s.CertDir = absolute(s.CertDir, dir)
		sole := s.Cert == "" && s.Key == "" && len(s.Certs) == 0
		if err := certDir(s.CertDir, sole); err != nil {
			d.errorAt(p+".cert_dir", "%v", err)
		}
	}
	if d.has(p+".verify") && s.CA == "" && !d.attempted(p+".ca") {
		d.errorAt(p+".verify", "needs ca: the PEM bundle of the CAs that sign client certificates")
	}
	d.checkVersions(s, p)
	d.checkALPN(s.ALPN, p+".alpn")
	if f.Mode == ModeHTTP {
		for i, a := range s.ALPN {
			if a != "" && !contains(httpALPN, a) {
				d.errorAt(index(p+".alpn", i), "http mode speaks %s only, got %q%s", strings.Join(httpALPN, " and "),
					a, didYouMean(a, httpALPN))
			}
		}
	}
	if d.has(p+".ticket_rotation") && !s.SessionTickets {
		d.errorAt(p+".ticket_rotation", "applies only with session_tickets: true")
	}
	if s.PlainHTTP == PlainHTTPAuto && f.Mode != ModeHTTP {
		d.errorAt(p+".plain_http", "auto needs mode http; a %s frontend closes connections that do not start with a TLS handshake", f.Mode)
	}
}

// checkCertSources checks that ssl has a certificate, and that every
// cert goes with a key.
func (d *decoder) checkCertSources(s *SSL, p string) {
	switch {
	case s.Cert == "" && s.Key == "":
		if len(s.Certs) == 0 && s.CertDir == "" && !d.attempted(p+".certs") && !d.attempted(p+".cert_dir") {
			d.missing(p+".cert", "ssl needs a certificate: cert and key, certs, or cert_dir")
		}
	case s.Cert == "":
		d.missing(p+".cert", "key needs a cert to go with it")
	case s.Key == "":
		d.missing(p+".key", "cert needs a key to go with it")
	}
	if d.has(p+".certs") && len(s.Certs) == 0 {
		d.errorAt(p+".certs", "expected a list of at least one {cert, key}, got an empty list")
	}
	for i, c := range s.Certs {
		cp := index(p+".certs", i)
		if c.Cert == "" {
			d.missing(cp+".cert", "every certs entry needs a cert (PEM certificate chain)")
		}
		if c.Key == "" {
			d.missing(cp+".key", "every certs entry needs a key (PEM private key)")
		}
	}
}

// checkVersions checks ssl.versions: known names, forming a range, and
// ciphers only where TLS 1.0–1.2 may be spoken.
func (d *decoder) checkVersions(s *SSL, p string) {
	known := true
	for i, v := range s.Versions {
		if !contains(TLSVersions, v) {
			d.errorAt(index(p+".versions", i), "unknown TLS version %q%s", v, didYouMean(v, TLSVersions))
			known = false
		}
	}
	if !known {
		return
	}
	lo, _, err := tlsconf.VersionRange(s.Versions)
	if err != nil {
		d.errorAt(p+".versions", "%v", err)
		return
	}
	if lo == tls.VersionTLS13 && len(s.Ciphers) > 0 {
		d.errorAt(p+".ciphers", "chooses TLS 1.0 to 1.2 suites, but versions allows TLSv1.3 only (Go enables every TLS 1.3 suite)")
	}
}

// checkALPN checks protocol names.
func (d *decoder) checkALPN(alpn []string, p string) {
	for i, a := range alpn {
		if a == "" || len(a) > 255 {
			d.errorAt(index(p, i), "expected a protocol name of 1 to 255 bytes, such as h2 or http/1.1, got %q", a)
		}
	}
}

// checkFile makes *name absolute against dir and checks that it is
// readable; an empty name is not checked.
func (d *decoder) checkFile(name *string, p, dir string) {
	if *name == "" {
		return
	}
	*name = absolute(*name, dir)
	if err := readable(*name); err != nil {
		d.errorAt(p, "%v", err)
	}
}

// absolute returns name joined to dir unless it is absolute.
func absolute(name, dir string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(dir, name)
}

// certDir checks that name is a directory this process can list and,
// when it is the frontend's sole source of certificates, that it holds a
// *.pem file.
func certDir(name string, sole bool) error {
	entries, err := os.ReadDir(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("directory %q does not exist", name)
	case err != nil:
		if fi, serr := os.Stat(name); serr == nil && !fi.IsDir() {
			return fmt.Errorf("%q is not a directory", name)
		}
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("cannot read directory %q: %v", name, err)
	}
	if !sole {
		return nil
	}
	for _, e := range entries {
		if n := e.Name(); !strings.HasPrefix(n, ".") && strings.HasSuffix(n, ".pem") {
			return nil
		}
	}
	return fmt.Errorf("directory %q holds no *.pem file (each holds a certificate chain and its key)", name)
}

// validateBackendSSL checks a backend's ssl and makes its file names
// absolute against dir.
func (d *decoder) validateBackendSSL(s *BackendSSL, p, dir string) {
	if s.Verify != VerifyNone {
		d.checkFile(&s.Verify, p+".verify", dir)
	}
	switch {
	case s.Cert == "" && s.Key != "":
		d.missing(p+".cert", "key needs a cert to go with it")
	case s.Key == "" && s.Cert != "":
		d.missing(p+".key", "cert needs a key to go with it")
	}
	d.checkFile(&s.Cert, p+".cert", dir)
	d.checkFile(&s.Key, p+".key", dir)
	d.checkALPN(s.ALPN, p+".alpn")
}

// validateSNIRoutes checks a frontend's sni_routes: tcp mode, names and
// backends, and no name routed twice.
func (d *decoder) validateSNIRoutes(f *Frontend, p string, backends []string) {
	if len(f.SNIRoutes) == 0 {
		if d.has(p+".sni_routes") && !d.attempted(p+".sni_routes") {
			d.errorAt(p+".sni_routes", "expected a list of at least one {sni, use_backend}, got an empty list")
		}
		return
	}
	if f.Mode != ModeTCP {
		d.errorAt(p+".sni_routes", "needs mode tcp; this frontend's mode is %s (route by host with http_condition)", f.Mode)
		return
	}
	seen := make(map[string]string) // name → path of its first route
	for i, r := range f.SNIRoutes {
		rp := index(p+".sni_routes", i)
		sp := rp + ".sni"
		if len(r.SNI) == 0 && !d.attempted(sp) {
			if d.has(sp) {
				d.errorAt(sp, "expected a server name or a list of them, got an empty list")
			} else {
				d.missing(sp, "expected the server name (or list of them) these connections ask for")
			}
		}
		listed := d.has(sp) && len(d.seen[sp].Content) == len(r.SNI) // one node per name: precise positions
		for j, n := range r.SNI {
			at := sp
			if listed {
				at = index(sp, j)
			}
			if prev, dup := seen[n]; dup {
				d.errorAt(at, "%q is already routed by %s", n, prev)
				continue
			}
			seen[n] = rp
		}
		if r.UseBackend == "" {
			d.missing(rp+".use_backend", "expected the backend these connections go to")
		} else {
			d.checkBackendRef(r.UseBackend, rp+".use_backend", backends)
		}
	}
}
