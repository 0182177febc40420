// Package splice moves bytes from one TCP connection to another with
// splice(2), through a pipe, so that they never pass through user space.
//
// It does what io.Copy between two *net.TCPConn does on Linux, with two
// differences: a write that has to wait first pushes out what the socket
// holds back, and the caller can re-arm deadlines when a read or a write is
// about to wait.
//
// splice(2) into a socket sends all but the last of the pipe's buffers with
// MSG_MORE, so the socket holds back a last segment shorter than the MSS.
// If the socket then refuses more (TCP_NOTSENT_LOWAT), that segment waits
// for an acknowledgement of earlier data to push it, and with none in
// flight, for a TCP timer: 200 ms. With loopback's 64 KiB MSS this stalled
// one response in four of a 1 MiB request/response load through tcp mode
// (p75 50 ms, p99 207 ms, against 14 ms without the stall). Setting
// TCP_NODELAY again pushes the held segment (tcp(7)).
package splice

import (
	"errors"
	"net"
	"runtime"
	"sync"
	"syscall"
)

const (
	// spliceNonblock is SPLICE_F_NONBLOCK: the pipe side of a splice does
	// not wait (the socket side follows the socket's own O_NONBLOCK).
	spliceNonblock = 0x2
	// pipeSize is the pipe buffer asked for (F_SETPIPE_SZ), and the most one
	// splice moves in: /proc/sys/fs/pipe-max-size's default.
	pipeSize = 1 << 20
	// fSetpipeSz is F_SETPIPE_SZ (linux/fcntl.h).
	fSetpipeSz = 1031
)

var errNoPipe = errors.New("no pipe for splice")

// pipe is a kernel pipe that splice(2) moves bytes through.
type pipe struct {
	r, w    int
	n       int // bytes in the pipe
	cleanup runtime.Cleanup
}

// pipes holds empty pipes for reuse; one the garbage collector drops is
// closed by its cleanup.
var pipes = sync.Pool{New: func() any { return newPipe() }}

func newPipe() *pipe {
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		return nil
	}
	// A smaller pipe still works, with more system calls.
	syscall.Syscall(syscall.SYS_FCNTL, uintptr(fds[0]), fSetpipeSz, pipeSize)
	p := &pipe{r: fds[0], w: fds[1]}
	p.cleanup = runtime.AddCleanup(p, closePipe, fds)
	return p
}

func closePipe(fds [2]int) {
	syscall.Close(fds[0])
	syscall.Close(fds[1])
}

// getPipe takes an empty pipe from the pool.
func getPipe() (*pipe, error) {
	p, _ := pipes.Get().(*pipe)
	if p == nil {
		return nil, errNoPipe
	}
	return p, nil
}

// putPipe returns p to the pool if it is empty, and closes it otherwise.
func putPipe(p *pipe) {
	if p.n != 0 {
		p.cleanup.Stop()
		closePipe([2]int{p.r, p.w})
		return
	}
	pipes.Put(p)
}

// Splicer moves bytes from src to dst.
type Splicer struct {
	src, dst syscall.RawConn
	// ArmRead and ArmWrite, when set, are called before a read from src or
	// a write to dst, and again when it is about to wait: to re-arm an
	// inactivity deadline. The waits end at the connections' deadlines.
	ArmRead, ArmWrite func()
	// Step, when set, is the most one splice moves from src before the
	// bytes go on to dst (else the pipe's size, 1 MiB). Smaller steps share
	// a core more evenly between connections moving at once, at some cost
	// in throughput.
	Step int
}

// New returns a Splicer from src to dst.
func New(dst, src *net.TCPConn) (*Splicer, error) {
	s := &Splicer{}
	var err error
	if s.src, err = src.SyscallConn(); err != nil {
		return nil, err
	}
	if s.dst, err = dst.SyscallConn(); err != nil {
		return nil, err
	}
	return s, nil
}

// Move moves at most limit bytes, and returns how many it moved: fewer than
// limit with a nil error means that src reached EOF. A wait for src or dst
// ends at that connection's deadline, with os.ErrDeadlineExceeded; bytes
// read but not written by then are lost.
//
// A pipe is held only while it has bytes in it: a wait for src gives it
// back, so a connection that sends nothing for a while holds no pipe (no
// descriptors) however long it stays.
func (s *Splicer) Move(limit int64) (int64, error) {
	var p *pipe
	defer func() {
		if p != nil {
			putPipe(p)
		}
	}()
	step := int64(pipeSize)
	if s.Step > 0 {
		step = int64(min(s.Step, pipeSize))
	}
	var moved int64
	for moved < limit {
		if err := s.drain(&p, int(min(limit-moved, step))); err != nil {
			return moved, err
		}
		if p.n == 0 {
			return moved, nil // EOF
		}
		in := p.n
		err := s.pump(p)
		moved += int64(in - p.n)
		if err != nil {
			return moved, err
		}
	}
	return moved, nil
}

// drain splices what src has, at most max bytes, into *pp, waiting until
// src has something (data, EOF or an error). (*pp).n stays 0 at EOF. *pp is
// taken from the pool when nil, and an empty one goes back to it while src
// is waited for; on a nil error *pp is set.
func (s *Splicer) drain(pp **pipe, max int) error {
	if s.ArmRead != nil {
		s.ArmRead()
	}
	var serr error
	err := s.src.Read(func(fd uintptr) bool {
		if *pp == nil {
			if *pp, serr = getPipe(); serr != nil {
				return true
			}
		}
		p := *pp
		for {
			n, err := syscall.Splice(int(fd), nil, p.w, nil, max, spliceNonblock)
			switch err {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				if p.n == 0 {
					putPipe(p)
					*pp = nil
				}
				if s.ArmRead != nil {
					s.ArmRead()
				}
				return false
			case nil:
				p.n += int(n)
			default:
				serr = err
			}
			return true
		}
	})
	if err != nil {
		return err
	}
	return serr
}

// pump splices everything in p into dst. When dst refuses more, it pushes
// out the segment dst holds back before it waits.
func (s *Splicer) pump(p *pipe) error {
	if s.ArmWrite != nil {
		s.ArmWrite()
	}
	var serr error
	err := s.dst.Write(func(fd uintptr) bool {
		for p.n > 0 {
			n, err := syscall.Splice(p.r, nil, int(fd), nil, p.n, spliceNonblock)
			switch {
			case n > 0:
				p.n -= int(n)
			case err == syscall.EINTR:
			case err == syscall.EAGAIN:
				syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
				if s.ArmWrite != nil {
					s.ArmWrite()
				}
				return false
			case err == nil:
				serr = syscall.EIO // cannot happen: the pipe holds p.n bytes
				return true
			default:
				serr = err
				return true
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	return serr
}
