// Package tlstest makes certificate authorities, server and client
// certificates for tests, with crypto/x509, and writes them as PEM files.
// It is for tests only: keys are generated fresh and nothing is cached.
package tlstest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// KeyType is the kind of key a certificate has.
type KeyType int

// The key types.
const (
	ECDSA KeyType = iota // P-256, the default
	RSA                  // 2048 bits
)

// CA is a certificate authority that signs leaf certificates.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// PEM is the CA certificate, PEM-encoded.
	PEM []byte
}

// Leaf is a signed certificate with its key.
type Leaf struct {
	Cert *x509.Certificate
	// CertPEM is the certificate followed by the CA's (a chain); KeyPEM
	// the private key (PKCS #8).
	CertPEM, KeyPEM []byte
}

// Options describes a leaf certificate. The zero value is an ECDSA server
// certificate for "localhost" valid from an hour ago for a day.
type Options struct {
	// CN is the subject common name.
	CN string
	// DNS and IPs are the subject alternative names; wildcards such as
	// "*.example.com" are allowed.
	DNS []string
	IPs []net.IP
	// Key is the key type.
	Key KeyType
	// Client makes a client certificate (extended key usage clientAuth)
	// instead of a server one.
	Client bool
	// NotAfter ends the validity; zero means a day from now.
	NotAfter time.Time
}

// nextSerial returns a random serial number (RFC 5280: at most 20 bytes).
func nextSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		panic(err)
	}
	return n
}

func newKey(t testing.TB, kt KeyType) crypto.Signer {
	t.Helper()
	var (
		k   crypto.Signer
		err error
	)
	if kt == RSA {
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// NewCA makes a self-signed CA with an ECDSA key.
func NewCA(t testing.TB, cn string) *CA {
	t.Helper()
	key := newKey(t, ECDSA)
	tmpl := &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &CA{Cert: cert, Key: key, PEM: pemBlock("CERTIFICATE", der)}
}

// Issue makes a certificate signed by ca.
func (ca *CA) Issue(t testing.TB, o Options) *Leaf {
	t.Helper()
	if o.CN == "" {
		o.CN = "localhost"
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = time.Now().Add(24 * time.Hour)
	}
	key := newKey(t, o.Key)
	usage := x509.KeyUsageDigitalSignature
	if o.Key == RSA {
		usage |= x509.KeyUsageKeyEncipherment
	}
	eku := x509.ExtKeyUsageServerAuth
	if o.Client {
		eku = x509.ExtKeyUsageClientAuth
	}
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(),
		Subject:      pkix.Name{CommonName: o.CN},
		DNSNames:     o.DNS,
		IPAddresses:  o.IPs,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     o.NotAfter,
		KeyUsage:     usage,
		ExtKeyUsage:  []x509.ExtKeyUsage{eku},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &Leaf{
		Cert:    cert,
		CertPEM: append(pemBlock("CERTIFICATE", der), ca.PEM...),
		KeyPEM:  pemBlock("PRIVATE KEY", pkcs8),
	}
}

// TLS returns l as a tls.Certificate, e.g. for a Go client.
func (l *Leaf) TLS(t testing.TB) tls.Certificate {
	t.Helper()
	c, err := tls.X509KeyPair(l.CertPEM, l.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Pool returns a pool holding the CA, e.g. for a Go client's RootCAs.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// WriteCA writes the CA certificate to dir/name and returns the path.
func (ca *CA) WriteCA(t testing.TB, dir, name string) string {
	t.Helper()
	return WriteFile(t, dir, name, ca.PEM)
}

// Write writes the chain to dir/name.crt and the key to dir/name.key and
// returns both paths.
func (l *Leaf) Write(t testing.TB, dir, name string) (certFile, keyFile string) {
	t.Helper()
	return WriteFile(t, dir, name+".crt", l.CertPEM), WriteFile(t, dir, name+".key", l.KeyPEM)
}

// WriteCombined writes the chain and the key into one file, dir/name (the
// form of a certificate directory's *.pem files), and returns its path.
func (l *Leaf) WriteCombined(t testing.TB, dir, name string) string {
	t.Helper()
	return WriteFile(t, dir, name, append(append([]byte(nil), l.CertPEM...), l.KeyPEM...))
}

// WriteFile writes data to dir/name atomically (a temporary file renamed
// over it, as certificate renewal tools do) and returns the path.
func WriteFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmp.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := tmp.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		t.Fatal(err)
	}
	return p
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}
