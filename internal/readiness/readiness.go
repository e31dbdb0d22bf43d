// Package readiness tells when idle sockets become readable, without a
// goroutine per socket.
//
// Go waits for a socket by parking the goroutine that reads it, and a
// parked goroutine costs its stack (2 KiB at least) and its descriptor
// (about 0.4 KiB) for as long as it waits. For a proxy holding thousands
// of idle keep-alive connections that is a sixth of what each costs. A
// Poller instead keeps one epoll set of its own for the idle sockets and
// one goroutine waiting on it: a socket is armed when its reader has
// drained it, and when it becomes readable (or hangs up) its callback runs
// once on a pooled goroutine (package gopool), which reads and arms it
// again.
//
// The socket stays registered with Go's own poller too, so reads, writes
// and deadlines through net.Conn work as usual; the Poller only replaces
// the wait of an idle reader.
//
// Without epoll (other systems), New returns ErrUnsupported and callers
// keep a goroutine per waiting reader.
package readiness

import (
	"errors"
	"sync"
	"sync/atomic"
	"syscall"
)

// ErrUnsupported: this system has no Poller; wait with a goroutine.
var ErrUnsupported = errors.New("readiness: not supported on this system")

// errClosed is returned by Arm after Close.
var errClosed = errors.New("readiness: registration closed")

// Registration is one socket in a Poller.
type Registration struct {
	p     *Poller
	rc    syscall.RawConn
	token uint64 // the socket's key in p.ready; never reused
	ready func()
	added bool // in the epoll set (armed at least once)
	mu    sync.Mutex
	done  bool

	// Arm's system call, kept here so arming allocates nothing (linux).
	ctl    func(fd uintptr)
	ctlErr error
	ev     epollEvent
}

var (
	defaultOnce   sync.Once
	defaultPoller *Poller
	defaultLive   atomic.Pointer[Poller] // set once Default started one
)

// Default is the process-wide Poller, started on first use; nil when this
// system has none.
func Default() *Poller {
	defaultOnce.Do(func() {
		p, err := New()
		if err == nil {
			defaultPoller = p
			defaultLive.Store(p)
		}
	})
	return defaultPoller
}

// DefaultWaiting is the number of sockets registered with the default
// Poller (idle connections), without starting it: 0 before first use.
func DefaultWaiting() int {
	if p := defaultLive.Load(); p != nil {
		return p.Waiting()
	}
	return 0
}

// Register prepares rc's socket to be waited for; ready is what runs
// (on a pooled goroutine) each time an armed socket becomes readable. It
// does not arm. Close the registration when the connection ends.
func (p *Poller) Register(rc syscall.RawConn, ready func()) *Registration {
	p.mu.Lock()
	p.next++
	r := &Registration{p: p, rc: rc, token: p.next, ready: ready}
	p.waiting[r.token] = r
	p.mu.Unlock()
	return r
}

// Waiting is the number of registered sockets.
func (p *Poller) Waiting() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.waiting)
}

// lookup returns the registration of token, if it is still registered.
func (p *Poller) lookup(token uint64) *Registration {
	p.mu.Lock()
	r := p.waiting[token]
	p.mu.Unlock()
	return r
}

// Close removes the socket from the Poller: its callback will not run
// again (one already started finishes). Safe to call more than once and
// after the socket was closed.
func (r *Registration) Close() {
	r.mu.Lock()
	if r.done {
		r.mu.Unlock()
		return
	}
	r.done = true
	added := r.added
	r.mu.Unlock()
	r.p.mu.Lock()
	delete(r.p.waiting, r.token)
	r.p.mu.Unlock()
	if added {
		// A closed socket has left the set already; Control then fails.
		r.rc.Control(func(fd uintptr) { r.p.remove(int(fd)) })
	}
}
