//go:build !linux

package splice

import (
	"io"
	"net"
)

// Splicer moves bytes from src to dst with dst.ReadFrom.
type Splicer struct {
	dst, src *net.TCPConn
	// ArmRead and ArmWrite, when set, are called before each move to re-arm
	// inactivity deadlines.
	ArmRead, ArmWrite func()
	// Step is ignored here.
	Step int
}

// New returns a Splicer from src to dst.
func New(dst, src *net.TCPConn) (*Splicer, error) { return &Splicer{dst: dst, src: src}, nil }

// Move moves at most limit bytes, and returns how many it moved: fewer than
// limit with a nil error means that src reached EOF.
func (s *Splicer) Move(limit int64) (int64, error) {
	if s.ArmRead != nil {
		s.ArmRead()
	}
	if s.ArmWrite != nil {
		s.ArmWrite()
	}
	return s.dst.ReadFrom(&io.LimitedReader{R: s.src, N: limit})
}

// BoundReceive does nothing here: it is tuned for Linux's splice path.
func BoundReceive(*net.TCPConn) {}
