package h2

import (
	"fmt"
	"slices"
	"time"

	"github.com/sluice-proxy/sluice/internal/h2/frame"
)

// InvariantChecker asserts the invariants of DESIGN.md section 4 that are
// observable at engine level (it is exported for the session simulator and
// used only by tests), after every step a driver makes (Feed,
// Produce, Tick, a handler call into the Conn). It watches both directions
// of the wire: the peer's bytes (to model the windows the peer granted and
// the settings it sent) and ours (to check what actually went out), plus the
// handler callbacks. It knows nothing of the test harness, so a simulator
// that drives a Conn with random interleavings can reuse it as is.
//
// Server role only (the engine under test is the frontend).
type InvariantChecker struct {
	c      *Conn
	report func(msg string) // called once per violation

	// Inbound (peer -> us) model.
	inBuf        []byte
	prefaceLeft  int  // octets of the client preface still expected
	inDead       bool // the inbound stream stopped parsing (a framing error ends the connection)
	appFrameIn   bool // this step carried HEADERS, CONTINUATION or DATA from the peer
	peerMaxFrame uint32

	// Send windows as the peer granted them, minus what we sent
	// (RFC 9113 6.9): what the engine may still send.
	grantConn     int64
	grantStream   map[StreamID]int64
	peerInit      int64
	windowLowered bool // a SETTINGS lowered INITIAL_WINDOW_SIZE: stream windows may go negative (6.9.2)

	// Receive windows as we granted them, minus what the peer sent.
	recvConn   int64
	recvStream map[StreamID]int64
	ourInit    int64

	// Outbound (us -> peer) model.
	outBuf        []byte
	rstOnWire     map[StreamID]bool
	goAwaysOnWire []StreamID
	initialGoAway int // GOAWAY(2^31-1) frames: one per drain at most
	sentByType    map[frame.FrameType]int

	// The handler's view.
	open         map[StreamID]*Stream // OnRequest'd, not yet OnClosed
	lastActivity time.Time
}

func NewInvariantChecker(c *Conn, report func(string)) *InvariantChecker {
	return &InvariantChecker{
		c:            c,
		report:       report,
		prefaceLeft:  len(frame.ClientPreface),
		peerMaxFrame: frame.DefaultMaxFrameSize,
		grantConn:    initialWindow,
		grantStream:  map[StreamID]int64{},
		peerInit:     initialWindow,
		recvConn:     initialWindow,
		recvStream:   map[StreamID]int64{},
		ourInit:      int64(c.cfg.InitialWindowSize),
		rstOnWire:    map[StreamID]bool{},
		sentByType:   map[frame.FrameType]int{},
		open:         map[StreamID]*Stream{},
	}
}

func (k *InvariantChecker) fail(format string, args ...any) {
	k.report(fmt.Sprintf("invariant: "+format, args...))
}

// BeginStep marks the start of one driver step.
func (k *InvariantChecker) BeginStep() {
	k.appFrameIn = false
	k.lastActivity = k.c.LastActivity()
}

// PeerBytes models bytes the peer sent (exactly what was passed to Feed).
func (k *InvariantChecker) PeerBytes(p []byte) {
	if k.inDead {
		return
	}
	if k.prefaceLeft > 0 {
		n := min(len(p), k.prefaceLeft)
		p = p[n:]
		k.prefaceLeft -= n
	}
	k.inBuf = append(k.inBuf, p...)
	for {
		h, payload, n, err := frame.Next(k.inBuf, k.c.cfg.MaxFrameSize)
		if err != nil {
			k.inDead = true
			return
		}
		if n == 0 {
			return
		}
		k.peerFrame(h, payload)
		k.inBuf = k.inBuf[n:]
	}
}

