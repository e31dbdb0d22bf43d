package session

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"syscall"
	"time"
)

// readWaiter lets a reader wait for a connection to become readable
// without holding a read buffer, which is most of what an idle connection
// would otherwise cost.
//
// The wait itself is the readiness poller's where there is one (the
// session arms its registration when read reports the socket drained);
// otherwise wait blocks a goroutine. Plain TCP: wait peeks at the socket
// without blocking and, when nothing is there, asks Go's poller to wait;
// a read that does not fill the buffer means the socket is empty again. TLS: the wait is on the socket under
// the TLS layer, so what crypto/tls already read ahead must be consumed
// first: after the first (blocking) read of a burst, reads run with an
// expired deadline until they time out, which crypto/tls treats as a
// temporary error and which costs no system call. Connections of other
// types (in-memory pipes in tests) simply read.
type readWaiter struct {
	conn net.Conn
	raw  syscall.RawConn // nil: no readiness wait possible
	tls  bool
	// draining (TLS): reads run with an expired deadline, returning only
	// what crypto/tls already holds. A TLS connection starts draining:
	// the client's first records may have arrived with the handshake.
	draining bool
	peek     func(fd uintptr) bool // made on the first wait: a closure per wait would allocate
	one      [1]byte
}

var errDrained = errors.New("read drained: nothing buffered")

var expired = time.Unix(1, 0)

func newReadWaiter(c net.Conn) *readWaiter {
	w := &readWaiter{conn: c}
	_, w.tls = c.(*tls.Conn)
	w.raw = rawConnOf(c)
	if w.tls && w.raw != nil {
		w.draining = true
		c.SetReadDeadline(expired)
	}
	return w
}

// wait blocks until the socket has bytes (or EOF). Without a raw socket,
// or while TLS still has buffered bytes to drain, it returns at once.
func (w *readWaiter) wait() error {
	if w.raw == nil || w.draining {
		return nil
	}
	if w.peek == nil {
		w.peek = w.peekReady
	}
	return w.raw.Read(w.peek)
}

// peekReady reports whether the socket has something for a read: data,
// EOF or an error. EAGAIN means nothing yet, so the poller waits.
func (w *readWaiter) peekReady(fd uintptr) bool {
	_, _, err := syscall.Recvfrom(int(fd), w.one[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return err != syscall.EAGAIN
}

// read reads into p. It returns errDrained (possibly with n > 0) when the
// connection has nothing more buffered, so the caller goes back to wait.
func (w *readWaiter) read(p []byte) (int, error) {
	if w.raw == nil {
		return w.conn.Read(p)
	}
	if !w.tls {
		n, err := w.conn.Read(p)
		if err == nil && n < len(p) {
			return n, errDrained
		}
		return n, err
	}
	n, err := w.conn.Read(p)
	if !w.draining {
		// The blocking read after a wait: TLS may have read more records
		// than it returned; drain them next.
		if err == nil {
			w.draining = true
			w.conn.SetReadDeadline(expired)
		}
		return n, err
	}
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		w.draining = false
		w.conn.SetReadDeadline(time.Time{})
		return n, errDrained
	}
	return n, err
}

// rawConnOf is the socket under c (under its TLS layer), or nil when c
// has none (an in-memory pipe).
func rawConnOf(c net.Conn) syscall.RawConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			return rc
		}
	}
	return nil
}
