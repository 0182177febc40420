package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// CertFiles names one certificate: a PEM file holding the certificate
// chain (leaf first) and a PEM file holding its private key. Both may be
// the same file.
type CertFiles struct {
	Cert string
	Key  string
}

// certSet is one generation of a Server's certificates, indexed by the
// names they serve. It is immutable once built.
type certSet struct {
	// certs are in configuration order; certs[0] is the default.
	certs []*tls.Certificate
	// exact maps a lower-case DNS name to the certificates for it, in
	// order; wildcard maps the parent of a "*.example.com" SAN
	// ("example.com") the same way.
	exact, wildcard map[string][]*tls.Certificate
}

// loadCerts reads every certificate the spec names: the Certs in order,
// then the *.pem files of CertDir in lexical order. An error names the
// file.
func loadCerts(spec *ServerSpec) (*certSet, error) {
	files := append([]CertFiles(nil), spec.Certs...)
	if spec.CertDir != "" {
		dirFiles, err := dirCerts(spec.CertDir)
		if err != nil {
			return nil, err
		}
		files = append(files, dirFiles...)
	}
	if len(files) == 0 {
		if spec.CertDir != "" {
			return nil, fmt.Errorf("no certificate: directory %s holds no *.pem file", spec.CertDir)
		}
		return nil, errors.New("no certificate")
	}
	set := &certSet{
		exact:    make(map[string][]*tls.Certificate),
		wildcard: make(map[string][]*tls.Certificate),
	}
	for _, f := range files {
		c, err := loadPair(f)
		if err != nil {
			return nil, err
		}
		set.add(c)
	}
	return set, nil
}

// dirCerts lists the *.pem files of dir (not its subdirectories, and not
// hidden files), each holding a certificate chain and its key.
func dirCerts(dir string) ([]CertFiles, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading certificate directory %s: %v", dir, unwrapPath(err))
	}
	var files []CertFiles
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".pem") {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
			continue // a dangling link or a directory named *.pem
		}
		files = append(files, CertFiles{Cert: p, Key: p})
	}
	return files, nil
}

// loadPair reads one certificate and its key.
func loadPair(f CertFiles) (*tls.Certificate, error) {
	certPEM, err := os.ReadFile(f.Cert)
	if err != nil {
		return nil, fmt.Errorf("reading certificate %s: %v", f.Cert, unwrapPath(err))
	}
	keyPEM := certPEM
	if f.Key != f.Cert {
		if keyPEM, err = os.ReadFile(f.Key); err != nil {
			return nil, fmt.Errorf("reading key %s: %v", f.Key, unwrapPath(err))
		}
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		if f.Key == f.Cert {
			return nil, fmt.Errorf("loading %s: %v", f.Cert, err)
		}
		return nil, fmt.Errorf("loading certificate %s with key %s: %v", f.Cert, f.Key, err)
	}
	if c.Leaf == nil { // X509KeyPair fills it since Go 1.23; be safe
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return nil, fmt.Errorf("parsing certificate %s: %v", f.Cert, err)
		}
	}
	return &c, nil
}

// unwrapPath drops the *fs.PathError around err, whose path the caller
// already names.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// add indexes c under its DNS SANs; a certificate without any SAN is
// indexed under its subject CN, as old clients would match it.
func (s *certSet) add(c *tls.Certificate) {
	s.certs = append(s.certs, c)
	names := c.Leaf.DNSNames
	if len(names) == 0 && c.Leaf.Subject.CommonName != "" {
		names = []string{c.Leaf.Subject.CommonName}
	}
	for _, n := range names {
		n = normalise(n)
		if parent, ok := strings.CutPrefix(n, "*."); ok {
			s.wildcard[parent] = append(s.wildcard[parent], c)
		} else {
			s.exact[n] = append(s.exact[n], c)
		}
	}
}

// normalise lower-cases a DNS name and drops a trailing dot.
func normalise(name string) string {
	return strings.TrimSuffix(strings.ToLower(name), ".")
}

// candidates returns the certificates for a server name: those naming it
// exactly, else those whose wildcard covers it (one label: *.example.com
// covers a.example.com, not a.b.example.com nor example.com).
func (s *certSet) candidates(name string) []*tls.Certificate {
	name = normalise(name)
	if cs := s.exact[name]; len(cs) > 0 {
		return cs
	}
	if _, parent, ok := strings.Cut(name, "."); ok {
		return s.wildcard[parent]
	}
	return nil
}

// getCertificate chooses the certificate for a handshake: among those for
// the client's server name (SNI), the first the client can use (an RSA
// and an ECDSA certificate may serve the same names); without SNI, or when
// no certificate names it, the first certificate the client can use, else
// the default (the first one).
func (s *certSet) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if hello.ServerName != "" {
		cs := s.candidates(hello.ServerName)
		for _, c := range cs {
			if hello.SupportsCertificate(c) == nil {
				return c, nil
			}
		}
		if len(cs) > 0 {
			return cs[0], nil
		}
	}
	anyName := *hello // the default may not name the server
	anyName.ServerName = ""
	for _, c := range s.certs {
		if anyName.SupportsCertificate(c) == nil {
			return c, nil
		}
	}
	return s.certs[0], nil
}

// describe summarises the set for the reload log line: per certificate its
// subject CN, names and expiry, e.g. "a.example.com [a.example.com
// *.a.example.com] until 2027-03-01T00:00:00Z". It also returns the
// certificates that have expired (at now) or are not yet valid.
func (s *certSet) describe(now time.Time) (all, bad []string) {
	for _, c := range s.certs {
		l := c.Leaf
		names := append(append([]string(nil), l.DNSNames...), ipStrings(l)...)
		d := fmt.Sprintf("%s [%s] until %s", l.Subject.CommonName, strings.Join(names, " "),
			l.NotAfter.UTC().Format(time.RFC3339))
		all = append(all, d)
		if now.After(l.NotAfter) || now.Before(l.NotBefore) {
			bad = append(bad, d)
		}
	}
	return all, bad
}

func ipStrings(c *x509.Certificate) []string {
	out := make([]string, len(c.IPAddresses))
	for i, ip := range c.IPAddresses {
		out[i] = ip.String()
	}
	return out
}

// loadCA reads a PEM bundle of CA certificates.
func loadCA(file string) (*x509.CertPool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading ca %s: %v", file, unwrapPath(err))
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("ca %s holds no PEM certificate", file)
	}
	return pool, nil
}

// fileStamp is what Watch compares to tell that a file changed.
type fileStamp struct {
	size    int64
	modTime time.Time
	missing bool
}

// stamps returns the stamp of every file the spec reads, and the listing
// of its certificate directory, so that a file added to or removed from
// the directory counts as a change.
func stamps(spec *ServerSpec) map[string]fileStamp {
	m := make(map[string]fileStamp)
	stamp := func(name string) {
		fi, err := os.Stat(name)
		if err != nil {
			m[name] = fileStamp{missing: true}
			return
		}
		m[name] = fileStamp{size: fi.Size(), modTime: fi.ModTime()}
	}
	for _, f := range spec.Certs {
		stamp(f.Cert)
		stamp(f.Key)
	}
	if spec.CA != "" {
		stamp(spec.CA)
	}
	if spec.CertDir != "" {
		stamp(spec.CertDir)
		files, _ := dirCerts(spec.CertDir)
		for _, f := range files {
			stamp(f.Cert)
		}
	}
	return m
}

// sameStamps reports whether a and b are equal.
func sameStamps(a, b map[string]fileStamp) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || v.size != w.size || v.missing != w.missing || !v.modTime.Equal(w.modTime) {
			return false
		}
	}
	return true
}
