package http

import (
	"net/netip"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/backend"
	"github.com/fulcrum-lb/fulcrum/internal/balance"
	"github.com/fulcrum-lb/fulcrum/internal/config"
	"github.com/fulcrum-lb/fulcrum/internal/persist"
	"github.com/fulcrum-lb/fulcrum/internal/runtime"
)

// stickiness is what persistence found for one request: the server the
// client is bound to (nil if none), and for stick tables the key to record
// the chosen server under.
type stickiness struct {
	server *backend.Server
	key    uint64 // stick table key; 0 for none
	cookie bool   // the request carried a valid cookie for server
}

// sticky looks up the server the request is bound to. Lookups cost a map
// read (cookie) or a stick table read; they never allocate.
func sticky(p *runtime.Persistence, pool *backend.Pool, src balanceSource, now time.Time) stickiness {
	var st stickiness
	switch p.Kind {
	case config.PersistCookie:
		if v := src.cookie(p.Cookie.Name); len(v) > 0 {
			if i, ok := p.Cookies.Lookup(v); ok {
				st.server, st.cookie = pool.Servers()[i], true
			}
		}
		return st
	case config.PersistHeader:
		v := src.header(p.Header)
		if len(v) == 0 {
			return st
		}
		st.key = balance.HashBytes(v)
	case config.PersistSource:
		st.key = persist.SourceKey(src.addr(), p.IPv4Prefix, p.IPv6Prefix)
	}
	if sk, ok := p.Stick.Get(st.key, now); ok {
		if i, ok := p.ByKey[sk]; ok {
			st.server = pool.Servers()[i]
		}
	}
	return st
}

// balanceSource is what persistence reads from a request, whichever
// protocol it came over.
type balanceSource interface {
	cookie(name string) []byte
	header(name string) []byte
	addr() netip.Addr
}

// remember records srv as the client's server after a response: in the
// stick table, or by answering a cookie when the client's is missing or
// names another server. It returns the cookie value to set, or "".
func remember(p *runtime.Persistence, st *stickiness, srv *backend.Server, now time.Time) string {
	switch p.Kind {
	case config.PersistCookie:
		if st.cookie && st.server == srv {
			return ""
		}
		return p.Cookies.Value(srv.Index())
	default:
		if st.key != 0 {
			p.Stick.Put(st.key, srv.ID.Key(), now)
		}
	}
	return ""
}

// The HTTP/1.1 session as a balanceSource.
func (s *session) cookie(name string) []byte { return cookieValue(&s.req, name) }
func (s *session) header(name string) []byte { return s.req.Header(name) }
func (s *session) addr() netip.Addr          { return s.src }
