package h2

import (
	"fmt"
	"time"

	"github.com/sluice-proxy/sluice/internal/h2/frame"
	"github.com/sluice-proxy/sluice/internal/h2/hpackx"
)

// StreamID and ErrCode are the codec's types, re-exported for readers of
// this package's API.
type (
	StreamID = frame.StreamID
	ErrCode  = frame.ErrCode
	Field    = hpackx.Field
)

// StreamState is a stream's state (RFC 9113 5.1). Reserved states do not
// occur: sluice never pushes and refuses PUSH_PROMISE.
type StreamState uint8

// Stream states.
const (
	StateIdle StreamState = iota
	StateOpen
	StateHalfClosedLocal  // we sent END_STREAM; the peer may still send
	StateHalfClosedRemote // the peer sent END_STREAM; we may still send
	StateClosed
)

func (s StreamState) String() string {
	switch s {
	case StateIdle:
		return "idle"
	case StateOpen:
		return "open"
	case StateHalfClosedLocal:
		return "half_closed_local"
	case StateHalfClosedRemote:
		return "half_closed_remote"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("StreamState(%d)", uint8(s))
}

// Stream is one stream of a Conn. Its fields are the engine's; the handler
// reads them through methods and keeps its own state in App.
type Stream struct {
	id    StreamID
	conn  *Conn
	state StreamState

	// App is the handler's per-stream value.
	App any

	// Flow control (RFC 9113 6.9). sendWindow may go negative after the
	// peer lowers SETTINGS_INITIAL_WINDOW_SIZE (6.9.2).
	sendWindow int64
	recvWindow int64 // what the peer may still send us
	recvCredit int64 // consumed by the handler, not yet returned by WINDOW_UPDATE

	// Content-Length check of received bodies (RFC 9113 8.1.1).
	declaredLen int64 // -1 when absent
	receivedLen int64

	// Outbound: data queued by the handler and sent as the windows allow.
	sendq        dataQueue
	endQueued    bool    // END_STREAM follows the queued data
	trailers     []Field // sent (as a HEADERS with END_STREAM) after the data
	trailerStore []byte  // backing bytes of trailers
	headersSent  bool    // the (final) response/request head went out
	respStarted  bool    // client role: the final response head arrived
	reapReason   string  // set when a reaper reset the stream
	resetSent    bool    // we emitted RST_STREAM: at most one per stream
	resetRecv    bool
	closeCode    ErrCode // why it closed, when reset
	released     bool

	// Scheduler bookkeeping (see sched.go, priority.go).
	prio       Priority   // effective: respPrio merged over clientPrio
	clientPrio Priority   // the request's priority header, then PRIORITY_UPDATE (RFC 9218 5, 7)
	respPrio   prioParams // the backend response's priority header (RFC 9218 8)
	queued     bool       // in the scheduler's ready set
	blocked    bool       // has data but no stream window
	pos        queuePos   // where it waits while queued

	// Reapers (DESIGN.md 3.6).
	lastActivity  time.Time     // last DATA/HEADERS either way
	stalledSince  time.Time     // zero unless data waits on a closed send window
	stallProgress int64         // bytes sent since the stall began
	idleTimeout   time.Duration // SetIdleTimeout; zero: the connection's StreamIdleTimeout
}

// ID returns the stream identifier.
func (s *Stream) ID() StreamID { return s.id }

// State returns the RFC 9113 state.
func (s *Stream) State() StreamState { return s.state }

// Closed reports whether the stream reached the closed state.
func (s *Stream) Closed() bool { return s.state == StateClosed }

// HeadersSent reports whether a final head was written on the stream.
func (s *Stream) HeadersSent() bool { return s.headersSent }

// CloseCode is the error code the stream was reset with (NO_ERROR when it
// closed normally).
func (s *Stream) CloseCode() ErrCode { return s.closeCode }

// ResetByPeer reports whether the peer reset the stream.
func (s *Stream) ResetByPeer() bool { return s.resetRecv }

// Queued returns the bytes queued for sending and not yet framed.
func (s *Stream) Queued() int { return s.sendq.len }

// SendWindow returns the stream's current send window.
func (s *Stream) SendWindow() int64 { return s.sendWindow }

// ReapReason is "idle_timeout" or "window_stall" when a reaper reset the
// stream, else "".
func (s *Stream) ReapReason() string { return s.reapReason }

// Priority returns the stream's RFC 9218 priority.
func (s *Stream) Priority() Priority { return s.prio }

// remoteClosed reports whether the peer can no longer send on the stream.
func (s *Stream) remoteClosed() bool {
	return s.state == StateHalfClosedRemote || s.state == StateClosed
}

// localClosed reports whether we can no longer send on the stream.
func (s *Stream) localClosed() bool {
	return s.state == StateHalfClosedLocal || s.state == StateClosed
}

// Stream state transitions, one function per event (RFC 9113 5.1). They
// return whether the stream is now closed.

// onRecvEndStream: the peer sent END_STREAM.
func (s *Stream) onRecvEndStream() bool {
	switch s.state {
	case StateOpen:
		s.state = StateHalfClosedRemote
	case StateHalfClosedLocal:
		s.state = StateClosed
	default:
		panic("h2: internal error: END_STREAM received in state " + s.state.String())
	}
	return s.state == StateClosed
}

// onSendEndStream: we sent END_STREAM.
func (s *Stream) onSendEndStream() bool {
	switch s.state {
	case StateOpen:
		s.state = StateHalfClosedLocal
	case StateHalfClosedRemote:
		s.state = StateClosed
	default:
		panic("h2: internal error: END_STREAM sent in state " + s.state.String())
	}
	return s.state == StateClosed
}
