package tcp

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fulcrum-lb/fulcrum/internal/splice"
)

// Chunk sizes for copies with an inactivity timeout. Each chunk re-arms the
// deadlines, so a chunk must finish well within the timeout even for a slow
// peer; the size adapts to the observed rate between these bounds.
const (
	minChunk = 16 << 10
	maxChunk = 4 << 20
)

// errIdle is returned when a side stayed silent for its whole timeout.
var errIdle = errors.New("inactivity timeout")

// errParked is returned by copyIdle when its park function took the copy.
var errParked = errors.New("parked")

// spliceHold is how long a splice may wait for more data while it holds
// its pipe. Past it, the copy waits for the socket to become readable
// without a pipe, so an idle connection costs its sockets and nothing else
// (two pipes per connection would be two more file descriptors per
// direction).
const spliceHold = 50 * time.Millisecond

// activity is when bytes last moved either way between a client and its
// server, in Unix nanoseconds. Each side's inactivity timeout counts from
// it, as HAProxy's timeout client and timeout server do (and nginx's
// proxy_timeout): a side that only receives, such as a client reading a
// long download without sending anything, stays open while the other way
// moves.
type activity struct{ last atomic.Int64 }

func newActivity() *activity {
	a := &activity{}
	a.touch(time.Now())
	return a
}

func (a *activity) touch(now time.Time) { a.last.Store(now.UnixNano()) }

// idle returns how long nothing has moved, as of now.
func (a *activity) idle(now time.Time) time.Duration {
	return time.Duration(now.UnixNano() - a.last.Load())
}

// copyIdle copies src to dst until EOF or an error, with splice(2) on Linux
// (package splice), but gives up when nothing moved either way (act) for
// readIdle while src had nothing to send, or dst accepted nothing for
// writeIdle (0: no limit). count is called with the bytes moved after each
// chunk.
//
// When src has had nothing for spliceHold and park is set, copyIdle calls
// park; when it returns true, a Poller has taken the copy (to start it again
// when src turns readable) and copyIdle returns errParked.
//
// A read deadline only ever fires while splice's pipe is empty, so the copy
// can go on after it; a write deadline can fire with data in the pipe, so
// it ends the copy. Inactivity is detected within a quarter of the timeout.
func copyIdle(dst, src *net.TCPConn, readIdle, writeIdle time.Duration, act *activity, count func(int64), park func() bool) (int64, error) {
	sp, err := splice.New(dst, src)
	if err != nil {
		return 0, err
	}
	if readIdle <= 0 && writeIdle <= 0 {
		n, err := sp.Move(1 << 62) // until EOF or an error
		act.touch(time.Now())
		count(n)
		return n, err
	}
	slice := readIdle / 4
	if readIdle <= 0 || (writeIdle > 0 && writeIdle < slice) {
		slice = writeIdle / 4
	}
	if slice < time.Millisecond {
		slice = time.Millisecond
	}
	rc, err := src.SyscallConn()
	if err != nil {
		return 0, err
	}
	var (
		total   int64
		chunk   int64 = 1 << 20
		noWrite time.Time
		zero    time.Time
		drained bool // the last read found src empty: wait before splicing
		lastIn  = time.Now()
		dryAt   time.Time // when a read last found src empty (with park)
	)
	if park != nil {
		sp.ArmRead = func() { dryAt = time.Now() }
	}
	for {
		start := time.Now()
		if drained {
			// Parked once src has been quiet for spliceHold: a splice's
			// wait ends at spliceHold also while bytes come.
			wait := slice
			if park != nil {
				quiet := start.Sub(lastIn)
				if quiet >= spliceHold && park() {
					return total, errParked
				}
				wait = min(slice, max(spliceHold-quiet, time.Millisecond))
			}
			// Wait, holding no pipe, until src has something to read.
			if err := src.SetReadDeadline(start.Add(wait)); err != nil {
				return total, err
			}
			err := waitReadable(rc)
			switch {
			case err == nil:
				drained = false
			case errors.Is(err, os.ErrDeadlineExceeded):
				if readIdle > 0 && act.idle(time.Now()) >= readIdle {
					return total, errIdle
				}
			default:
				return total, err
			}
			continue
		}
		if err := src.SetReadDeadline(start.Add(min(slice, spliceHold))); err != nil {
			return total, err
		}
		if writeIdle > 0 {
			noWrite = start.Add(writeIdle)
			if err := dst.SetWriteDeadline(noWrite); err != nil {
				return total, err
			}
		}
		n, err := sp.Move(chunk)
		total += n
		if n > 0 {
			count(n)
		}
		now := time.Now()
		if n > 0 {
			act.touch(now)
			lastIn = now
			if dryAt.After(start) {
				lastIn = dryAt // the last bytes came before src ran dry
			}
		}
		switch {
		case err == nil && n < chunk:
			src.SetReadDeadline(zero)
			return total, nil // EOF
		case err == nil:
			// A full chunk: grow it if it went fast.
			if now.Sub(start) < slice/4 && chunk < maxChunk {
				chunk *= 2
			}
			continue
		case errors.Is(err, os.ErrDeadlineExceeded):
			if writeIdle > 0 && !now.Before(noWrite) {
				return total, errIdle // maybe a write timeout: data may be lost, stop
			}
			if readIdle > 0 && act.idle(now) >= readIdle {
				return total, errIdle
			}
			drained = true // the read side timed out: src was empty
			// A slow chunk: shrink it so deadlines are re-armed in time.
			if now.Sub(start) > slice && chunk > minChunk {
				chunk /= 2
			}
		default:
			return total, err
		}
	}
}

// copyAny is copyIdle for two TCP connections (splice), and a buffered copy
// with the same inactivity rules otherwise.
func copyAny(dst, src net.Conn, readIdle, writeIdle time.Duration, act *activity, count func(int64)) (int64, error) {
	if d, ok := dst.(*net.TCPConn); ok {
		if s, ok := src.(*net.TCPConn); ok {
			return copyIdle(d, s, readIdle, writeIdle, act, count, nil)
		}
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	var total int64
	var zero time.Time
	for {
		if readIdle > 0 {
			src.SetReadDeadline(time.Unix(0, act.last.Load()).Add(readIdle))
		}
		n, rerr := src.Read(buf)
		if n > 0 {
			act.touch(time.Now())
			if writeIdle > 0 {
				dst.SetWriteDeadline(time.Now().Add(writeIdle))
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return total, err
			}
			total += int64(n)
			count(int64(n))
		}
		if rerr == io.EOF {
			src.SetReadDeadline(zero)
			return total, nil
		}
		if rerr != nil {
			if errors.Is(rerr, os.ErrDeadlineExceeded) {
				if act.idle(time.Now()) < readIdle {
					continue // the other way moved meanwhile
				}
				return total, errIdle
			}
			return total, rerr
		}
	}
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}
