package h2

import (
	"errors"
	"slices"
	"time"

	"github.com/sluice-proxy/sluice/internal/h2/frame"
	"github.com/sluice-proxy/sluice/internal/h2/hpackx"
)

// Handler receives a connection's events. Calls are made on the driver's
// goroutine, from inside Feed, Tick and Produce, never re-entrantly from
// the handler's own calls into the Conn.
type Handler interface {
	// OnRequest: the peer opened s with a valid request (server role).
	// req is valid only during the call.
	OnRequest(s *Stream, req *Request)
	// OnResponse: a response head arrived on s (client role); 1xx heads
	// may precede the final one.
	OnResponse(s *Stream, resp *Response)
	// OnData: body bytes for s, valid only during the call. The handler
	// must eventually Consume every byte it is given (to return flow
	// control credit).
	OnData(s *Stream, p []byte, endStream bool)
	// OnTrailers: the trailer block that ends s's body.
	OnTrailers(s *Stream, fields []Field)
	// OnClosed: s reached the closed state (normally, by a reset from
	// either side, or reaped). The handler calls Release once it holds no
	// more references to s.
	OnClosed(s *Stream)
	// OnGoAway: the peer sent GOAWAY.
	OnGoAway(last StreamID, code ErrCode, debug []byte)
}

// Observer counts what a connection does, for metrics. Methods must be
// cheap; they run per frame.
type Observer interface {
	FrameReceived(t frame.FrameType)
	FrameSent(t frame.FrameType)
	RSTSent(code ErrCode)
	RSTReceived(code ErrCode)
	GoAwaySent(code ErrCode)
	GoAwayReceived(code ErrCode)
	Flood(kind FloodKind)
	Reaped(reason string)
	Refused()
	MCSShrunk()
	PriorityUpdate()
	PriorityDropped()
	// HeadersTooLarge: a request's field block broke the header list
	// size or field count limit and was answered 431 (HPACK bomb).
	HeadersTooLarge()
}

// NopObserver observes nothing; embed it to observe only some events.
type NopObserver struct{}

func (NopObserver) FrameReceived(frame.FrameType) {}
func (NopObserver) FrameSent(frame.FrameType)     {}
func (NopObserver) RSTSent(ErrCode)               {}
func (NopObserver) RSTReceived(ErrCode)           {}
func (NopObserver) GoAwaySent(ErrCode)            {}
func (NopObserver) GoAwayReceived(ErrCode)        {}
func (NopObserver) Flood(FloodKind)               {}
func (NopObserver) Reaped(string)                 {}
func (NopObserver) Refused()                      {}
func (NopObserver) MCSShrunk()                    {}
func (NopObserver) PriorityUpdate()               {}
func (NopObserver) PriorityDropped()              {}
func (NopObserver) HeadersTooLarge()              {}

type connState uint8

const (
	awaitPreface  connState = iota // server: the 24-byte client preface
	awaitSettings                  // the peer's first frame must be SETTINGS
	connOpen
	connClosed // a GOAWAY for an error went out, or the driver closed us
)

// initialWindow is the RFC 9113 6.9.2 initial flow-control window.
const initialWindow = 65535

// maxWindow is the largest legal window (RFC 9113 6.9.1).
const maxWindow = 1<<31 - 1

// outHighWater bounds one Produce pass: the driver writes what a pass
// produced before asking for more, so a busy connection cannot build an
// unbounded output buffer.
const outHighWater = 128 << 10

// stallClearFloor is the progress that clears a window stall (DESIGN.md
// 3.6): one maximal default DATA frame. A WINDOW_UPDATE(+1) drip never
// reaches it.
const stallClearFloor = 16 << 10

// ErrClosed is returned by Feed after the connection ended.
var ErrClosed = errors.New("http2: connection closed")

