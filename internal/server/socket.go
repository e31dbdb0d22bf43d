package server

import (
	"errors"
	"net"
	"os"
	"sync/atomic"
	"time"
)

// socket is one bound listening socket. It outlives the listener.Listener
// serving it: when a listener's settings change, Reconfigure stops the old
// accept loop and starts a new one on the same socket, so connections
// arriving meanwhile wait in the kernel's accept queue instead of being
// refused.
type socket struct {
	ln net.Listener
}

// deadliner is the part of *net.TCPListener that lets an accept loop be
// stopped without closing the socket.
type deadliner interface {
	SetDeadline(time.Time) error
}

// gate returns a new accept gate: the net.Listener one listener.Listener
// generation accepts from.
func (s *socket) gate() *gate { return &gate{sock: s} }

// swappable reports whether an accept loop on s can be stopped while the
// socket stays open.
func (s *socket) swappable() bool {
	_, ok := s.ln.(deadliner)
	return ok
}

// file returns a duplicate of the socket's descriptor, for a new process
// to inherit.
func (s *socket) file() (*os.File, error) {
	f, ok := s.ln.(interface{ File() (*os.File, error) })
	if !ok {
		return nil, errors.New("socket cannot be handed over")
	}
	return f.File()
}

// gate is one generation's view of a socket. Closing it normally closes the
// socket; after detach, closing it only ends this generation's Accept (by
// an accept deadline in the past) and leaves the socket open for the next.
type gate struct {
	sock     *socket
	detached atomic.Bool
	closed   atomic.Bool
}

// Accept accepts from the socket until the gate is closed. A connection
// the kernel hands over while the gate is closing is still returned: it
// cannot be put back, and the closing generation serves it.
func (g *gate) Accept() (net.Conn, error) {
	c, err := g.sock.ln.Accept()
	if err != nil && g.closed.Load() {
		return nil, net.ErrClosed
	}
	return c, err
}

// detach makes Close leave the socket open.
func (g *gate) detach() { g.detached.Store(true) }

// Close ends Accept; it closes the socket unless the gate was detached.
func (g *gate) Close() error {
	g.closed.Store(true)
	if !g.detached.Load() {
		return g.sock.ln.Close()
	}
	return g.sock.ln.(deadliner).SetDeadline(time.Now())
}

// reopen clears the accept deadline a detached gate's Close set, so the
// next generation's Accept blocks again. Call it after the old
// generation's accept loop has returned.
func (s *socket) reopen() {
	if d, ok := s.ln.(deadliner); ok {
		d.SetDeadline(time.Time{})
	}
}

// Addr returns the socket's address.
func (g *gate) Addr() net.Addr { return g.sock.ln.Addr() }
