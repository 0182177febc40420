package http

import (
	"io"
	"sync"
)

// tunnel relays an upgraded connection (WebSocket) both ways until either
// side ends. Bytes already buffered on either side go first. Inactivity on
// either side for its timeout ends the tunnel.
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
	s.cc.lz = nil // read and written at once from here: lazyIO serves one call at a time
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		n, _ := io.Copy(up, s.r)
		s.log.bytesIn += n
		stop()
	}()
	n, _ := io.Copy(s.cc, uc.r)
	s.log.bytesOut += n
	stop()
	wg.Wait()
}