func (k *InvariantChecker) peerFrame(h frame.Header, payload []byte) {
	switch h.Type {
	case frame.TypeHeaders:
		k.appFrameIn = true
		if _, ok := k.grantStream[h.StreamID]; !ok && h.StreamID.IsClient() {
			// The stream (if it opens) starts with the windows in force.
			k.grantStream[h.StreamID] = k.peerInit
			k.recvStream[h.StreamID] = k.ourInit
		}
	case frame.TypeContinuation:
		k.appFrameIn = true
	case frame.TypeData:
		k.appFrameIn = true
		k.recvConn -= int64(h.Length)
		if _, ok := k.recvStream[h.StreamID]; ok {
			k.recvStream[h.StreamID] -= int64(h.Length)
		}
	case frame.TypeWindowUpdate:
		f, err := frame.ParseWindowUpdate(h, payload)
		if err != nil {
			return
		}
		if h.StreamID == 0 {
			k.grantConn += int64(f.Increment)
		} else if _, ok := k.grantStream[h.StreamID]; ok {
			k.grantStream[h.StreamID] += int64(f.Increment)
		}
	case frame.TypeSettings:
		f, err := frame.ParseSettings(h, payload)
		if err != nil || f.Ack {
			return
		}
		for i := range f.NumSettings() {
			s := f.Setting(i)
			switch s.ID {
			case frame.SettingInitialWindowSize:
				// RFC 9113 6.9.2: the delta applies to every stream.
				delta := int64(s.Val) - k.peerInit
				if delta < 0 {
					k.windowLowered = true
				}
				k.peerInit = int64(s.Val)
				for id := range k.grantStream {
					k.grantStream[id] += delta
				}
			case frame.SettingMaxFrameSize:
				k.peerMaxFrame = s.Val
			}
		}
	}
}

// OurBytes checks bytes that went on the wire from us.
func (k *InvariantChecker) OurBytes(p []byte) {
	k.outBuf = append(k.outBuf, p...)
	for {
		h, payload, n, err := frame.Next(k.outBuf, frame.MaxMaxFrameSize)
		if err != nil {
			k.fail("unparseable output: %v", err)
			k.outBuf = nil
			return
		}
		if n == 0 {
			return
		}
		k.ourFrame(h, payload)
		k.outBuf = k.outBuf[n:]
	}
}

func (k *InvariantChecker) ourFrame(h frame.Header, payload []byte) {
	k.sentByType[h.Type]++
	if h.Length > k.peerMaxFrame && h.Type != frame.TypeSettings {
		// RFC 9113 4.2: never larger than the peer's SETTINGS_MAX_FRAME_SIZE.
		k.fail("%v exceeds the peer's max frame size %d", h, k.peerMaxFrame)
	}
	switch h.Type {
	case frame.TypeRSTStream:
		// DESIGN.md 4.4: at most one RST_STREAM per stream id.
		if k.rstOnWire[h.StreamID] {
			k.fail("second RST_STREAM on stream %d", h.StreamID)
		}
		k.rstOnWire[h.StreamID] = true
	case frame.TypeGoAway:
		g, err := frame.ParseGoAway(h, payload)
		if err != nil {
			k.fail("bad GOAWAY: %v", err)
			return
		}
		// RFC 9113 6.8: the last stream id never increases.
		if n := len(k.goAwaysOnWire); n > 0 && g.LastStreamID > k.goAwaysOnWire[n-1] {
			k.fail("GOAWAY last id increased from %d to %d", k.goAwaysOnWire[n-1], g.LastStreamID)
		}
		k.goAwaysOnWire = append(k.goAwaysOnWire, g.LastStreamID)
		// DESIGN.md 4.7: one initial GOAWAY per drain.
		if g.LastStreamID == frame.MaxStreamID {
			k.initialGoAway++
			if k.initialGoAway > 1 {
				k.fail("%d initial GOAWAYs", k.initialGoAway)
			}
		}
	case frame.TypeData:
		// Bytes sent never exceed the windows granted (RFC 9113 6.9.1);
		// the whole payload counts, padding included.
		n := int64(h.Length)
		k.grantConn -= n
		if k.grantConn < 0 {
			k.fail("DATA on stream %d overran the connection window by %d", h.StreamID, -k.grantConn)
		}
		w, ok := k.grantStream[h.StreamID]
		if !ok {
			k.fail("DATA on stream %d the peer never opened", h.StreamID)
			return
		}
		w -= n
		k.grantStream[h.StreamID] = w
		if w < 0 && n > 0 {
			k.fail("DATA on stream %d overran the stream window by %d", h.StreamID, -w)
		}
	case frame.TypeWindowUpdate:
		f, err := frame.ParseWindowUpdate(h, payload)
		if err != nil {
			k.fail("bad WINDOW_UPDATE: %v", err)
			return
		}
		if f.Increment == 0 {
			k.fail("WINDOW_UPDATE(0) on stream %d", h.StreamID)
		}
		if h.StreamID == 0 {
			k.recvConn += int64(f.Increment)
		} else if _, ok := k.recvStream[h.StreamID]; ok {
			k.recvStream[h.StreamID] += int64(f.Increment)
		}
	}
}