// Conn is one HTTP/2 connection, either side.
type Conn struct {
	cfg   *Config // shared by every connection with the same settings (internConfig)
	h     Handler
	obs   Observer
	now   func() time.Time
	t     time.Time // clock reading for the current entry point
	state connState

	in []byte // bytes of an incomplete frame, carried to the next Feed

	// Header block being assembled across CONTINUATION frames.
	hb  headerBlock
	dec *hpackx.Decoder
	enc *hpackx.Encoder
	// hbuf is scratch for encoding a header block.
	hbuf []byte
	msg  *messages // the message being decoded; pooled while idle (scratch.go)

	out []byte // frames waiting for the driver

	streams    map[StreamID]*Stream
	free       []*Stream
	lastPeer   StreamID // highest stream id the peer opened (or tried to)
	nextLocal  StreamID // client role: the next stream id we open
	activePeer int      // peer-opened streams not closed, counted against our MCS
	activeOurs int      // streams we opened, counted against the peer's MCS
	closedQ    []*Stream
	// streamsPeak is the most streams the map held since the last Trim.
	streamsPeak int
	resetIDs    resetSet // recent ids we reset, whose in-flight frames we ignore

	// Settings.
	peerMaxFrame     uint32
	peerInitWindow   int64
	peerMCS          uint32
	peerHeaderList   uint32
	advertisedMCS    uint32
	settingsSentAt   []time.Time // unacknowledged SETTINGS we sent, oldest first
	peerSettingsSeen bool

	// Connection flow control.
	sendWindow int64
	recvWindow int64
	recvCredit int64

	// GOAWAY and drain.
	goAwaySent     bool
	goAwayLast     StreamID
	drainStage     uint8 // 0 none, 1 first GOAWAY(max) sent, 2 final GOAWAY sent
	peerGoAway     bool
	peerGoAwayLast StreamID
	closeAfter     bool // close once output is flushed

	lastAppActivity time.Time     // last HEADERS or DATA received
	nextReap        time.Time     // when the reapers next scan the streams (zero: not scheduled)
	minStreamIdle   time.Duration // shortest Stream.SetIdleTimeout seen (zero: none)
	lastFrameIn     time.Time     // last frame of any type received

	flood      floodState
	sched      scheduler
	priorities map[StreamID]Priority // PRIORITY_UPDATE for streams not yet open

	stats Stats

	// ping (client-role health checks)
	pingOut     bool
	pingData    [8]byte
	pingSentAt  time.Time
	lastPingRTT time.Duration
}

// Stats are a connection's counters (tests and debugging).
type Stats struct {
	FramesIn, FramesOut int
	Glitches            int
	DataIn, DataOut     int64
	RSTSent             int
	Refused             int
}

type headerBlock struct {
	active    bool
	id        StreamID
	endStream bool
	kind      blockKind
	frames    int // CONTINUATION frames so far
	bytes     int
	start     time.Time // when the HEADERS frame arrived (HeaderBlockTimeout)
	stream    *Stream
	err       error // stream error raised once the block is decoded
	prio      frame.Priority
	hasPrio   bool
}

type blockKind uint8

const (
	blockRequest  blockKind = iota // server: a new stream's request
	blockTrailers                  // trailers on an existing stream
	blockResponse                  // client: a response head (or trailers) on our stream
	blockDiscard                   // decode for HPACK state only
)

// NewConn creates a connection engine. Start must be called before Feed.
func NewConn(cfg Config, h Handler, obs Observer, now func() time.Time) *Conn {
	cfg.setDefaults()
	if obs == nil {
		obs = NopObserver{}
	}
	if now == nil {
		now = time.Now
	}
	c := &Conn{
		cfg: internConfig(cfg), h: h, obs: obs, now: now,
		streams:        make(map[StreamID]*Stream),
		peerMaxFrame:   frame.DefaultMaxFrameSize,
		peerInitWindow: initialWindow,
		peerMCS:        ^uint32(0),
		advertisedMCS:  cfg.MaxConcurrentStreams,
		sendWindow:     initialWindow,
		recvWindow:     initialWindow,
		nextLocal:      1,
		dec: hpackx.NewDecoder(hpackx.Limits{
			MaxFields:    cfg.Flood.HeaderFields,
			MaxListSize:  cfg.Flood.HeaderListSize,
			MaxTableSize: cfg.HeaderTableSize,
		}),
		enc: hpackx.NewEncoder(),
	}
	c.sched.kind = SchedulerRFC9218
	if cfg.Role == Server {
		c.state = awaitPreface
	} else {
		c.state = awaitSettings
	}
	return c
}

// SetScheduler selects the write scheduler (before any stream exists).
func (c *Conn) SetScheduler(k SchedulerKind) { c.sched.kind = k }

