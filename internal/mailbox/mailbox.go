// Package mailbox is how goroutines hand work to the single owner of a
// connection's state (an HTTP/2 client session, an HTTP/2 backend
// connection). Posts never block.
//
// The mailbox also decides whether an owner goroutine exists: an owner
// with nothing to do parks (returns), and the next post starts it again
// on a pooled goroutine (package gopool, which keeps the stack the last
// owner grew), so an idle connection costs no goroutine of its own. Exactly one owner
// runs at a time: running is only set by a post that found it clear (or by
// Claim), and only cleared by Park when the queue is empty.
//
// Bounds are the caller's: every producer must have a bounded number of
// events outstanding (a reader with a fixed number of buffers, one
// notification per stream until it is taken, ...).
package mailbox

import (
	"sync"

	"github.com/sluice-proxy/sluice/internal/bufpool"
	"github.com/sluice-proxy/sluice/internal/gopool"
)

// Box is a mailbox carrying events of type E.
type Box[E any] struct {
	mu      sync.Mutex
	q       []E
	wake    chan struct{} // capacity 1: "the queue is not empty"
	closed  bool
	running bool               // an owner goroutine is alive
	owner   func()             // started by Post when none runs
	queues  *bufpool.Slices[E] // where a parked owner's queue goes; nil: dropped
}

// New returns a mailbox whose parked owner is restarted by running owner
// on a pooled goroutine (gopool.Go). A nil owner starts nothing: whoever drives the
// mailbox (a simulator) runs the owner's steps itself. Queues, when not
// nil, is where the queue's storage goes while the owner is parked (shared
// by every mailbox of a kind, so idle connections hold none and busy ones
// do not allocate).
func New[E any](owner func(), queues *bufpool.Slices[E]) *Box[E] {
	return &Box[E]{wake: make(chan struct{}, 1), owner: owner, queues: queues}
}

// Claim marks the calling goroutine as the running owner. Call it before
// anything can Post.
func (m *Box[E]) Claim() {
	m.mu.Lock()
	m.running = true
	m.mu.Unlock()
}

// Post queues e and wakes the owner, starting one if it is parked. After
// Close, posts are dropped (false): the caller reclaims what e carried.
func (m *Box[E]) Post(e E) bool {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return false
	}
	if m.q == nil && m.queues != nil {
		m.q = m.queues.Get()
	}
	m.q = append(m.q, e)
	start := !m.running
	m.running = true
	m.mu.Unlock()
	if start {
		if m.owner != nil {
			gopool.Go(m.owner)
		}
		return true
	}
	select {
	case m.wake <- struct{}{}:
	default:
	}
	return true
}

// Wake is ready when something was posted since the owner last took the
// queue (it may also be a stale signal: the owner then finds nothing).
func (m *Box[E]) Wake() <-chan struct{} { return m.wake }

// Take moves the queued events into dst (reusing its storage).
func (m *Box[E]) Take(dst []E) []E {
	var zero E
	if dst == nil && m.queues != nil {
		dst = m.queues.Get()
	}
	m.mu.Lock()
	dst = append(dst[:0], m.q...)
	for i := range m.q {
		m.q[i] = zero
	}
	m.q = m.q[:0]
	m.mu.Unlock()
	return dst
}

// Park lets the owner return when nothing is queued; it reports whether
// it may. After a successful Park the caller must not touch the owner's
// state again: a new owner may already be running.
func (m *Box[E]) Park() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.q) > 0 {
		return false
	}
	m.running = false
	if m.queues != nil {
		m.queues.Put(m.q)
	}
	m.q = nil
	return true
}

// Close stops accepting posts and returns what was still queued.
func (m *Box[E]) Close() []E {
	m.mu.Lock()
	m.closed = true
	q := m.q
	m.q = nil
	m.mu.Unlock()
	return q
}
