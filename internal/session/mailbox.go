package session

import "sync"

// mailbox is how other goroutines hand work to an HTTP/2 session's owner.
// Posts never block. The queue is bounded by construction: the reader has
// at most two buffers in flight, each stream posts at most one
// notification until the owner takes it (its notified flag), and control
// events (timer, drain, kill) are few.
//
// The mailbox also decides whether an owner goroutine exists: an owner
// with nothing to do parks (exits), and the next post starts a new one.
// Exactly one owner runs at a time: running is only set by a post that
// found it clear, and only cleared by the owner when the queue is empty.
type mailbox struct {
	mu      sync.Mutex
	q       []event
	wake    chan struct{} // capacity 1: "the queue is not empty"
	closed  bool
	running bool   // an owner goroutine is alive
	owner   func() // the owner's body, started by post when none runs
}

type eventKind uint8

const (
	evRead   eventKind = iota // the reader filled a buffer (or failed)
	evStream                  // a stream's exchange has output or finished
	evCredit                  // a stream's exchange consumed request body bytes
	evDrain                   // graceful drain requested
	evKill                    // close now
	evTimer                   // a session deadline passed
)

type event struct {
	kind eventKind
	buf  *readBuf
	n    int
	err  error
	st   *h2Stream
	gen  uint64 // st.gen when posted
}

func newMailbox(owner func()) *mailbox {
	return &mailbox{wake: make(chan struct{}, 1), owner: owner}
}

// claim marks the calling goroutine as the running owner.
func (m *mailbox) claim() {
	m.mu.Lock()
	m.running = true
	m.mu.Unlock()
}

// post queues e and wakes the owner, starting one if it is parked. After
// the session ended, posts are dropped (false): the caller reclaims what
// the event carried.
func (m *mailbox) post(e event) bool {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return false
	}
	m.q = append(m.q, e)
	start := !m.running
	m.running = true
	m.mu.Unlock()
	if start {
		go m.owner()
		return true
	}
	select {
	case m.wake <- struct{}{}:
	default:
	}
	return true
}

// park lets the owner exit when nothing is queued; it reports whether the
// owner may return. The memory of an empty queue is released too.
func (m *mailbox) park() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.q) > 0 {
		return false
	}
	m.running = false
	m.q = nil
	return true
}

// take moves the queued events into dst (reusing its storage).
func (m *mailbox) take(dst []event) []event {
	m.mu.Lock()
	dst = append(dst[:0], m.q...)
	for i := range m.q {
		m.q[i] = event{}
	}
	m.q = m.q[:0]
	m.mu.Unlock()
	return dst
}

// close stops accepting posts and returns what was still queued.
func (m *mailbox) close() []event {
	m.mu.Lock()
	m.closed = true
	q := m.q
	m.q = nil
	m.mu.Unlock()
	return q
}
