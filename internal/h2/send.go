package h2

import (
	"errors"
	"strconv"
	"time"

	"github.com/sluice-proxy/sluice/internal/bufpool"
	"github.com/sluice-proxy/sluice/internal/h2/frame"
)

// ErrStreamClosed is returned when writing on a stream that closed.
var ErrStreamClosed = errors.New("http2: stream closed")

// Consume returns flow-control credit for n bytes the handler took off s
// (forwarded or discarded). s may be closed: the connection-level credit
// still comes back. WINDOW_UPDATEs are batched: credit goes out once a
// quarter of a window has accumulated, not per frame.
func (c *Conn) Consume(s *Stream, n int) {
	c.wake()
	if n <= 0 {
		return
	}
	c.credit(s, int64(n))
}

func (c *Conn) credit(s *Stream, n int64) {
	c.recvCredit += n
	if c.recvCredit >= int64(c.cfg.ConnWindowSize)/4 || c.recvWindow < int64(c.cfg.ConnWindowSize)/2 && c.recvCredit >= 16<<10 {
		c.out = frame.AppendWindowUpdate(c.out, 0, uint32(c.recvCredit))
		c.obs.FrameSent(frame.TypeWindowUpdate)
		c.recvWindow += c.recvCredit
		c.recvCredit = 0
	}
	if s == nil || s.remoteClosed() {
		return
	}
	s.recvCredit += n
	if s.recvCredit >= int64(c.cfg.InitialWindowSize)/4 || s.recvWindow < int64(c.cfg.InitialWindowSize)/2 && s.recvCredit >= 16<<10 {
		c.out = frame.AppendWindowUpdate(c.out, s.id, uint32(s.recvCredit))
		c.obs.FrameSent(frame.TypeWindowUpdate)
		s.recvWindow += s.recvCredit
		s.recvCredit = 0
		// The peer may send again: its silence is counted from now
		// (the silence reaper, timers.go).
		s.lastActivity = c.t
	}
}

// WriteResponse writes a response head on s (server role). status < 200
// is informational and may repeat. fields must have lowercase names and
// carry no connection-specific fields.
func (c *Conn) WriteResponse(s *Stream, status int, fields []Field, endStream bool) error {
	c.wake()
	if s.localClosed() {
		return ErrStreamClosed
	}
	c.t = c.now()
	c.writeHeaders(s, status, fields, endStream)
	if status >= 200 {
		s.headersSent = true
	}
	if endStream {
		return c.sentEndStream(s, false)
	}
	return nil
}

var statusField = []byte(":status")

// writeHeaders encodes a head and frames it as HEADERS plus CONTINUATION,
// each within the peer's SETTINGS_MAX_FRAME_SIZE.
func (c *Conn) writeHeaders(s *Stream, status int, fields []Field, endStream bool) {
	var num [3]byte
	if c.hbuf == nil {
		c.hbuf = outBufs.Get()
	}
	b := c.hbuf[:0]
	if status > 0 {
		b = c.enc.AppendField(b, statusField, strconv.AppendInt(num[:0], int64(status), 10), false)
	}
	for i := range fields {
		b = c.enc.AppendField(b, fields[i].Name, fields[i].Value, fields[i].Sensitive)
	}
	c.hbuf = b
	c.frameBlock(s.id, b, endStream)
	s.lastActivity = c.t
}

func (c *Conn) frameBlock(id StreamID, block []byte, endStream bool) {
	max := int(c.peerMaxFrame)
	first := block
	if len(first) > max {
		first = first[:max]
	}
	rest := block[len(first):]
	c.out = frame.AppendHeaders(c.out, id, endStream, len(rest) == 0, first)
	c.obs.FrameSent(frame.TypeHeaders)
	for len(rest) > 0 {
		n := min(len(rest), max)
		c.out = frame.AppendContinuation(c.out, id, n == len(rest), rest[:n])
		c.obs.FrameSent(frame.TypeContinuation)
		rest = rest[n:]
	}
}

// QueueData queues a chunk of body for s; the engine owns (and frees) the
// chunk from now on. The bytes leave as the windows and the scheduler
// allow, in later Produce passes.
func (c *Conn) QueueData(s *Stream, ch *bufpool.Chunk) error {
	if s.localClosed() || s.endQueued || s.trailers != nil {
		ch.Free()
		return ErrStreamClosed
	}
	s.sendq.push(ch)
	c.ready(s)
	return nil
}

// EndStream queues END_STREAM after the data already queued on s.
func (c *Conn) EndStream(s *Stream) error {
	c.wake()
	if s.localClosed() || s.endQueued || s.trailers != nil {
		return ErrStreamClosed
	}
	s.endQueued = true
	c.ready(s)
	return nil
}

// WriteTrailers queues a trailer block that ends s after its data. The
// fields are copied; HPACK-encoding waits until the block's turn on the
// wire, since encoder state follows wire order.
func (c *Conn) WriteTrailers(s *Stream, fields []Field) error {
	c.wake()
	if s.localClosed() || s.endQueued || s.trailers != nil {
		return ErrStreamClosed
	}
	st := s.trailerStore[:0]
	for i := range fields {
		st = append(st, fields[i].Name...)
		st = append(st, fields[i].Value...)
	}
	s.trailerStore = st
	tr := make([]Field, 0, len(fields))
	off := 0
	for i := range fields {
		n, v := len(fields[i].Name), len(fields[i].Value)
		tr = append(tr, Field{Name: st[off : off+n : off+n], Value: st[off+n : off+n+v : off+n+v]})
		off += n + v
	}
	if len(tr) == 0 {
		s.endQueued = true
	} else {
		s.trailers = tr
	}
	c.ready(s)
	return nil
}

