package h2

import (
	"github.com/sluice-proxy/sluice/internal/h2/frame"
	"github.com/sluice-proxy/sluice/internal/h2/hpackx"
)

// Inbound frames, one method per type. Each quotes the rule it enforces.

func connErr(code ErrCode, reason string) error { return &frame.ConnError{Code: code, Reason: reason} }

func streamErr(id StreamID, code ErrCode, reason string) error {
	return &frame.StreamError{StreamID: id, Code: code, Reason: reason}
}

// idle reports whether id has never been used by the peer (RFC 9113 5.1).
func (c *Conn) idle(id StreamID) bool {
	if c.isPeerStream(id) {
		return id > c.lastPeer
	}
	return id >= c.nextLocal
}

func (c *Conn) onData(h frame.Header, payload []byte) error {
	d, err := frame.ParseData(h, payload)
	if err != nil {
		return err
	}
	id := h.StreamID
	// RFC 9113 6.9.1: the whole payload counts against both windows.
	n := int64(h.Length)
	if n > c.recvWindow {
		return connErr(frame.FlowControlError, "conn_window_exceeded")
	}
	c.recvWindow -= n
	s := c.streams[id]
	if s == nil {
		// Give the connection credit back: nobody will consume these.
		c.credit(nil, n)
		if c.idle(id) {
			// RFC 9113 5.1: DATA on an idle stream.
			return connErr(frame.ProtocolError, "data_on_idle_stream")
		}
		if c.resetIDs.has(id) {
			// Frames in flight when we reset: ignore (RFC 9113 5.4.2).
			return c.glitch("data_after_reset")
		}
		if c.goAwaySent && id > c.goAwayLast {
			// RFC 9113 6.8: a stream above our GOAWAY's last id was
			// ignored, and so is the body the peer had in flight for it.
			return nil
		}
		// RFC 9113 5.1 (closed): a connection error STREAM_CLOSED keeps
		// "at most one RST_STREAM per stream" true.
		return connErr(frame.StreamClosed, "data_on_closed_stream")
	}
	if s.remoteClosed() {
		c.credit(nil, n)
		// RFC 9113 5.1 (half-closed remote): STREAM_CLOSED.
		return streamErr(id, frame.StreamClosed, "data_after_end_stream")
	}
	if n > s.recvWindow {
		c.credit(nil, n)
		return streamErr(id, frame.FlowControlError, "stream_window_exceeded")
	}
	s.recvWindow -= n
	// Padding is flow-controlled but never reaches the handler: return
	// its credit now.
	if pad := n - int64(len(d.Data)); pad > 0 {
		c.credit(s, pad)
	}
	if len(d.Data) == 0 && !d.EndStream {
		// CVE-2019-9518: empty DATA frames cost work and carry nothing.
		if c.flood.emptyData.add(c.t) > c.cfg.Flood.EmptyDataPerWindow {
			return errFlood(FloodEmptyData)
		}
	}
	s.receivedLen += int64(len(d.Data))
	if s.declaredLen >= 0 && (s.receivedLen > s.declaredLen || d.EndStream && s.receivedLen != s.declaredLen) {
		// RFC 9113 8.1.1: content-length must match the DATA received.
		c.credit(nil, int64(len(d.Data)))
		return malformed(id, "content_length_mismatch")
	}
	c.stats.DataIn += int64(len(d.Data))
	if len(d.Data) > 0 {
		s.lastActivity = c.t
		c.lastAppActivity = c.t
	}
	closed := false
	if d.EndStream {
		closed = s.onRecvEndStream()
	}
	c.h.OnData(s, d.Data, d.EndStream)
	if closed {
		c.closeStream(s, frame.NoError)
	}
	return nil
}

