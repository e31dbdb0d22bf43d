package h2

import (
	"cmp"
	"slices"
	"time"

	"github.com/sluice-proxy/sluice/internal/h2/frame"
)

// Reap reasons (metric labels of sluice_h2_streams_reaped_total).
const (
	ReapIdle        = "idle_timeout"
	ReapWindowStall = "window_stall"
	ReapStallBudget = "stall_budget" // a window stall that dribbled some progress (subset of window_stall)
)

// NextDeadline returns when Tick must next run (zero: no timer needed).
func (c *Conn) NextDeadline() time.Time {
	var d time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	if len(c.settingsSentAt) > 0 {
		earliest(c.settingsSentAt[0].Add(c.cfg.SettingsAckTimeout))
	}
	if c.hb.active {
		earliest(c.hb.start.Add(c.cfg.HeaderBlockTimeout))
	}
	if len(c.streams) > 0 {
		// The reapers run on a coarse clock: scanning every stream after
		// every event would cost more than it saves. A stream is reaped at
		// most reapInterval after its deadline.
		if c.nextReap.IsZero() {
			c.nextReap = c.t.Add(c.reapInterval())
		}
		earliest(c.nextReap)
	}
	return d
}

// reapInterval is how often the reapers scan the streams.
func (c *Conn) reapInterval() time.Duration {
	d := c.cfg.StreamIdleTimeout
	if c.minStreamIdle > 0 {
		d = min(d, c.minStreamIdle)
	}
	return max(min(time.Second, d/4), time.Millisecond)
}

// SetIdleTimeout gives s its own reaper deadline instead of the
// connection's StreamIdleTimeout. A backend connection serves requests
// from listeners with different h2_stream_idle_timeout_seconds; each
// upload is reaped on its own listener's deadline (DESIGN.md 3.6).
func (s *Stream) SetIdleTimeout(d time.Duration) {
	if d <= 0 {
		return
	}
	s.idleTimeout = d
	c := s.conn
	if c.minStreamIdle == 0 || d < c.minStreamIdle {
		c.minStreamIdle = d
	}
}

func (s *Stream) reapAfter() time.Duration {
	if s.idleTimeout > 0 {
		return s.idleTimeout
	}
	return s.conn.cfg.StreamIdleTimeout
}

// Tick runs the timers: the SETTINGS acknowledgement deadline and the
// per-stream reapers. It returns an error when the connection must end.
// Running it from the driver's timer (not only on reads) is what reaps
// the streams of a peer that went completely silent.
func (c *Conn) Tick() error {
	c.wake()
	if c.state == connClosed {
		c.deliverClosed()
		return ErrClosed
	}
	c.t = c.now()
	if len(c.settingsSentAt) > 0 && c.t.Sub(c.settingsSentAt[0]) >= c.cfg.SettingsAckTimeout {
		// RFC 9113 6.5.3.
		return c.fail(connErr(frame.SettingsTimeout, "settings_ack_timeout"))
	}
	if c.hb.active && c.t.Sub(c.hb.start) >= c.cfg.HeaderBlockTimeout {
		// Slow loris: a field block trickled in CONTINUATION frames (or
		// never finished) holds the connection, since RFC 9113 6.10 lets
		// no other frame in until it ends. Nothing but closing frees it.
		return c.fail(errFlood(FloodSlowHeaders))
	}
	if !c.nextReap.IsZero() && !c.t.Before(c.nextReap) {
		c.nextReap = time.Time{}
		if err := c.reap(); err != nil {
			return c.fail(err)
		}
	}
	c.deliverClosed()
	return nil
}

// reap resets streams that made no progress for the stream idle timeout
// (DESIGN.md 3.6): bidirectional silence (slow multiplex: the connection
// timer resets on every frame, so without this a peer could hold every
// stream slot), or a send window stalled without 16 KiB of progress
// (WINDOW_UPDATE drip). Reaped streams get RST_STREAM(CANCEL), which
// counts against the emitted-reset cap like any reset we send.
//
// The silence reaper judges only a peer that could send and does not
// (peerCanSend).
//
// The window-stall reaper runs in both roles: as a client it reaps an
// upload that an HTTP/2 backend starves of window. The silence reaper
// runs only as a server: a backend's silence is bounded by the response
// timeout (re-armed on progress, which answers 504 rather than reset),
// and a backend also goes quiet when sluice withholds its window because
// the frontend client reads slowly, which the frontend's own stall
// reaper judges.
func (c *Conn) reap() error {
	var victims []*Stream
	for _, s := range c.streams {
		if s.sendq.len > 0 && min(s.sendWindow, c.sendWindow) <= 0 {
			c.markStall(s)
		}
		idle := s.reapAfter()
		switch {
		case !s.stalledSince.IsZero() && c.t.Sub(s.stalledSince) >= idle:
			s.reapReason = ReapWindowStall
		case c.cfg.Role == Server && c.peerCanSend(s) && c.t.Sub(s.lastActivity) >= idle:
			s.reapReason = ReapIdle
		default:
			continue
		}
		victims = append(victims, s)
	}
	// Map order is random: reset in stream order so a run is repeatable.
	slices.SortFunc(victims, func(a, b *Stream) int { return cmp.Compare(a.id, b.id) })
	for _, s := range victims {
		c.obs.Reaped(s.reapReason)
		if s.reapReason == ReapWindowStall && s.stallProgress > 0 {
			c.obs.Reaped(ReapStallBudget)
		}
		if err := c.reset(s.id, s, frame.Cancel); err != nil {
			return err
		}
	}
	return nil
}

// peerCanSend reports whether the silence of s is the peer's doing: it
// still owes us its request (or body) and our windows let it send. Once
// the peer has ended its side, the stream waits on the backend (bounded by
// the backend timeouts, which answer 504) or on the peer's window (the
// stall reaper); while we withhold window, its silence is ours.
func (c *Conn) peerCanSend(s *Stream) bool {
	return !s.remoteClosed() && s.recvWindow > 0 && c.recvWindow > 0
}

// StartDrain begins a graceful shutdown (RFC 9113 6.8, DESIGN.md 3.9): a
// first GOAWAY with the largest stream id tells the peer to stop opening
// streams while everything in flight still completes. The final GOAWAY,
// with the real last stream id, follows once the streams have drained.
// It is a no-op when a drain already began: only one initial GOAWAY.
func (c *Conn) StartDrain() {
	c.wake()
	if c.drainStage > 0 || c.state == connClosed {
		return
	}
	c.t = c.now()
	c.drainStage = 1
	c.writeGoAway(frame.MaxStreamID, frame.NoError, nil)
	c.drainStep()
}

// Draining reports whether StartDrain was called.
func (c *Conn) Draining() bool { return c.drainStage > 0 }

// drainStep sends the final GOAWAY once no stream is left.
func (c *Conn) drainStep() {
	if c.drainStage != 1 || len(c.streams) > 0 {
		return
	}
	c.drainStage = 2
	c.writeGoAway(c.lastPeer, frame.NoError, nil)
	c.closeAfter = true
}

// GoAway ends the connection now with a final GOAWAY(code); open streams
// are closed.
func (c *Conn) GoAway(code ErrCode, debug []byte) {
	c.wake()
	if c.state == connClosed {
		return
	}
	c.t = c.now()
	c.writeGoAway(c.lastPeer, code, debug)
	c.drainStage = 2
	c.closeAfter = true
	c.state = connClosed
	c.abortStreams(code)
	c.deliverClosed()
}