// Reset resets s with code (RST_STREAM once) and closes it. The handler
// is told through OnClosed at the end of the next engine call.
func (c *Conn) Reset(s *Stream, code ErrCode) error {
	c.wake()
	if s.state == StateClosed {
		return nil
	}
	err := c.reset(s.id, s, code)
	if err != nil {
		return c.fail(err)
	}
	return nil
}

// ready puts s in the scheduler if it can send something.
func (c *Conn) ready(s *Stream) {
	if s.blocked && s.sendq.len > 0 {
		return
	}
	c.sched.add(s)
}

func (c *Conn) unblock(s *Stream) {
	s.blocked = false
	c.sched.add(s)
}

// sentEndStream records that END_STREAM went out on s (alreadyRemote: the
// peer had closed its side in the same step).
func (c *Conn) sentEndStream(s *Stream, _ bool) error {
	s.endQueued = false
	c.sched.remove(s)
	if s.onSendEndStream() {
		c.closeStream(s, frame.NoError)
	}
	return nil
}

// Produce runs one write pass: it frames queued data of ready streams, in
// scheduler order, until the output holds a pass's worth, every window is
// closed or nothing is ready. A pass that could send nothing leaves the
// streams waiting for a WINDOW_UPDATE or new data; it never spins.
func (c *Conn) Produce() {
	c.wake()
	if c.state == connClosed {
		c.deliverClosed()
		return
	}
	c.t = c.now()
	for len(c.out) < outHighWater {
		s := c.sched.next()
		if s == nil || !c.sendOne(s) {
			// Nothing is ready, or the connection window is closed:
			// the streams left wait for a WINDOW_UPDATE, more data or
			// a new request (an event that triggers another pass).
			// Streams with only their end left cannot be among them:
			// that is not flow-controlled (RFC 9113 6.9), and the
			// scheduler serves it first.
			break
		}
	}
	c.drainStep()
	c.deliverClosed()
}

// sendOne sends one frame for s: DATA within the windows, or the trailers,
// or a bare END_STREAM. It returns false when the connection window is
// closed (nothing more can go out in this pass).
func (c *Conn) sendOne(s *Stream) bool {
	if s.sendq.len > 0 {
		allowed := min(s.sendWindow, c.sendWindow, int64(c.peerMaxFrame))
		if allowed <= 0 {
			c.markStall(s)
			if s.sendWindow <= 0 {
				s.blocked = true
				c.sched.remove(s)
				return true
			}
			return false
		}
		n := min(int(allowed), s.sendq.len)
		end := s.endQueued && n == s.sendq.len
		c.out = frame.AppendHeader(c.out, frame.Header{Length: uint32(n), Type: frame.TypeData, Flags: flagEnd(end), StreamID: s.id})
		for left := n; left > 0; {
			p := s.sendq.peek(left)
			c.out = append(c.out, p...)
			s.sendq.advance(len(p))
			left -= len(p)
		}
		c.obs.FrameSent(frame.TypeData)
		c.stats.DataOut += int64(n)
		s.sendWindow -= int64(n)
		c.sendWindow -= int64(n)
		s.lastActivity = c.t
		c.progress(s, n)
		switch {
		case end:
			c.sentEndStream(s, false)
		case s.sendq.len > 0:
			c.sched.served(s)
		case s.trailers != nil:
			// Only the trailers are left: they go next, before any
			// other stream's DATA (never yield between the last DATA
			// and the frame that ends the stream).
			c.sched.requeue(s)
		default:
			// Drained; more data or END_STREAM makes it ready again.
			c.sched.remove(s)
		}
		return true
	}
	switch {
	case s.trailers != nil:
		c.writeHeaders(s, 0, s.trailers, true)
		s.trailers = nil
		c.sentEndStream(s, false)
	case s.endQueued:
		c.out = frame.AppendData(c.out, s.id, true, nil)
		c.obs.FrameSent(frame.TypeData)
		c.sentEndStream(s, false)
	default:
		c.sched.remove(s)
	}
	return true
}

func flagEnd(end bool) frame.Flags {
	if end {
		return frame.FlagEndStream
	}
	return 0
}

// markStall starts a stream's window-stall clock (DESIGN.md 3.6).
func (c *Conn) markStall(s *Stream) {
	if s.stalledSince.IsZero() {
		s.stalledSince = c.t
		s.stallProgress = 0
	}
}

// progress accounts bytes sent while stalled: 16 KiB of cumulative
// progress, or a window that stays open after the send, clears the stall.
// A WINDOW_UPDATE(+1) drip never gets there.
func (c *Conn) progress(s *Stream, n int) {
	if s.stalledSince.IsZero() {
		return
	}
	s.stallProgress += int64(n)
	if s.stallProgress >= stallClearFloor || s.sendq.len == 0 || min(s.sendWindow, c.sendWindow) > 0 {
		s.stalledSince = time.Time{}
		s.stallProgress = 0
	}
}
