//go:build !linux

package tcp

import (
	"io"
	"net"
)

// splicer moves bytes from src to dst with dst.ReadFrom.
type splicer struct{ dst, src *net.TCPConn }

func newSplicer(dst, src *net.TCPConn) (*splicer, error) { return &splicer{dst: dst, src: src}, nil }

// move moves at most limit bytes, and returns how many it moved: fewer
// than limit with a nil error means that src reached EOF.
func (s *splicer) move(limit int64) (int64, error) {
	return s.dst.ReadFrom(&io.LimitedReader{R: s.src, N: limit})
}