// Start queues the opening frames: the client preface (client role), our
// SETTINGS, and the WINDOW_UPDATE that enlarges the connection window.
func (c *Conn) Start() {
	c.wake()
	c.t = c.now()
	if c.cfg.Role == Client {
		c.out = append(c.out, frame.ClientPreface...)
	}
	settings := [...]frame.Setting{
		{ID: frame.SettingMaxConcurrentStreams, Val: c.advertisedMCS},
		{ID: frame.SettingInitialWindowSize, Val: c.cfg.InitialWindowSize},
		{ID: frame.SettingMaxFrameSize, Val: c.cfg.MaxFrameSize},
		{ID: frame.SettingHeaderTableSize, Val: c.cfg.HeaderTableSize},
		{ID: frame.SettingMaxHeaderListSize, Val: uint32(c.cfg.Flood.HeaderListSize)},
		{ID: frame.SettingEnablePush, Val: 0},
		// RFC 9218 2.1: we do not use RFC 7540 priorities.
		{ID: frame.SettingNoRFC7540Priorities, Val: 1},
	}
	c.writeSettings(settings[:])
	if extra := int64(c.cfg.ConnWindowSize) - initialWindow; extra > 0 {
		c.out = frame.AppendWindowUpdate(c.out, 0, uint32(extra))
		c.obs.FrameSent(frame.TypeWindowUpdate)
		c.recvWindow += extra
	}
}

func (c *Conn) writeSettings(s []frame.Setting) {
	c.out = frame.AppendSettings(c.out, s...)
	c.obs.FrameSent(frame.TypeSettings)
	c.settingsSentAt = append(c.settingsSentAt, c.t)
}

// Pending returns the bytes waiting to be written.
func (c *Conn) Pending() []byte { return c.out }

// Written tells the engine the driver wrote n bytes of Pending.
func (c *Conn) Written(n int) {
	if n >= len(c.out) {
		c.out = c.out[:0]
		c.flood.rstPending = 0
		if cap(c.out) > 4*outHighWater {
			c.out = nil // a burst grew it; do not keep it forever
		}
		return
	}
	c.out = c.out[:copy(c.out, c.out[n:])]
}

// ShouldClose reports whether the connection is finished: the driver
// closes it once Pending is flushed.
func (c *Conn) ShouldClose() bool { return c.closeAfter || c.state == connClosed }

// LastActivity returns when the peer last sent HEADERS or DATA: the
// session's idle timer never counts control frames (DESIGN.md 3.6).
func (c *Conn) LastActivity() time.Time { return c.lastAppActivity }

// ActiveStreams returns the number of streams not yet closed.
func (c *Conn) ActiveStreams() int { return len(c.streams) }

// Streams calls fn for every open stream (in no particular order).
func (c *Conn) Streams(fn func(*Stream)) {
	for _, s := range c.streams {
		fn(s)
	}
}

// LastPeerStream is the highest stream id the peer opened.
func (c *Conn) LastPeerStream() StreamID { return c.lastPeer }

// GoingAway reports whether we sent a GOAWAY.
func (c *Conn) GoingAway() bool { return c.goAwaySent }

// PeerGoingAway reports whether the peer sent GOAWAY, and its last id.
func (c *Conn) PeerGoingAway() (bool, StreamID) { return c.peerGoAway, c.peerGoAwayLast }

// Stats returns the connection's counters.
func (c *Conn) Stats() Stats { return c.stats }

// PeerMaxConcurrentStreams returns the peer's SETTINGS_MAX_CONCURRENT_STREAMS.
func (c *Conn) PeerMaxConcurrentStreams() uint32 { return c.peerMCS }

// Feed processes bytes read from the peer. It returns an error when the
// connection must end: the GOAWAY explaining why is already in Pending.
func (c *Conn) Feed(p []byte) error {
	if c.state == connClosed {
		return ErrClosed
	}
	c.wake()
	c.t = c.now()
	data := p
	if len(c.in) > 0 {
		c.in = append(c.in, p...)
		data = c.in
	}
	for len(data) > 0 {
		if c.state == awaitPreface {
			n := min(len(data), len(frame.ClientPreface))
			if string(data[:n]) != frame.ClientPreface[:n] {
				return c.fail(&frame.ConnError{Code: frame.ProtocolError, Reason: "bad_preface"})
			}
			if n < len(frame.ClientPreface) {
				break
			}
			data = data[n:]
			c.state = awaitSettings
			continue
		}
		h, payload, n, err := frame.Next(data, c.cfg.MaxFrameSize)
		if err != nil {
			return c.fail(err)
		}
		if n == 0 {
			break
		}
		data = data[n:]
		if err := c.processFrame(h, payload); err != nil {
			return c.fail(err)
		}
		if len(c.closedQ) > 0 {
			// Report closes frame by frame, not once per read: a stream
			// the handler releases at once is reused by the next HEADERS
			// of the same read, so a Rapid Reset read of 50 streams
			// costs one Stream, not 50 (and their garbage).
			c.deliverClosed()
		}
		if c.state == connClosed {
			break
		}
	}
	// Carry an incomplete frame over to the next Feed.
	if len(data) == 0 {
		c.in = c.in[:0]
	} else if len(c.in) > 0 {
		c.in = c.in[:copy(c.in, data)]
	} else {
		if c.in == nil {
			c.in = outBufs.Get()
		}
		c.in = append(c.in[:0], data...)
	}
	c.deliverClosed()
	return nil
}

