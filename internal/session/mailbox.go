package session

import "sync"

// mailbox is how other goroutines hand work to an HTTP/2 session's owner.
// Posts never block. The queue is bounded by construction: the reader has
// at most two buffers in flight, each stream posts at most one
// notification until the owner takes it (its notified flag), and control
// events (drain, kill) are one each.
type mailbox struct {
	mu     sync.Mutex
	q      []event
	wake   chan struct{} // capacity 1: "the queue is not empty"
	closed bool
}

type eventKind uint8

const (
	evRead   eventKind = iota // the reader filled a buffer (or failed)
	evStream                  // a stream's exchange has output or finished
	evCredit                  // a stream's exchange consumed request body bytes
	evDrain                   // graceful drain requested
	evKill                    // close now
)

type event struct {
	kind eventKind
	buf  *readBuf
	n    int
	err  error
	st   *h2Stream
	gen  uint64 // st.gen when posted
}

func newMailbox() *mailbox {
	return &mailbox{wake: make(chan struct{}, 1)}
}

// post queues e and wakes the owner. After the owner has gone, posts are
// dropped (the caller's resources are reclaimed by the owner's exit path).
func (m *mailbox) post(e event) bool {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return false
	}
	m.q = append(m.q, e)
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
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