func (c *Conn) onHeaders(h frame.Header, payload []byte) error {
	f, err := frame.ParseHeaders(h, payload)
	if err != nil {
		return err
	}
	id := h.StreamID
	hb := headerBlock{active: true, id: id, endStream: f.EndStream, hasPrio: f.HasPriority, prio: f.Priority, start: c.t}
	if f.HasPriority {
		hb.err = f.Priority.Check(id)
	}
	s := c.streams[id]
	switch {
	case c.cfg.Role == Server && !id.IsClient():
		// RFC 9113 5.1.1: clients open odd streams.
		return connErr(frame.ProtocolError, "even_stream_id")
	case s != nil:
		hb.stream = s
		if c.cfg.Role == Client {
			hb.kind = blockResponse
		} else {
			hb.kind = blockTrailers
		}
		if s.remoteClosed() {
			// RFC 9113 5.1 (half-closed remote): STREAM_CLOSED.
			hb.kind = blockDiscard
			hb.err = streamErr(id, frame.StreamClosed, "headers_after_end_stream")
		} else if hb.kind == blockTrailers && !f.EndStream {
			// RFC 9113 8.1: a second field block is trailers and must end
			// the stream.
			hb.kind = blockDiscard
			hb.err = malformed(id, "trailers_without_end_stream")
		}
	case !c.idle(id):
		hb.kind = blockDiscard
		if c.resetIDs.has(id) {
			if gerr := c.glitch("headers_after_reset"); gerr != nil {
				return gerr
			}
		} else {
			// RFC 9113 5.1 (closed), and 5.1.1: a new stream must use an
			// id above every id used before.
			hb.err = connErr(frame.StreamClosed, "headers_on_closed_stream")
		}
	case c.cfg.Role == Client:
		// A server cannot open streams (no push).
		return connErr(frame.ProtocolError, "server_opened_stream")
	default:
		c.lastPeer = id
		hb.kind = blockRequest
		switch {
		case c.resetIDs.has(id):
			// We reset this id while it was idle (a self-dependent
			// PRIORITY, RFC 9113 5.3.1), which closed it: ignore the
			// block (5.1 closed) rather than open a stream that could
			// get a second RST_STREAM (DESIGN.md 4.4).
			hb.kind = blockDiscard
		case c.goAwaySent && id > c.goAwayLast:
			// RFC 9113 6.8: streams above our GOAWAY's last id are
			// ignored; the client retries them elsewhere.
			hb.kind = blockDiscard
		case c.activePeer >= int(c.advertisedMCS):
			// RFC 9113 5.1.2: beyond MAX_CONCURRENT_STREAMS.
			hb.kind = blockDiscard
			hb.err = streamErr(id, frame.RefusedStream, "refused_stream")
			c.noteRefusal()
		}
	}
	c.hb = hb
	c.dec.Begin()
	return c.headerFragment(f.Fragment, f.EndHeaders)
}

func (c *Conn) onContinuation(h frame.Header, payload []byte) error {
	f, err := frame.ParseContinuation(h, payload)
	if err != nil {
		return err
	}
	if !c.hb.active || h.StreamID != c.hb.id {
		// RFC 9113 6.10: CONTINUATION only continues the block in progress.
		return connErr(frame.ProtocolError, "unexpected_continuation")
	}
	c.hb.frames++
	if c.hb.frames > c.cfg.Flood.ContinuationFrames {
		// CVE-2024-27316: endless CONTINUATION.
		return errFlood(FloodContinuation)
	}
	return c.headerFragment(f.Fragment, f.EndHeaders)
}

// headerFragment feeds one fragment to HPACK, bounded in size, and
// finishes the block at END_HEADERS.
func (c *Conn) headerFragment(frag []byte, end bool) error {
	c.hb.bytes += len(frag)
	if c.hb.bytes > c.cfg.Flood.HeaderBlockBytes {
		return errFlood(FloodHeaderBlock)
	}
	if err := c.dec.Write(frag); err != nil {
		return err
	}
	if !end {
		return nil
	}
	return c.endHeaderBlock()
}

func (c *Conn) endHeaderBlock() error {
	hb := c.hb
	c.hb = headerBlock{}
	fields, over, err := c.dec.End()
	if err != nil {
		return err // COMPRESSION_ERROR: the HPACK state is lost
	}
	if hb.err != nil {
		return hb.err
	}
	c.lastAppActivity = c.t
	switch hb.kind {
	case blockDiscard:
		return nil
	case blockRequest:
		return c.openPeerStream(hb, fields, over)
	case blockTrailers:
		return c.recvTrailers(hb.stream, fields, over, hb.endStream)
	case blockResponse:
		return c.recvResponse(hb.stream, fields, over, hb.endStream)
	}
	panic("h2: internal error: unknown header block kind")
}

