package h1

import (
	"bytes"
	"io"
	"strconv"
)

// chunkCopy decodes a chunked body from src's buffer and re-encodes it into
// out (the caller's copy buffer), which it writes to dst before every read
// that may block, and whenever it is full.
type chunkCopy struct {
	dst   io.Writer
	src   *Reader
	out   []byte
	moved int64
}

func (c *chunkCopy) run() (int64, error) {
	for {
		line, err := c.line()
		if err != nil {
			return c.moved, err
		}
		size, err := parseChunkSize(line[:len(line)-2])
		if err != nil {
			return c.moved, err
		}
		if err := c.room(20); err != nil {
			return c.moved, err
		}
		c.out = strconv.AppendUint(c.out, uint64(size), 16)
		c.out = append(c.out, '\r', '\n')
		if size == 0 {
			break
		}
		if err := c.data(size); err != nil {
			return c.moved, err
		}
	}
	if err := c.trailers(); err != nil {
		return c.moved, err
	}
	return c.moved, c.flush()
}

// flush writes out what was decoded so far.
func (c *chunkCopy) flush() error {
	if len(c.out) == 0 {
		return nil
	}
	n, err := c.dst.Write(c.out)
	if err == nil && n < len(c.out) {
		err = io.ErrShortWrite
	}
	c.out = c.out[:0]
	return err
}

// room flushes out unless it has n free bytes.
func (c *chunkCopy) room(n int) error {
	if cap(c.out)-len(c.out) >= n {
		return nil
	}
	return c.flush()
}

// refill flushes out, then reads more of the body into src's buffer.
func (c *chunkCopy) refill() error {
	if err := c.flush(); err != nil {
		return err
	}
	return c.src.more()
}

// line returns the next line of the body, ending in CRLF. It is a slice of
// src's buffer, valid until the next refill.
func (c *chunkCopy) line() ([]byte, error) {
	s := c.src
	for {
		if i := bytes.IndexByte(s.buf[s.r+s.scanned:s.w], '\n'); i >= 0 {
			i += s.r + s.scanned
			line := s.buf[s.r : i+1]
			s.r, s.scanned = i+1, 0
			if len(line) < 2 || line[len(line)-2] != '\r' {
				return nil, errBareLF
			}
			return line, nil
		}
		s.scanned = s.w - s.r
		if err := c.refill(); err != nil {
			return nil, err
		}
	}
}

// data moves size bytes of chunk data and the CRLF after them.
func (c *chunkCopy) data(size int64) error {
	s := c.src
	empty := 0
	for size > 0 {
		if s.r == s.w {
			if err := c.flush(); err != nil {
				return err
			}
			if size < int64(len(s.buf)) {
				if err := s.more(); err != nil {
					return err
				}
				continue
			}
			// A long chunk: read it straight into out, saving a copy.
			n, err := s.Read(c.out[:min(int64(cap(c.out)), size)])
			c.out = c.out[:n]
			size -= int64(n)
			c.moved += int64(n)
			if ferr := c.flush(); ferr != nil {
				return ferr
			}
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			if err != nil {
				return err
			}
			if empty++; n > 0 {
				empty = 0
			} else if empty == maxEmptyReads {
				return io.ErrNoProgress
			}
			continue
		}
		if err := c.room(1); err != nil {
			return err
		}
		k := int(min(int64(s.w-s.r), int64(cap(c.out)-len(c.out)), size))
		c.out = append(c.out, s.buf[s.r:s.r+k]...)
		s.r += k
		size -= int64(k)
		c.moved += int64(k)
	}
	for s.w-s.r < 2 {
		if s.w > s.r && s.buf[s.r] != '\r' {
			return errChunkData
		}
		if err := c.refill(); err != nil {
			return err
		}
	}
	if s.buf[s.r] != '\r' || s.buf[s.r+1] != '\n' {
		return errChunkData
	}
	s.r += 2
	if err := c.room(2); err != nil {
		return err
	}
	c.out = append(c.out, '\r', '\n')
	return nil
}

// trailers moves the trailer section and the empty line that ends the body.
// Fields are validated as header fields are; those that frame or route a
// message are dropped.
func (c *chunkCopy) trailers() error {
	for count := 0; ; count++ {
		line, err := c.line()
		if err != nil {
			return err
		}
		if len(line) == 2 {
			if err := c.room(2); err != nil {
				return err
			}
			c.out = append(c.out, '\r', '\n')
			return nil
		}
		if count == maxFields {
			return errManyFields
		}
		name, value, _, err := parseField(line, 0)
		if err != nil {
			return err
		}
		switch k := kindOf(name); {
		case k.hopByHop(), k == kContentLength, k == kHost:
			continue
		}
		if err := c.room(len(name) + len(value) + 4); err != nil {
			return err
		}
		if cap(c.out) >= len(name)+len(value)+4 {
			c.out = AppendHeader(c.out, name, value)
			continue
		}
		// Longer than out: write it in pieces (name, ": ", value, CRLF).
		for _, p := range [][]byte{name, colonSP, value, crlf} {
			if _, err := c.dst.Write(p); err != nil {
				return err
			}
		}
	}
}

// Constant pieces for writing a long trailer field; never modified.
var (
	colonSP = []byte(": ")
	crlf    = []byte("\r\n")
)

// parseChunkSize parses a chunk-size line (RFC 9112 7.1): 1 to 16 hex
// digits, at most 2^62, then nothing or chunk extensions starting right
// after the digits. Extensions are validated and dropped.
func parseChunkSize(line []byte) (int64, error) {
	var n uint64
	i := 0
	for ; i < len(line) && unhex[line[i]] != 0xff; i++ {
		if i == 16 {
			return 0, errChunkSize
		}
		n = n<<4 | uint64(unhex[line[i]])
	}
	if i == 0 || n > maxLength {
		return 0, errChunkSize
	}
	if i < len(line) {
		if line[i] != ';' {
			return 0, errChunkSize
		}
		if !validChunkExt(line[i:]) {
			return 0, errChunkExt
		}
	}
	return int64(n), nil
}

// validChunkExt reports whether b is a valid chunk-ext:
// *( BWS ";" BWS token [ BWS "=" BWS ( token / quoted-string ) ] ).
func validChunkExt(b []byte) bool {
	i := 0
	for i < len(b) {
		i = skipWS(b, i)
		if i == len(b) || b[i] != ';' {
			return false // trailing whitespace, or no ';'
		}
		i = skipWS(b, i+1)
		j := i
		for j < len(b) && class[b[j]]&cToken != 0 {
			j++
		}
		if j == i {
			return false
		}
		k := skipWS(b, j)
		if k == len(b) || b[k] != '=' {
			i = j
			continue
		}
		i = skipWS(b, k+1)
		if i < len(b) && b[i] == '"' {
			if i = quotedString(b, i); i < 0 {
				return false
			}
			continue
		}
		j = i
		for j < len(b) && class[b[j]]&cToken != 0 {
			j++
		}
		if j == i {
			return false
		}
		i = j
	}
	return true
}

// skipWS returns the index of the first byte at or after i that is not SP
// or HTAB.
func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	return i
}

// quotedString returns the index just past the quoted-string starting at
// b[i] (RFC 9110 5.6.4), or -1 when it is malformed.
func quotedString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			if i++; i == len(b) || class[b[i]]&cValue == 0 {
				return -1
			}
		case class[c]&cValue == 0:
			return -1
		}
	}
	return -1
}