// processFrame dispatches one frame. Stream errors are handled here (RST
// once); connection errors are returned.
func (c *Conn) processFrame(h frame.Header, payload []byte) error {
	c.stats.FramesIn++
	c.lastFrameIn = c.t
	c.obs.FrameReceived(h.Type)
	if c.state == awaitSettings {
		// RFC 9113 3.4: the preface's second part is a SETTINGS frame.
		if h.Type != frame.TypeSettings || h.Flags.Has(frame.FlagAck) {
			return &frame.ConnError{Code: frame.ProtocolError, Reason: "preface_without_settings"}
		}
	}
	if c.hb.active && h.Type != frame.TypeContinuation {
		// RFC 9113 6.2/6.10: a field block is contiguous.
		return &frame.ConnError{Code: frame.ProtocolError, Reason: "expected_continuation"}
	}
	var err error
	switch h.Type {
	case frame.TypeData:
		err = c.onData(h, payload)
	case frame.TypeHeaders:
		err = c.onHeaders(h, payload)
	case frame.TypePriority:
		err = c.onPriority(h, payload)
	case frame.TypeRSTStream:
		err = c.onRSTStream(h, payload)
	case frame.TypeSettings:
		err = c.onSettings(h, payload)
	case frame.TypePushPromise:
		// RFC 9113 8.4: a client cannot push; we advertise ENABLE_PUSH=0
		// as a client, so a server's push is an error too.
		if _, perr := frame.ParsePushPromise(h, payload); perr != nil {
			return perr
		}
		err = &frame.ConnError{Code: frame.ProtocolError, Reason: "push_promise"}
	case frame.TypePing:
		err = c.onPing(h, payload)
	case frame.TypeGoAway:
		err = c.onGoAway(h, payload)
	case frame.TypeWindowUpdate:
		err = c.onWindowUpdate(h, payload)
	case frame.TypeContinuation:
		err = c.onContinuation(h, payload)
	case frame.TypePriorityUpdate:
		err = c.onPriorityUpdate(h, payload)
	default:
		// RFC 9113 5.5: unknown frame types are ignored.
		return nil
	}
	if err == nil {
		return nil
	}
	var se *frame.StreamError
	if errors.As(err, &se) {
		return c.streamError(se)
	}
	return err
}

// streamError answers a stream error with RST_STREAM (at most once per
// stream) and closes the stream.
func (c *Conn) streamError(se *frame.StreamError) error {
	s := c.streams[se.StreamID]
	return c.reset(se.StreamID, s, se.Code)
}

// fail ends the connection after a connection error: GOAWAY with the last
// stream we processed and the error's code (RFC 9113 5.4.1), then close.
func (c *Conn) fail(err error) error {
	if c.state == connClosed {
		return err
	}
	var ce *frame.ConnError
	var fe *floodError
	switch {
	case errors.As(err, &fe):
		c.obs.Flood(fe.kind)
		ce = fe.connError()
	case errors.As(err, &ce):
	default:
		ce = &frame.ConnError{Code: frame.InternalError, Reason: "internal"}
	}
	c.writeGoAway(c.lastPeer, ce.Code, nil)
	c.state = connClosed
	c.closeAfter = true
	c.abortStreams(ce.Code)
	c.deliverClosed()
	return err
}

// abortStreams closes every stream at connection end.
func (c *Conn) abortStreams(code ErrCode) {
	// In stream order, not map order: the handler sees the closes in a
	// repeatable order.
	ids := make([]StreamID, 0, len(c.streams))
	for id := range c.streams {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		c.closeStream(c.streams[id], code)
	}
}

func (c *Conn) writeGoAway(last StreamID, code ErrCode, debug []byte) {
	if c.goAwaySent && last > c.goAwayLast {
		// RFC 9113 6.8: the last stream id must not increase (streams
		// the peer opened after our GOAWAY were ignored).
		last = c.goAwayLast
	}
	c.out = frame.AppendGoAway(c.out, last, code, debug)
	c.obs.FrameSent(frame.TypeGoAway)
	c.obs.GoAwaySent(code)
	c.goAwaySent = true
	c.goAwayLast = last
}

// Close marks the connection closed (the driver lost the socket): every
// stream closes and is reported.
func (c *Conn) Close() {
	if c.state != connClosed {
		c.state = connClosed
		c.abortStreams(frame.Cancel)
	}
	c.deliverClosed()
}

