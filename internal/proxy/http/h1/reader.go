package h1

import (
	"bytes"
	"io"
	"sync"
)

// DefaultSize is the head size NewReader uses when given a size <= 0.
const DefaultSize = 16 << 10

// minSize is the smallest head size NewReader accepts.
const minSize = 64

// maxEmptyReads is how many (0, nil) reads in a row are taken for a stall.
const maxEmptyReads = 100

// pools holds one sync.Pool of *[]byte per buffer length, shared by all
// Readers of that length. It is a cache, not state: any buffer is as good
// as another.
var pools sync.Map // int → *sync.Pool

func poolFor(n int) *sync.Pool {
	if p, ok := pools.Load(n); ok {
		return p.(*sync.Pool)
	}
	p, _ := pools.LoadOrStore(n, &sync.Pool{New: func() any {
		b := make([]byte, n)
		return &b
	}})
	return p.(*sync.Pool)
}

// Reader buffers one connection. It parses heads in place in its buffer,
// then streams bodies: first the bytes it already holds, then the
// connection's. The buffer comes from a pool shared by Readers of the same
// size and goes back to it on Release, so an idle connection holds none.
//
// The slices of a head read by ReadRequest or ReadResponse stay valid while
// its body is read (Read, CopyBody, WriteTo never overwrite the head), until
// the next ReadRequest, ReadResponse, Reset or Release. A Reader is not safe
// for concurrent use.
type Reader struct {
	src     io.Reader
	pool    *sync.Pool
	max     int     // the largest head
	bufp    *[]byte // what pool gave, kept to give it back without allocating
	buf     []byte  // nil while released
	r, w    int     // unread bytes are buf[r:w]
	floor   int     // end of the last head, which body reads keep intact
	pending error   // an error src returned along with data, for the next read
	scanned int     // bytes after r known to hold no LF (see chunkCopy.line)
}

// NewReader returns a Reader of src that accepts heads of up to size bytes
// (DefaultSize when size <= 0, at least 64). Its buffer is a quarter larger,
// so that a chunked body's framing always has room after the head. The
// buffer is taken on the first read.
func NewReader(src io.Reader, size int) *Reader {
	if size <= 0 {
		size = DefaultSize
	}
	size = max(size, minSize)
	return &Reader{src: src, pool: poolFor(size + max(size/4, minSize)), max: size}
}

// Reset makes r read from src, discarding any buffered bytes. It keeps the
// buffer if r holds one.
func (r *Reader) Reset(src io.Reader) {
	r.src = src
	r.r, r.w, r.floor, r.scanned = 0, 0, 0, 0
	r.pending = nil
}

// Release gives the buffer back to the pool when r holds no unread bytes
// (otherwise it does nothing, so that pipelined bytes are not lost). The
// next read takes a buffer again. Call it when the connection turns idle or
// ends; slices of the last head become invalid.
func (r *Reader) Release() {
	if r.buf == nil || r.r < r.w {
		return
	}
	r.pool.Put(r.bufp)
	r.buf, r.bufp = nil, nil
	r.r, r.w, r.floor, r.scanned = 0, 0, 0, 0
}

// Buffered returns the number of unread bytes held: after a head, the body
// bytes (or following messages) that arrived with it; after a failed
// ReadRequest, the partial head.
func (r *Reader) Buffered() int { return r.w - r.r }

// Read reads the bytes after the last head: buffered ones first, then,
// once those are gone, straight from the connection into p.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if r.r < r.w {
		n := copy(p, r.buf[r.r:r.w])
		r.r += n
		return n, nil
	}
	if err := r.pending; err != nil {
		r.pending = nil
		return 0, err
	}
	return r.src.Read(p)
}

// WriteTo writes the buffered bytes, then copies the connection to w until
// its end, with io.Copy (so splice(2) is used between TCP connections). It
// suits tunnels such as WebSocket after a 101.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	var n int64
	if r.r < r.w {
		m, err := w.Write(r.buf[r.r:r.w])
		r.r += m
		n += int64(m)
		if err != nil {
			return n, err
		}
	}
	if err := r.pending; err != nil {
		r.pending = nil
		if err == io.EOF {
			err = nil
		}
		return n, err
	}
	m, err := io.Copy(w, r.src)
	return n + m, err
}

