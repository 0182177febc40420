package http

import (
	"bufio"
	"net"
	"runtime"
	"sync"
	"time"
)

// batchConn gathers what the HTTP/2 server writes to a client connection
// and sends it in as few writes as it can. The server flushes whenever its
// queue of frames runs dry, which under load is after nearly every frame:
// two writes (two TLS records, two system calls) per stream, HEADERS and
// DATA. Here a Write only queues the bytes and wakes a writer goroutine,
// which lets the goroutines ready to run go first (they add the frames of
// other streams) and then writes everything queued in one go. Writes block
// once maxPending bytes wait, so a slow client still holds the server back.
// Each write to the client has timeout write (none when 0).
//
// Reads are buffered too: the server reads each frame's 9-byte header,
// then its payload, straight from the connection, which on h2c costs two
// system calls per frame.
type batchConn struct {
	net.Conn
	tc timedConn     // Conn with the write timeout, for the writer alone
	br *bufio.Reader // Conn's reads; the server's frame reader alone uses it

	mu      sync.Mutex
	room    sync.Cond // signalled when pending shrinks or err is set
	pending []byte
	spare   []byte
	err     error // the first write error, returned by every Write after it
	closed  bool
	kick    chan struct{} // capacity 1: there is something to write
	done    chan struct{} // closed when the writer goroutine has ended
}

const maxPending = 64 << 10

// newBatchConn wraps c and starts its writer, which Close stops.
func newBatchConn(c net.Conn, write time.Duration) *batchConn {
	b := &batchConn{Conn: c, kick: make(chan struct{}, 1), done: make(chan struct{})}
	b.tc.reset(c, 0, write)
	b.br = bufio.NewReaderSize(c, 4<<10)
	b.room.L = &b.mu
	go b.writer()
	return b
}

func (b *batchConn) Read(p []byte) (int, error) { return b.br.Read(p) }

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	for len(b.pending) >= maxPending && b.err == nil && !b.closed {
		b.room.Wait()
	}
	if b.err != nil || b.closed {
		err := b.err
		b.mu.Unlock()
		if err == nil {
			err = net.ErrClosed
		}
		return 0, err
	}
	wake := len(b.pending) == 0
	b.pending = append(b.pending, p...)
	b.mu.Unlock()
	if wake {
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

// writer sends what is pending until Close, then what is left.
func (b *batchConn) writer() {
	defer close(b.done)
	for {
		<-b.kick
		runtime.Gosched() // the other streams' frames first
		b.mu.Lock()
		out := b.pending
		b.pending, b.spare = b.spare[:0], nil
		closed := b.closed
		b.mu.Unlock()
		var err error
		if len(out) > 0 {
			_, err = b.tc.Write(out)
		}
		b.mu.Lock()
		if err != nil && b.err == nil {
			b.err = err
		}
		if cap(out) <= maxPending {
			b.spare = out[:0]
		}
		b.room.Broadcast()
		closed = closed || b.closed
		more := len(b.pending) > 0
		b.mu.Unlock()
		if closed && !more || err != nil && closed {
			return
		}
		if more {
			select {
			case b.kick <- struct{}{}:
			default:
			}
		}
	}
}

// Close sends what is still pending (within the write timeout), stops the
// writer and closes the connection.
func (b *batchConn) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.room.Broadcast()
	b.mu.Unlock()
	if b.tc.write <= 0 {
		b.Conn.SetWriteDeadline(time.Now().Add(10 * time.Second)) // what is left must not hold Close for ever
	}
	select {
	case b.kick <- struct{}{}:
	default:
	}
	<-b.done
	return b.Conn.Close()
}