func (c *Conn) openPeerStream(hb headerBlock, fields []Field, over hpackx.LimitKind) error {
	s := c.newStream(hb.id)
	c.activePeer++
	if over != hpackx.LimitNone {
		// HPACK bomb (DESIGN.md 3.7): the decoder stopped storing fields
		// at the limit, so the block cost bounded memory. One such block
		// is a client mistake; in bulk it is a way to make us decode 64
		// KiB blocks for free, so each counts as a glitch.
		if err := c.glitch("header_list_too_large"); err != nil {
			return err
		}
		if hb.endStream {
			// The request is complete: the 431 closes the stream (a
			// half-closed stream would hold a concurrency slot).
			s.onRecvEndStream()
		}
		// RFC 9113 10.5.1: a field block larger than we accept gets 431.
		c.obs.HeadersTooLarge()
		c.writeHeaders(s, 431, nil, true)
		return c.sentEndStream(s, hb.endStream)
	}
	req := &c.messages().req
	if err := validateRequest(hb.id, fields, req); err != nil {
		return err
	}
	req.EndStream = hb.endStream
	s.declaredLen = req.ContentLength
	if hb.endStream {
		if s.declaredLen > 0 {
			return malformed(hb.id, "content_length_mismatch")
		}
		s.onRecvEndStream()
	}
	if p, ok := c.takeRememberedPriority(hb.id); ok {
		// RFC 9218 7.1: a PRIORITY_UPDATE sent before the request
		// overrides its header.
		s.prio, s.clientPrio = p, p
	} else if req.Priority != nil {
		p := ParsePriority(req.Priority)
		s.prio, s.clientPrio = p, p
	}
	c.h.OnRequest(s, req)
	return nil
}

func (c *Conn) recvTrailers(s *Stream, fields []Field, over hpackx.LimitKind, end bool) error {
	if over != hpackx.LimitNone {
		return streamErr(s.id, frame.ProtocolError, "trailers_too_large")
	}
	if err := validateTrailers(s.id, fields); err != nil {
		return err
	}
	if s.declaredLen >= 0 && s.receivedLen != s.declaredLen {
		return malformed(s.id, "content_length_mismatch")
	}
	s.lastActivity = c.t
	closed := s.onRecvEndStream()
	c.h.OnTrailers(s, fields)
	if closed {
		c.closeStream(s, frame.NoError)
	}
	return nil
}

func (c *Conn) recvResponse(s *Stream, fields []Field, over hpackx.LimitKind, end bool) error {
	if over != hpackx.LimitNone {
		return streamErr(s.id, frame.ProtocolError, "response_headers_too_large")
	}
	s.lastActivity = c.t
	if s.respStarted {
		// A block after the final head is trailers (RFC 9113 8.1).
		if !end {
			return malformed(s.id, "trailers_without_end_stream")
		}
		return c.recvTrailers(s, fields, over, end)
	}
	resp := &c.messages().resp
	if err := validateResponse(s.id, fields, resp); err != nil {
		return err
	}
	resp.EndStream = end
	if resp.Status >= 200 {
		s.respStarted = true
		s.declaredLen = resp.ContentLength
	} else if end {
		return malformed(s.id, "informational_with_end_stream")
	}
	closed := false
	if end {
		if s.declaredLen > 0 {
			return malformed(s.id, "content_length_mismatch")
		}
		closed = s.onRecvEndStream()
	}
	c.h.OnResponse(s, resp)
	if closed {
		c.closeStream(s, frame.NoError)
	}
	return nil
}

func (c *Conn) onPriority(h frame.Header, payload []byte) error {
	// RFC 9113 5.3.2: RFC 7540 priorities are deprecated and we advertise
	// SETTINGS_NO_RFC7540_PRIORITIES; the frame is validated (the parser
	// rejects a self-dependency) and otherwise ignored.
	_, err := frame.ParsePriority(h, payload)
	return err
}