// OnRequest is called from the handler's OnRequest.
func (k *InvariantChecker) OnRequest(s *Stream) {
	id := s.ID()
	// DESIGN.md 4.5: no stream above the last id of a GOAWAY we sent
	// (on the wire or queued) is ever accepted.
	last, ok := k.goAwayLast()
	if ok && id > last {
		k.fail("stream %d accepted after GOAWAY(last=%d)", id, last)
	}
	if k.open[id] != nil {
		k.fail("OnRequest twice for stream %d", id)
	}
	if s.Closed() {
		k.fail("OnRequest for closed stream %d", id)
	}
	k.open[id] = s
}

// goAwayLast is the smallest last-stream-id among the GOAWAYs we sent,
// including frames queued in Pending and not yet written.
func (k *InvariantChecker) goAwayLast() (StreamID, bool) {
	last, ok := StreamID(0), false
	if n := len(k.goAwaysOnWire); n > 0 {
		last, ok = k.goAwaysOnWire[n-1], true
	}
	buf := k.c.Pending()
	for {
		h, payload, n, err := frame.Next(buf, frame.MaxMaxFrameSize)
		if err != nil || n == 0 {
			break
		}
		if h.Type == frame.TypeGoAway {
			if g, err := frame.ParseGoAway(h, payload); err == nil && (!ok || g.LastStreamID < last) {
				last, ok = g.LastStreamID, true
			}
		}
		buf = buf[n:]
	}
	return last, ok
}

// OnClosed is called from the handler's OnClosed.
func (k *InvariantChecker) OnClosed(s *Stream) {
	if !s.Closed() {
		k.fail("OnClosed for stream %d in state %v", s.ID(), s.State())
	}
	if k.c.streams[s.ID()] == s {
		k.fail("OnClosed for stream %d still in the stream map", s.ID())
	}
	delete(k.open, s.ID())
}

