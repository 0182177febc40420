package rules

import (
	"net/netip"
)

// Request is what expressions can see of one HTTP request. The proxy fills
// one per request (it may reuse it); every field is cheap to fill, and
// expressions read the fields directly, without copying or converting them,
// except src, which is formatted only when an expression uses it as a
// string (inCIDR(src, ...) reads Src as it is).
type Request struct {
	// Scheme is "http" or "https".
	Scheme string
	// Host is the Host header (or HTTP/2 :authority) without its port,
	// lower-cased.
	Host string
	// Port is the frontend port the request arrived on.
	Port int
	// Method is the request method, e.g. "GET".
	Method string
	// URI is the request target as received: path?query.
	URI string
	// Path is URI's path, Query its query without the '?'.
	Path  string
	Query string
	// Src is the client's address; the zero Addr when unknown (src is then
	// "" and matches no network).
	Src netip.Addr
	// Headers gives the header() and cookie() functions their values; nil
	// means the request has none.
	Headers HeaderGetter
	// TLS, when the request came over TLS that fulcrum terminated: the
	// server name the client asked for (SNI), the version ("TLSv1.3"), the
	// protocol agreed by ALPN ("h2"), whether the client presented a
	// certificate that verified against the frontend's CA, and that
	// certificate's subject common name and SHA-256 fingerprint (hex).
	// All are zero for plain requests.
	SSLSNI, SSLVersion, SSLALPN  string
	SSLClientVerified            bool
	SSLClientCN, SSLClientSHA256 string
}

// HeaderGetter reads request headers and cookies for header() and cookie().
// The proxy implements it on a type it already has per request, so that
// filling a Request allocates nothing. Both methods must be safe to call from
// the goroutine that calls Eval and must not keep their argument.
type HeaderGetter interface {
	// Header returns the first value of the named request header, matched
	// case-insensitively, or "" when there is none.
	Header(name string) string
	// Cookie returns the value of the named cookie, or "" when there is none.
	Cookie(name string) string
}

// header returns r's header name, or "" when r has no headers.
func (r *Request) header(name string) string {
	if r.Headers == nil {
		return ""
	}
	return r.Headers.Header(name)
}

// cookie returns r's cookie name, or "" when r has no headers.
func (r *Request) cookie(name string) string {
	if r.Headers == nil {
		return ""
	}
	return r.Headers.Cookie(name)
}

// src returns the client address as the src variable shows it: "" when
// unknown, IPv4 in dotted form (also when it arrived IPv4-mapped on an IPv6
// socket), IPv6 in RFC 5952 form.
func (r *Request) src() string {
	if !r.Src.IsValid() {
		return ""
	}
	return r.Src.Unmap().String()
}

// env is the environment expr checks expressions against and the VM reads.
// Its tags are the variable names. Only expressions that the native
// evaluator cannot run (see native.go) use it at run time.
type env struct {
	Scheme string              `expr:"scheme"`
	Host   string              `expr:"host"`
	Port   int                 `expr:"port"`
	Method string              `expr:"method"`
	URI    string              `expr:"uri"`
	Path   string              `expr:"path"`
	Query  string              `expr:"query"`
	Src    string              `expr:"src"`
	Header func(string) string `expr:"header"`
	Cookie func(string) string `expr:"cookie"`

	SSLSNI            string `expr:"ssl_sni"`
	SSLVersion        string `expr:"ssl_version"`
	SSLALPN           string `expr:"ssl_alpn"`
	SSLClientVerified bool   `expr:"ssl_client_verified"`
	SSLClientCN       string `expr:"ssl_client_cn"`
	SSLClientSHA256   string `expr:"ssl_client_sha256"`
}

// variables are the names of env's variables, in documentation order.
var variables = []string{"scheme", "host", "port", "method", "uri", "path", "query", "src",
	"ssl_sni", "ssl_version", "ssl_alpn", "ssl_client_verified", "ssl_client_cn", "ssl_client_sha256"}
