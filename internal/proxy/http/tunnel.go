package http

import (
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// tunnel relays an upgraded connection (WebSocket) both ways until either
// side ends. Bytes already buffered on either side go first. A side's
// timeout counts from the last byte that moved either way, as HAProxy's
// timeout client and timeout server do: a client that only receives stays
// connected while the server sends. The tunnel ends when nothing moved for
// a side's timeout, or a side accepts nothing for it.
func (s *session) tunnel(uc *upConn) {
	cc := s.conn()
	if cc == nil {
		uc.c.Close()
		return
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cc.Close()
			uc.c.Close()
		})
	}
	up := &uc.tc
	s.cc.lz = nil         // read and written at once from here: lazyIO serves one call at a time
	var last atomic.Int64 // when a byte last moved either way (mono)
	last.Store(mono())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		n, _ := s.relay(up, s.r, s.cc, &last)
		s.log.bytesIn += n
		stop()
	}()
	n, _ := s.relay(s.cc, uc.r, &uc.tc, &last)
	s.log.bytesOut += n
	stop()
	wg.Wait()
}

// relay copies src, which reads from tc, to dst until src ends (a nil
// error) or fails. A read from tc that reaches its timeout waits again, up
// to the timeout counted from last, when the other way moved meanwhile.
func (s *session) relay(dst io.Writer, src io.Reader, tc *timedConn, last *atomic.Int64) (int64, error) {
	bp := s.p.bufs.Get().(*[]byte)
	defer s.p.bufs.Put(bp)
	buf := *bp
	var total int64
	for {
		n, err := src.Read(buf)
		if n > 0 {
			last.Store(mono())
			w, werr := dst.Write(buf[:n])
			total += int64(w)
			if werr != nil {
				return total, werr
			}
		}
		switch {
		case err == nil:
		case err == io.EOF:
			return total, nil
		case errors.Is(err, os.ErrDeadlineExceeded) && tc.read > 0 && mono()-last.Load() < int64(tc.read):
			tc.waitFor(last.Load(), tc.read)
		default:
			return total, err
		}
	}
}