// deliverClosed reports closed streams to the handler.
func (c *Conn) deliverClosed() {
	// By index, not by reslicing the front away: the queue keeps its
	// capacity, so closing a stream allocates nothing in steady state.
	// OnClosed may close more streams (append); the loop reaches them.
	for i := 0; i < len(c.closedQ); i++ {
		s := c.closedQ[i]
		c.closedQ[i] = nil
		c.h.OnClosed(s)
	}
	c.closedQ = c.closedQ[:0]
}

// closeStream moves s to closed and removes it from the connection.
func (c *Conn) closeStream(s *Stream, code ErrCode) {
	if s.state == StateClosed && c.streams[s.id] != s {
		return
	}
	s.state = StateClosed
	s.closeCode = code
	if c.streams[s.id] == s {
		delete(c.streams, s.id)
		if c.isPeerStream(s.id) {
			c.activePeer--
		} else {
			c.activeOurs--
		}
	}
	c.sched.remove(s)
	s.sendq.clear()
	s.trailers = nil
	if c.closedQ == nil {
		c.closedQ = streamLists.Get()
	}
	c.closedQ = append(c.closedQ, s)
}

func (c *Conn) isPeerStream(id StreamID) bool {
	return (c.cfg.Role == Server) == id.IsClient()
}

// Release returns a closed stream the handler no longer references. The
// Stream may be reused at once, by this or any other connection: the
// caller must not touch it after Release.
func (c *Conn) Release(s *Stream) {
	if s.state != StateClosed || s.released {
		return
	}
	s.released = true
	c.putStream(s)
}

func (c *Conn) newStream(id StreamID) *Stream {
	s := c.takeStream()
	if s != nil {
		chunks, store := s.sendq.chunks[:0], s.trailerStore[:0]
		*s = Stream{}
		s.sendq.chunks, s.trailerStore = chunks, store
	} else {
		s = &Stream{}
	}
	s.id = id
	s.conn = c
	s.state = StateOpen
	s.sendWindow = c.peerInitWindow
	s.recvWindow = int64(c.cfg.InitialWindowSize)
	s.declaredLen = -1
	s.prio, s.clientPrio = DefaultPriority, DefaultPriority
	s.lastActivity = c.t
	c.streams[id] = s
	c.streamsPeak = max(c.streamsPeak, len(c.streams))
	return s
}

// reset emits RST_STREAM(code) for id (once per stream), counts it against
// the MadeYouReset caps, and closes the stream.
func (c *Conn) reset(id StreamID, s *Stream, code ErrCode) error {
	if s != nil {
		if s.resetSent {
			return nil
		}
		s.resetSent = true
	} else if c.resetIDs.has(id) {
		return nil
	}
	c.resetIDs.add(id)
	c.out = frame.AppendRSTStream(c.out, id, code)
	c.stats.RSTSent++
	c.obs.FrameSent(frame.TypeRSTStream)
	c.obs.RSTSent(code)
	if s != nil {
		c.closeStream(s, code)
	}
	// MadeYouReset (CVE-2025-8671): a peer that provokes our resets makes
	// us do the work a Rapid Reset would; cap it the same way.
	if code != frame.NoError {
		c.flood.rstEmitted++
		if c.flood.rstEmitted > c.cfg.Flood.RSTStreamEmittedLifetime {
			return errFlood(FloodRSTEmitted)
		}
	}
	c.flood.rstPending++
	if c.flood.rstPending > c.cfg.Flood.PendingRSTStreams {
		return errFlood(FloodRSTPending)
	}
	return nil
}

// resetSet remembers the last ids we reset, so frames the peer had in
// flight for them are ignored instead of treated as errors (RFC 9113 5.4.2,
// 6.4). Bounded: old ids fall out. Allocated on first use: most
// connections never reset a stream.
type resetSet struct{ r *resetRing }

type resetRing struct {
	ring [256]StreamID
	n    int
	m    map[StreamID]struct{}
}

func (rs *resetSet) add(id StreamID) {
	if rs.r == nil {
		rs.r = &resetRing{m: make(map[StreamID]struct{}, 16)}
	}
	r := rs.r
	slot := r.n % len(r.ring)
	if r.n >= len(r.ring) {
		delete(r.m, r.ring[slot])
	}
	r.ring[slot] = id
	r.m[id] = struct{}{}
	r.n++
}

func (rs *resetSet) has(id StreamID) bool {
	if rs.r == nil {
		return false
	}
	_, ok := rs.r.m[id]
	return ok
}
