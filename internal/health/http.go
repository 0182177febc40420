package health

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// StatusRange is an inclusive range of HTTP statuses. It has the same shape
// as config.StatusRange, so a conversion StatusRange(r) suffices.
type StatusRange struct{ Lo, Hi int }

// String returns "200-399", or "200" for a single status.
func (r StatusRange) String() string {
	if r.Lo == r.Hi {
		return strconv.Itoa(r.Lo)
	}
	return fmt.Sprintf("%d-%d", r.Lo, r.Hi)
}

// DefaultExpect is what an HTTP check expects when HTTPOptions.Expect is empty.
var DefaultExpect = []StatusRange{{200, 399}}

// maxBody is how much of a response body an HTTP check reads when it looks
// for ExpectBody.
const maxBody = 64 << 10

// HTTPOptions describe an HTTP check.
type HTTPOptions struct {
	// Method is the request method; "" means GET.
	Method string
	// Path is the request target, with an optional query; "" means "/".
	Path string
	// Host is the Host header; "" means the server's address ("ip:port").
	Host string
	// Expect lists the statuses that pass; empty means DefaultExpect.
	Expect []StatusRange
	// Body, if not empty, must occur in the first 64 KiB of the body.
	Body string
}

// HTTP is an HTTP/1.1 check: one request per check on a new connection
// (Connection: close), redirects not followed, no proxy. Build it with
// NewHTTP; it is safe for concurrent use.
type HTTP struct {
	opts   HTTPOptions
	path   string // escaped path and query
	expect string // Expect as text, for reasons
	client *http.Client
}

// NewHTTP validates o and returns the check.
func NewHTTP(o HTTPOptions) (*HTTP, error) {
	if o.Method == "" {
		o.Method = http.MethodGet
	}
	if !validMethod(o.Method) {
		return nil, fmt.Errorf("invalid method %q", o.Method)
	}
	if o.Path == "" {
		o.Path = "/"
	}
	u, err := url.ParseRequestURI(o.Path)
	if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(o.Path, "/") {
		return nil, fmt.Errorf("invalid path %q: want an absolute path such as /health", o.Path)
	}
	if len(o.Expect) == 0 {
		o.Expect = DefaultExpect
	}
	var exp []string
	for _, r := range o.Expect {
		if r.Lo < 100 || r.Hi > 599 || r.Lo > r.Hi {
			return nil, fmt.Errorf("invalid status range %d-%d: want 100 <= low <= high <= 599", r.Lo, r.Hi)
		}
		exp = append(exp, r.String())
	}
	if o.Body != "" && o.Method == http.MethodHead {
		return nil, errors.New("a HEAD check cannot expect a body")
	}
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            (&net.Dialer{}).DialContext,
		DisableKeepAlives:      true,
		DisableCompression:     true,
		MaxResponseHeaderBytes: maxBody,
	}
	c := &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return &HTTP{opts: o, path: u.RequestURI(), expect: strings.Join(exp, ","), client: c}, nil
}

// Check sends one request to addr and checks the status and, if asked, the
// body. The whole exchange is bounded by ctx.
func (h *HTTP) Check(ctx context.Context, addr string) error {
	return h.check(ctx, "http://"+addr, h.client)
}

// CheckTLS is Check over HTTPS, with cfg verifying the server.
func (h *HTTP) CheckTLS(ctx context.Context, addr string, cfg *tls.Config) error {
	tr := h.client.Transport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	defer tr.CloseIdleConnections()
	c := *h.client
	c.Transport = tr
	return h.check(ctx, "https://"+addr, &c)
}

func (h *HTTP) check(ctx context.Context, base string, client *http.Client) error {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, h.opts.Method, base+h.path, nil)
	if err != nil {
		return &Failure{Reason: "invalid request: " + err.Error(), Err: err}
	}
	if h.opts.Host != "" {
		req.Host = h.opts.Host
	}
	req.Close = true
	req.Header.Set("User-Agent", "fulcrum-health-check")
	resp, err := client.Do(req)
	if err != nil {
		return fail(ctx, start, err)
	}
	defer resp.Body.Close()
	if !h.expected(resp.StatusCode) {
		return failf("status %d, expected %s", resp.StatusCode, h.expect)
	}
	if h.opts.Body == "" {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if strings.Contains(string(body), h.opts.Body) {
		return nil
	}
	if err != nil {
		return fail(ctx, start, err)
	}
	return failf("body does not contain %q", h.opts.Body)
}

func (h *HTTP) expected(status int) bool {
	for _, r := range h.opts.Expect {
		if status >= r.Lo && status <= r.Hi {
			return true
		}
	}
	return false
}

// validMethod reports whether m is an RFC 9110 token.
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range []byte(m) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}

var _ Checker = (*HTTP)(nil)