func (c *Conn) onRSTStream(h frame.Header, payload []byte) error {
	f, err := frame.ParseRSTStream(h, payload)
	if err != nil {
		return err
	}
	id := h.StreamID
	c.obs.RSTReceived(f.Code)
	if c.idle(id) {
		// RFC 9113 6.4: RST_STREAM on an idle stream.
		return connErr(frame.ProtocolError, "rst_on_idle_stream")
	}
	// Rapid Reset (CVE-2023-44487): count every reset, in a decaying
	// window and over the connection's life.
	if c.flood.rstWindow.add(c.t) > c.cfg.Flood.RSTStreamPerWindow {
		return errFlood(FloodRSTWindow)
	}
	c.flood.rstLifetime++
	if c.flood.rstLifetime > c.cfg.Flood.RSTStreamLifetime {
		return errFlood(FloodRSTLifetime)
	}
	s := c.streams[id]
	if s == nil {
		return c.glitch("rst_on_closed_stream")
	}
	if !s.headersSent && c.cfg.Role == Server {
		// Resetting before we could even answer is the attack's
		// signature; honest clients rarely do it.
		c.flood.rstAbusive++
		if c.flood.rstAbusive > c.cfg.Flood.RSTStreamAbusiveLifetime {
			return errFlood(FloodRSTAbusive)
		}
	}
	s.resetRecv = true
	s.resetSent = true // never answer a reset with a reset (RFC 9113 5.4.2)
	c.closeStream(s, f.Code)
	return nil
}

func (c *Conn) onSettings(h frame.Header, payload []byte) error {
	f, err := frame.ParseSettings(h, payload)
	if err != nil {
		return err
	}
	if f.Ack {
		if len(c.settingsSentAt) == 0 {
			return c.glitch("unsolicited_settings_ack")
		}
		c.settingsSentAt = c.settingsSentAt[1:]
		return nil
	}
	if c.state == awaitSettings {
		c.state = connOpen
	} else {
		// CVE-2019-9515: SETTINGS floods (every frame costs an ACK).
		if c.flood.settingsWindow.add(c.t) > c.cfg.Flood.SettingsPerWindow {
			return errFlood(FloodSettingsWindow)
		}
	}
	c.flood.settingsLife++
	if c.flood.settingsLife > c.cfg.Flood.SettingsLifetime {
		return errFlood(FloodSettingsLifetime)
	}
	if f.NumSettings() > c.cfg.Flood.SettingsEntries {
		return errFlood(FloodSettingsEntries)
	}
	for i := range f.NumSettings() {
		if err := c.applySetting(f.Setting(i)); err != nil {
			return err
		}
	}
	c.peerSettingsSeen = true
	c.out = frame.AppendSettingsAck(c.out)
	c.obs.FrameSent(frame.TypeSettings)
	return nil
}

func (c *Conn) applySetting(st frame.Setting) error {
	switch st.ID {
	case frame.SettingHeaderTableSize:
		c.enc.SetPeerMaxTableSize(min(st.Val, uint32(c.cfg.Flood.HeaderTableSize)))
	case frame.SettingEnablePush:
		// RFC 9113 6.5.2: a server must not advertise 1.
		if c.cfg.Role == Client && st.Val != 0 {
			return connErr(frame.ProtocolError, "server_enable_push")
		}
	case frame.SettingMaxConcurrentStreams:
		c.peerMCS = st.Val
	case frame.SettingInitialWindowSize:
		// RFC 9113 6.9.2: the change applies to every open stream's send
		// window, which may become negative; overflow is a connection
		// FLOW_CONTROL_ERROR.
		delta := int64(st.Val) - c.peerInitWindow
		c.peerInitWindow = int64(st.Val)
		for _, s := range c.streams {
			s.sendWindow += delta
			if s.sendWindow > maxWindow {
				return connErr(frame.FlowControlError, "settings_window_overflow")
			}
			if delta > 0 && s.blocked && s.sendWindow > 0 {
				c.unblock(s)
			}
		}
	case frame.SettingMaxFrameSize:
		c.peerMaxFrame = st.Val
	case frame.SettingMaxHeaderListSize:
		c.peerHeaderList = st.Val
	case frame.SettingEnableConnectProtocol, frame.SettingNoRFC7540Priorities:
	default:
		// RFC 9113 6.5.2: unknown settings are ignored; in bulk they are
		// a way to make us loop, so they count as glitches.
		return c.glitch("unknown_setting")
	}
	return nil
}