// ReadRequest reads and parses the next request head into req. It returns
// io.EOF when the connection ended cleanly before any byte of a request
// (empty lines aside), io.ErrUnexpectedEOF when it ended within a head, an
// *Error for a malformed head (414 for a request line longer than the head
// size, 431 for a head larger than it), or the connection's error (a
// timeout, for instance). After an error the connection must be closed.
func (r *Reader) ReadRequest(req *Request) error {
	return r.readHead(req, nil, false)
}

// ReadResponse reads and parses the next response head into resp; head
// reports that the request was HEAD. Its errors are those of ReadRequest,
// with 431 for any head larger than the head size.
func (r *Reader) ReadResponse(resp *Response, head bool) error {
	return r.readHead(nil, resp, head)
}

func (r *Reader) readHead(req *Request, resp *Response, head bool) error {
	r.grab()
	if r.r > 0 {
		r.w = copy(r.buf, r.buf[r.r:r.w])
		r.r = 0
	}
	r.floor, r.scanned = 0, 0
	// Parse what is already there, then again whenever new bytes end a
	// line: a head cannot end, nor a line go bad, elsewhere, and re-parsing
	// on every read would be quadratic for a slow sender.
	parse := r.w > 0
	for {
		if parse || r.w >= r.max {
			b := r.buf[:min(r.w, r.max)]
			var n int
			var err error
			if req != nil {
				n, err = ParseRequest(b, req)
			} else {
				n, err = ParseResponse(b, resp, head)
			}
			if err != ErrIncomplete {
				if err == nil {
					r.r, r.floor = n, n
				}
				return err
			}
			if r.w >= r.max {
				return r.tooLarge(req != nil)
			}
		}
		old := r.w
		if err := r.fill(r.max); err != nil {
			if err != io.EOF {
				return err
			}
			if i, _ := skipBlankLines(r.buf[:r.w]); i == r.w {
				r.r = r.w
				return io.EOF
			}
			return io.ErrUnexpectedEOF
		}
		parse = old == 0 || bytes.IndexByte(r.buf[old:r.w], '\n') >= 0
	}
}

// tooLarge is the error for a head that does not fit in the buffer.
func (r *Reader) tooLarge(request bool) error {
	if request {
		b := r.buf[:r.max]
		i, _ := skipBlankLines(b)
		if bytes.IndexByte(b[i:], '\n') < 0 {
			return errTargetTooLong
		}
	}
	return errHeadTooLarge
}

// grab takes a buffer from the pool if r has none.
func (r *Reader) grab() {
	if r.buf == nil {
		r.bufp = r.pool.Get().(*[]byte)
		r.buf = *r.bufp
		r.r, r.w, r.floor, r.scanned = 0, 0, 0, 0
	}
}

// fill reads once from src into buf[w:limit]. An error that comes with data
// is kept for the next call.
func (r *Reader) fill(limit int) error {
	if err := r.pending; err != nil {
		r.pending = nil
		return err
	}
	for range maxEmptyReads {
		n, err := r.src.Read(r.buf[r.w:limit])
		if n < 0 || n > limit-r.w {
			return errBadRead
		}
		r.w += n
		if n > 0 {
			r.pending = err
			return nil
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}

// more makes room in the buffer by moving the unconsumed bytes down to the
// end of the head (never over it), then reads. A buffer full of
// unconsumed bytes is errChunkLine: only body lines are read this way. The
// end of the connection is io.ErrUnexpectedEOF.
func (r *Reader) more() error {
	if r.r > r.floor {
		r.w = r.floor + copy(r.buf[r.floor:], r.buf[r.r:r.w])
		r.r = r.floor
	}
	if r.w == len(r.buf) {
		return errChunkLine
	}
	if err := r.fill(len(r.buf)); err != nil {
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	return nil
}
