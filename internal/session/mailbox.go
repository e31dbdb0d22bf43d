package session

import (
	"github.com/sluice-proxy/sluice/internal/bufpool"
	mb "github.com/sluice-proxy/sluice/internal/mailbox"
)

// mailbox carries the events other goroutines hand to an HTTP/2
// session's owner (see package mailbox). It is bounded by construction: the
// reader has at most two buffers in flight, each stream posts at most one
// notification until the owner takes it (its notified flag), and control
// events (timer, drain, kill) are few.
type mailbox = mb.Box[event]

func newMailbox(owner func()) *mailbox { return mb.New[event](owner, &eventQueues) }

// eventQueues holds the event slices of parked sessions: the mailbox
// queue and the owner's batch both go back here when the owner parks.
var eventQueues = bufpool.Slices[event]{MaxCap: 256}

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