func (c *Conn) onPing(h frame.Header, payload []byte) error {
	f, err := frame.ParsePing(h, payload)
	if err != nil {
		return err
	}
	if f.Ack {
		if c.pingOut && f.Data == c.pingData {
			c.pingOut = false
			c.lastPingRTT = c.t.Sub(c.pingSentAt)
			return nil
		}
		return c.glitch("unsolicited_ping_ack")
	}
	// CVE-2019-9512: every PING costs an ACK.
	if c.flood.pingWindow.add(c.t) > c.cfg.Flood.PingPerWindow {
		return errFlood(FloodPingWindow)
	}
	c.flood.pingLifetime++
	if c.flood.pingLifetime > c.cfg.Flood.PingLifetime {
		return errFlood(FloodPingLifetime)
	}
	c.out = frame.AppendPing(c.out, true, f.Data)
	c.obs.FrameSent(frame.TypePing)
	return nil
}

func (c *Conn) onGoAway(h frame.Header, payload []byte) error {
	f, err := frame.ParseGoAway(h, payload)
	if err != nil {
		return err
	}
	c.obs.GoAwayReceived(f.Code)
	if c.peerGoAway && f.LastStreamID > c.peerGoAwayLast {
		// RFC 9113 6.8: the last id must not increase.
		return connErr(frame.ProtocolError, "goaway_last_increased")
	}
	c.peerGoAway = true
	c.peerGoAwayLast = f.LastStreamID
	c.h.OnGoAway(f.LastStreamID, f.Code, f.Debug)
	if c.cfg.Role == Client {
		// Our streams above last were not processed: close them so the
		// handler can retry them elsewhere (RFC 9113 6.8).
		for id, s := range c.streams {
			if id > f.LastStreamID {
				s.closeCode = frame.RefusedStream
				c.closeStream(s, frame.RefusedStream)
			}
		}
	}
	return nil
}

func (c *Conn) onWindowUpdate(h frame.Header, payload []byte) error {
	f, err := frame.ParseWindowUpdate(h, payload)
	if err != nil {
		return err
	}
	id := h.StreamID
	if id == 0 {
		if f.Increment == 0 {
			// RFC 9113 6.9: zero increment on the connection.
			return connErr(frame.ProtocolError, "window_update_zero")
		}
		// Credit that returns DATA we sent is flow control at work (Go's
		// Transport sends one per 4 KiB it reads, so a fast download
		// brings thousands a second): only credit beyond what our DATA
		// used counts toward the flood.
		if owed := c.stats.DataOut - c.flood.wuReturned; int64(f.Increment) <= owed {
			c.flood.wuReturned += int64(f.Increment)
		} else {
			c.flood.wuReturned = c.stats.DataOut
			if c.flood.wuZero.add(c.t) > c.cfg.Flood.WindowUpdateZeroPerWindow {
				return errFlood(FloodWindowUpdateZero)
			}
		}
		if c.sendWindow+int64(f.Increment) > maxWindow {
			return connErr(frame.FlowControlError, "conn_window_overflow")
		}
		c.sendWindow += int64(f.Increment)
		return nil
	}
	s := c.streams[id]
	if s == nil {
		if c.idle(id) {
			return connErr(frame.ProtocolError, "window_update_on_idle_stream")
		}
		// WINDOW_UPDATE may legitimately follow END_STREAM or a reset
		// (RFC 9113 5.1, 6.9): ignore it. Not a glitch: Go's Transport
		// keeps returning credit, a WINDOW_UPDATE per 4 KiB, while its
		// reader drains what arrived before END_STREAM, so a healthy
		// download can bring hundreds; and ignoring one costs no more
		// than an unknown frame type.
		return nil
	}
	if f.Increment == 0 {
		// RFC 9113 6.9: stream error PROTOCOL_ERROR.
		return streamErr(id, frame.ProtocolError, "window_update_zero")
	}
	if s.sendWindow+int64(f.Increment) > maxWindow {
		return streamErr(id, frame.FlowControlError, "stream_window_overflow")
	}
	s.sendWindow += int64(f.Increment)
	if s.blocked && s.sendWindow > 0 {
		c.unblock(s)
	}
	return nil
}