// EndStep checks the engine's state after one step. fullyWritten says
// the driver wrote all of Pending, so the wire models are exact. entry
// says the step was an engine entry point (Feed, Produce, Tick), which
// reports every closed stream before returning; a handler-side call
// (WriteResponse, Reset, ...) leaves that to the next entry point.
func (k *InvariantChecker) EndStep(fullyWritten, entry bool) {
	c := k.c
	// DESIGN.md 4.6: only HEADERS and DATA from the peer move the idle
	// clock; SETTINGS, PING, WINDOW_UPDATE and our own output never do.
	if !k.appFrameIn && !c.LastActivity().Equal(k.lastActivity) {
		k.fail("LastActivity moved from %v to %v without HEADERS or DATA", k.lastActivity, c.LastActivity())
	}
	// Closed streams are reported before the step returns.
	if entry && len(c.closedQ) != 0 {
		k.fail("%d closed streams not reported to the handler", len(c.closedQ))
	}
	// DESIGN.md 4.1: every wire stream id maps to a live stream.
	peer, ours := 0, 0
	for id, s := range c.streams {
		switch {
		case s.id != id:
			k.fail("stream map key %d holds stream %d", id, s.id)
		case s.conn != c:
			k.fail("stream %d belongs to another connection", id)
		case s.released:
			k.fail("released stream %d still in the map", id)
		case s.state == StateClosed || s.state == StateIdle:
			k.fail("stream %d in the map in state %v", id, s.state)
		}
		if c.isPeerStream(id) {
			peer++
		} else {
			ours++
		}
		// Windows never go negative, except a send window after the
		// peer lowered SETTINGS_INITIAL_WINDOW_SIZE (RFC 9113 6.9.2).
		if s.recvWindow < 0 {
			k.fail("stream %d receive window %d", id, s.recvWindow)
		}
		if s.sendWindow < 0 && !k.windowLowered {
			k.fail("stream %d send window %d without a SETTINGS change", id, s.sendWindow)
		}
		if fullyWritten && !k.inDead && c.state != connClosed {
			if w, ok := k.grantStream[id]; ok && w != s.sendWindow {
				k.fail("stream %d send window %d, the peer granted %d", id, s.sendWindow, w)
			}
			if w, ok := k.recvStream[id]; ok && !s.remoteClosed() && w != s.recvWindow {
				k.fail("stream %d receive window %d, we granted %d", id, s.recvWindow, w)
			}
		}
	}
	if peer != c.activePeer || ours != c.activeOurs {
		k.fail("active counts peer=%d ours=%d, map holds %d and %d", c.activePeer, c.activeOurs, peer, ours)
	}
	for id, s := range k.open {
		if c.streams[id] != s && (entry || !slices.Contains(c.closedQ, s)) {
			k.fail("stream %d open for the handler but not in the map", id)
		}
	}
	if c.sendWindow < 0 || c.recvWindow < 0 {
		k.fail("connection windows send=%d recv=%d", c.sendWindow, c.recvWindow)
	}
	if fullyWritten && !k.inDead && c.state != connClosed {
		if c.sendWindow != k.grantConn {
			k.fail("connection send window %d, the peer granted %d", c.sendWindow, k.grantConn)
		}
		if c.recvWindow != k.recvConn {
			k.fail("connection receive window %d, we granted %d", c.recvWindow, k.recvConn)
		}
	}
	k.checkScheduler()
	// DESIGN.md 4.8: a connection that must close has its GOAWAY out.
	if fullyWritten && c.closeAfter && len(k.goAwaysOnWire) == 0 {
		k.fail("connection closing without a GOAWAY on the wire")
	}
}

// checkScheduler: every queued stream is live, in exactly one list, and
// the count matches; the scheduler's own structure is consistent.
func (k *InvariantChecker) checkScheduler() {
	sc := &k.c.sched
	seen := map[*Stream]bool{}
	sc.each(func(s *Stream) {
		if seen[s] {
			k.fail("stream %d twice in the scheduler", s.id)
		}
		seen[s] = true
		if !s.queued {
			k.fail("stream %d in a bucket but not marked queued", s.id)
		}
		if k.c.streams[s.id] != s {
			k.fail("scheduler holds stream %d that is not live", s.id)
		}
	})
	if len(seen) != sc.n {
		k.fail("scheduler count %d, buckets hold %d", sc.n, len(seen))
	}
	sc.check(k.fail)
}

// CheckObserver compares the observer's per-type frame counts with the
// frames seen on the wire (the metrics must not lie).
func (k *InvariantChecker) CheckObserver(sent map[frame.FrameType]int) {
	for t, n := range sent {
		if k.sentByType[t] != n {
			k.fail("observer counted %d %v frames sent, the wire carried %d", n, t, k.sentByType[t])
		}
	}
	for t, n := range k.sentByType {
		if sent[t] != n {
			k.fail("wire carried %d %v frames, observer counted %d", n, t, sent[t])
		}
	}
}