func (c *Conn) onPriorityUpdate(h frame.Header, payload []byte) error {
	// The codec enforces RFC 9218 7.1: stream 0 only, a prioritized
	// stream id other than 0 (both connection PROTOCOL_ERRORs).
	f, err := frame.ParsePriorityUpdate(h, payload)
	if err != nil {
		return err
	}
	if c.cfg.Role == Client {
		// RFC 9218 7.1: only clients send PRIORITY_UPDATE; our
		// backends' are ignored like any extension frame we do not use
		// (RFC 9113 5.5).
		return nil
	}
	c.obs.PriorityUpdate()
	id := f.PrioritizedID
	if !id.IsClient() {
		// RFC 9218 7.1: an even id would be a push stream, and we
		// never push.
		return connErr(frame.ProtocolError, "priority_update_server_stream")
	}
	// RFC 9218 7: the value replaces the client's earlier signal; one
	// that does not parse (or is over 1 KiB) means the defaults.
	p := ParsePriority(f.FieldValue)
	if s := c.streams[id]; s != nil {
		c.setClientPriority(s, p)
		return nil
	}
	if !c.idle(id) {
		// RFC 9218 7.1: a closed stream has nothing left to schedule.
		return nil
	}
	c.rememberPriority(id, p)
	return nil
}

// rememberPriority keeps a PRIORITY_UPDATE for a stream not yet open, to
// apply when it opens. Memory is bounded twice (DESIGN.md 3.7): only ids
// within a look-ahead of twice our MAX_CONCURRENT_STREAMS above the last
// opened one (RFC 9218 7.1 lets a server refuse to track more than it
// would serve), and never more than Flood.PriorityEntries of them.
// Beyond either bound the update is dropped and counted.
func (c *Conn) rememberPriority(id StreamID, p Priority) {
	if uint64(id) > uint64(c.lastPeer)+2*uint64(c.advertisedMCS) {
		c.obs.PriorityDropped()
		return
	}
	if _, ok := c.priorities[id]; !ok && len(c.priorities) >= c.cfg.Flood.PriorityEntries {
		// Ids the peer skipped over closed without opening (RFC 9113
		// 5.1.1): their entries are dead weight. Sweeping only when
		// full keeps the cost amortised.
		for old := range c.priorities {
			if old <= c.lastPeer {
				delete(c.priorities, old)
			}
		}
		if len(c.priorities) >= c.cfg.Flood.PriorityEntries {
			c.obs.PriorityDropped()
			return
		}
	}
	if c.priorities == nil {
		c.priorities = make(map[StreamID]Priority)
	}
	c.priorities[id] = p
}

// takeRememberedPriority returns (and forgets) the update remembered for
// a stream that opens.
func (c *Conn) takeRememberedPriority(id StreamID) (Priority, bool) {
	if len(c.priorities) == 0 {
		return Priority{}, false
	}
	p, ok := c.priorities[id]
	if ok {
		delete(c.priorities, id)
		if len(c.priorities) == 0 {
			c.priorities = nil // a map never shrinks: let a flood's go
		}
	}
	return p, ok
}

// noteRefusal implements refusal back-pressure (DESIGN.md 3.2): a client
// that keeps opening streams beyond our limit gets a halved limit, so it
// learns to queue instead of hammering.
func (c *Conn) noteRefusal() {
	c.stats.Refused++
	c.obs.Refused()
	f := &c.flood
	if f.refusedSince.IsZero() || c.t.Sub(f.refusedSince) > refuseSpan {
		f.refusedSince, f.refusals = c.t, 0
	}
	f.refusals++
	if f.refusals > c.cfg.Flood.RefusedStreamsBeforeShrink && c.advertisedMCS > 1 {
		c.advertisedMCS /= 2
		f.refusals = 0
		f.refusedSince = c.t
		c.writeSettings([]frame.Setting{{ID: frame.SettingMaxConcurrentStreams, Val: c.advertisedMCS}})
		c.obs.MCSShrunk()
	}
}
